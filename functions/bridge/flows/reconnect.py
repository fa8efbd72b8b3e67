"""What happens to a queue message when Sellsy refuses the account's credentials (``NeedsReconnect``).

Retrying cannot help until someone reconnects the account, so the message is not failed back to the queue:
the account is marked ``needs_reconnect`` (its cached client dropped), and the message is kept as a failed,
replayable exchange. Reconnecting replays those exchanges (``flows.inbound.parked``).
"""

from __future__ import annotations

from typing import Any

from bridge.adapters import accounts_repo, queue
from bridge.flows.dispatch import dispatch
from bridge.flows.exchange_log import record_exchange
from bridge.flows.inbound import account_cache, receipt
from bridge.sellsy.errors import NeedsReconnect


def run_message(message: dict[str, Any]) -> Any:
    """Run the message's flow; a refusal of the account's credentials parks the message instead of failing it."""
    try:
        return dispatch(message)
    except NeedsReconnect as exc:
        return park_for_reconnect(message, exc.message)


def park_for_reconnect(message: dict[str, Any], reason: str) -> dict[str, str]:
    account_id = str(message["account_id"])
    accounts_repo.mark_needs_reconnect(account_id, reason)
    account_cache.forget(account_id)
    record_exchange(
        account_id=account_id,
        direction="inbound" if message.get("kind") == receipt.KIND else "outbound",
        kind="needs_reconnect",
        status="failed",
        reason=f"Sellsy refused the account's credentials: {reason}",
        correlation_id=message.get("correlation_id"),
        replay=queue.replayable(message),
    )
    return {"stopped": "needs_reconnect"}
