"""Replay a failed exchange: put its worker message back on the events queue (F7).

The message goes through the normal path (worker, action ledger, idempotency), so a replay of
work that meanwhile succeeded does nothing twice. A new delivery id lets it past the worker's
idempotency on deliveries; ``replay_of`` links it to the failed exchange. An exchange is replayed once:
a second request finds the first replay's claim and enqueues nothing (if that replay fails too, its own
failed exchange is the one to replay).
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.adapters import accounts_repo, exchanges_repo, queue
from bridge.flows.exchange_log import record_exchange, to_record


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
