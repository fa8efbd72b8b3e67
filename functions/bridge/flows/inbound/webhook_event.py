"""Worker flow for ``sellsy.webhook`` messages: route one Sellsy event to the inbound use case.

| Sellsy object | use case |
|---|---|
| estimate, opportunity | intervention created / flagged (``interventions.on_source``) |
| company, individual | field-side customer created / updated (``customers.sync_customer``) |
| third (a client, prospect or supplier of unsaid kind) | the same, once the kind is read (``customers.sync_third``) |
| contact (``people``) | customers whose main contact it is are refreshed (``customers.sync_contact``) |
Anything else is a logged skip. An id Sellsy does not know (forged payload, deleted object) is a skip
with its reason, not an error: retrying would never succeed.
"""

from __future__ import annotations

import time
from typing import Any

from bridge.adapters import accounts_repo, queue
from bridge.domain.accounts import Account
from bridge.flows.exchange_log import record_exchange
from bridge.flows.inbound import account_cache, customers, interventions
from bridge.flows.inbound.outcome import Outcome
from bridge.flows.inbound.sellsy_reads import SellsyReader
from bridge.sellsy.errors import NotFound

SOURCES = ("estimate", "opportunity")
THIRDS = ("company", "individual")
THIRD = "third"


def default_client(account_id: str) -> SellsyReader:
    from bridge.sellsy.factory import client_for_account

    return client_for_account(account_id)


def _current_account(account_id: str) -> Account | None:
    account = account_cache.get_account(account_id)
    if account is not None and account.status == "needs_reconnect":
        # A reconnect seconds ago must not park this message again: the cache may be older than that.
        account_cache.forget(account_id)
        account = accounts_repo.get_account(account_id, consistent=True)
    return account


def _refusal(account: Account | None, entity: str, raw_id: str) -> Outcome | None:
    """Why this event is not worked on (None: it is)."""
    if account is None:
        return Outcome("skipped", "account_unknown", "the account no longer exists")
    if account.status == "needs_reconnect":
        return Outcome("failed", "account_needs_reconnect", "account needs reconnection")
    if not account.can_sync:
        return Outcome("skipped", "account_inactive", f"account is {account.status}")
    if not raw_id.isdigit():
        return Outcome("skipped", "invalid_event", "event without a numeric object id")
    if entity not in (*SOURCES, *THIRDS, THIRD, "contact"):
        return Outcome("skipped", "event_ignored", f"{entity or 'unknown'} events are not used")
    return None


def handle(message: dict[str, Any], *, client: SellsyReader | None = None) -> dict[str, Any]:
    account_id = str(message["account_id"])
    payload = queue.payload_of(message, queue.WebhookPayload)
    entity, event, raw_id = payload.entity, payload.event, payload.object_id
    correlation_id = message.get("correlation_id")
    started = time.perf_counter()

    def record(outcome: Outcome, replay: dict[str, Any] | None = None) -> dict[str, Any]:
        record_exchange(
            account_id=account_id,
            direction="inbound",
            kind=outcome.kind,
            status=outcome.status,
            sellsy_type=entity or None,
            sellsy_id=raw_id or None,
            field_id=outcome.field_id,
            reason=outcome.reason,
            request={"event": payload.config_id or f"{entity}.{event}"},
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            correlation_id=correlation_id,
            replay=replay,
        )
        return outcome.as_dict()

    account = _current_account(account_id)
    refusal = _refusal(account, entity, raw_id)
    if refusal is not None:
        # Parked deliveries stay replayable: once the account is reconnected they run through the normal path.
        parked = refusal.kind == "account_needs_reconnect"
        return record(refusal, queue.replayable(message) if parked else None)
    assert account is not None
    object_id = int(raw_id)

    sellsy = client or default_client(account_id)
    try:
        if entity in SOURCES:
            return record(interventions.on_source(sellsy, account, entity, object_id))
        if entity in THIRDS:
            return record(customers.sync_customer(sellsy, account, entity, object_id, event))
        if entity == THIRD:
            return {"customers": [record(o) for o in customers.sync_third(sellsy, account, object_id, event)]}
        return {"contacts": [record(o) for o in customers.sync_contact(sellsy, account, object_id, event)]}
    except NotFound:
        flagged = interventions.on_source_missing(account_id, entity, object_id) if entity in SOURCES else None
        if flagged is not None:
            return record(flagged)
        return record(Outcome("skipped", "object_not_found", f"Sellsy has no {entity} {object_id} (forged or deleted)"))
