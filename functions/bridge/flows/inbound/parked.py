"""After a reconnect: replay the deliveries parked while the account needed reconnecting.

While an account is ``needs_reconnect``, the worker records each message it cannot run as a failed
exchange carrying its message (``account_needs_reconnect`` for webhook events, ``needs_reconnect`` for
work that hit a refused token). Once the account is connected again, they are replayed oldest first,
through the normal path (``replay.replay_exchange``). The token is checked with one cheap read before
anything is replayed, so a replay never runs into the credentials it is meant to follow.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from boto3.dynamodb.conditions import Attr

from bridge.adapters import exchanges_repo
from bridge.flows import replay
from bridge.flows.exchange_log import record_exchange
from bridge.observability import logger

PARKED_KINDS = ("account_needs_reconnect", "needs_reconnect")
LOOKBACK = timedelta(days=30)  # exchange records live this long by default
MAX_REPLAYS = 1000


class TokenCheck(Protocol):
    def get(self, path: str, *, params: dict[str, Any] | None = None) -> Any: ...


def parked_exchange_ids(account_id: str, *, now: datetime | None = None) -> list[str]:
    """Failed, replayable, not yet replayed parked exchanges, oldest first."""
    moment = now or datetime.now(UTC)
    wanted = Attr("status").eq("failed") & Attr("kind").is_in(list(PARKED_KINDS)) & Attr("replay_key").exists()
    found: list[str] = []
    after: str | None = None
    while len(found) < MAX_REPLAYS:
        items, after = exchanges_repo.query(
            account_id, since=moment - LOOKBACK, until=moment, limit=200, after=after, filters=wanted
        )
        found.extend(str(item["sk"]) for item in items if not item.get("replayed_by"))
        if after is None:
            break
    return sorted(found)[:MAX_REPLAYS]  # ids sort by time


def replay_parked(account_id: str, *, client: TokenCheck | None = None) -> dict[str, Any]:
    """Verify the token, then replay every parked exchange once; returns what was done."""
    parked = parked_exchange_ids(account_id)
    if not parked:
        return {"replayed": 0}
    if client is None:
        from bridge.sellsy.factory import client_for_account

        client = client_for_account(account_id)
    client.get("/companies", params={"limit": 1})  # NeedsReconnect here: nothing is replayed
    replayed: list[str] = []
    for exchange_id in parked:
        try:
            requested = replay.replay_exchange(account_id, exchange_id)
        except replay.NotReplayable as exc:
            logger.warning("parked exchange not replayed", extra={"exchange_id": exchange_id, "reason": str(exc)})
            continue
        if not requested.already_replayed:  # replayed by hand meanwhile: not twice
            replayed.append(requested.exchange_id)
    record_exchange(
        account_id=account_id,
        direction="internal",
        kind="parked_replayed",
        status="ok",
        reason=f"{len(replayed)} of {len(parked)} deliveries parked while disconnected replayed, oldest first",
        request={"replayed": parked[:50]},
    )
    return {"replayed": len(replayed), "parked": len(parked)}
