"""Replay a failed exchange: put its worker message back on the events queue (F7).

The message goes through the normal path (worker, action ledger, idempotency), so a replay of
work that meanwhile succeeded does nothing twice. A new delivery id lets it past the worker's
idempotency on deliveries; ``replay_of`` links it to the failed exchange. An exchange is replayed once:
a second request finds the first replay's claim and enqueues nothing (if that replay fails too, its own
failed exchange is the one to replay).

``replay_failures`` replays every failure of an account since a time, oldest first, and says what it left
alone: failures a later success fixed, failures replayed before, failures without a replay message.
``plan_failure_replay`` tells the same without doing it (the console's confirmation step).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bridge.adapters import accounts_repo, exchanges_repo, queue
from bridge.flows.exchange_log import ExchangeRecord, list_exchanges, record_exchange, to_record


class ExchangeNotFound(LookupError):
    pass


class NotReplayable(RuntimeError):
    """The exchange exists but can't be replayed (not failed, nothing to replay, account inactive)."""


@dataclass(frozen=True)
class ReplayRequested:
    exchange_id: str
    replay_of: str
    delivery_id: str
    correlation_id: str
    already_replayed: bool = False


def replay_exchange(account_id: str, exchange_id: str) -> ReplayRequested:
    item = exchanges_repo.get(account_id, exchange_id)
    if item is None:
        raise ExchangeNotFound(f"exchange {exchange_id!r} does not exist for account {account_id!r}")
    record = to_record(item)
    if record.status != "failed":
        raise NotReplayable(f"only failed exchanges can be replayed; this one is {record.status!r}")
    key = item.get("replay_key")
    message = exchanges_repo.get_replay_message(str(key)) if key else None
    if message is None:
        raise NotReplayable("this exchange carries no replay message (or it has expired)")
    account = accounts_repo.require_account(account_id)
    if not account.can_sync:
        raise NotReplayable(f"account {account_id!r} is {account.status}: reconnect it before replaying")

    delivery_id = queue.new_delivery_id()
    earlier = exchanges_repo.claim_replay(account_id, exchange_id, delivery_id)
    if earlier is not None:
        replayed_by = sorted(item.get("replayed_by") or [])
        return ReplayRequested(
            exchange_id=replayed_by[0] if replayed_by else "",
            replay_of=exchange_id,
            delivery_id=earlier,
            correlation_id=earlier,
            already_replayed=True,
        )
    replayed = {
        **message,
        "account_id": account_id,
        "delivery_id": delivery_id,
        "correlation_id": delivery_id,
        "replay_of": exchange_id,
    }
    queue.enqueue(replayed)
    new_id = record_exchange(
        account_id=account_id,
        direction="internal",
        kind="replay_requested",
        status="ok",
        sellsy_type=record.sellsy_type,
        sellsy_id=record.sellsy_id,
        field_id=record.field_id,
        correlation_id=delivery_id,
        replay_of=exchange_id,
        request={"kind": message.get("kind"), "delivery_id": delivery_id},
    )
    exchanges_repo.add_replayed_by(account_id, exchange_id, new_id)
    return ReplayRequested(
        exchange_id=new_id, replay_of=exchange_id, delivery_id=delivery_id, correlation_id=delivery_id
    )


# --- all failures of an account since a time ------------------------------------------------------------

BULK_REPLAY_MAX = 200  # replays per request: a bigger backlog is replayed by asking again
SkipReason = Literal["fixed", "already_replayed", "not_replayable"]


@dataclass(frozen=True)
class Skipped:
    exchange_id: str
    reason: SkipReason
    detail: str


@dataclass(frozen=True)
class FailurePlan:
    """What a bulk replay would do: the failures to replay (oldest first) and the ones it leaves alone."""

    to_replay: list[ExchangeRecord]
    skipped: list[Skipped]
    more: bool  # more failures to replay than one request replays


@dataclass(frozen=True)
class FailureReplay:
    replayed: list[ReplayRequested]
    skipped: list[Skipped]
    more: bool


def _skip_reason(record: ExchangeRecord) -> Skipped | None:
    if record.fixed_by:
        return Skipped(record.id, "fixed", f"fixed by the later success {record.fixed_by}")
    if record.replayed_by:
        return Skipped(record.id, "already_replayed", f"replayed before as {record.replayed_by[0]}")
    if not record.replayable:
        return Skipped(record.id, "not_replayable", "carries no replay message (or it has expired)")
    return None


def plan_failure_replay(
    account_id: str, since: datetime, *, until: datetime | None = None, limit: int = BULK_REPLAY_MAX
) -> FailurePlan:
    """The account's failed exchanges in [since, until], split into those a replay would re-run and the rest."""
    account = accounts_repo.require_account(account_id)
    if not account.can_sync:
        raise NotReplayable(f"account {account_id!r} is {account.status}: reconnect it before replaying")
    to_replay: list[ExchangeRecord] = []
    skipped: list[Skipped] = []
    cursor: str | None = None
    while True:
        page, cursor = list_exchanges(
            account_id, status="failed", since=since, until=until, limit=200, cursor=cursor, summaries=False
        )
        for record in page:
            reason = _skip_reason(record)
            if reason is not None:
                skipped.append(reason)
            elif len(to_replay) < limit:
                to_replay.append(record)
            else:
                return FailurePlan(to_replay[::-1], skipped, more=True)
        if cursor is None:
            return FailurePlan(to_replay[::-1], skipped, more=False)


def replay_failures(
    account_id: str, since: datetime, *, until: datetime | None = None, limit: int = BULK_REPLAY_MAX
) -> FailureReplay:
    """Replay every failure of the account since ``since`` that is neither fixed nor replayed, oldest first."""
    plan = plan_failure_replay(account_id, since, until=until, limit=limit)
    replayed: list[ReplayRequested] = []
    skipped = list(plan.skipped)
    for record in plan.to_replay:
        try:
            done = replay_exchange(account_id, record.id)
        except NotReplayable as exc:
            skipped.append(Skipped(record.id, "not_replayable", str(exc)))
            continue
        if done.already_replayed:  # replayed by someone else since the plan was made
            skipped.append(Skipped(record.id, "already_replayed", f"replayed meanwhile as {done.exchange_id}"))
        else:
            replayed.append(done)
    return FailureReplay(replayed, skipped, plan.more)
