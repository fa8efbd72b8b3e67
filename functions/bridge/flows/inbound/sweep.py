"""Reconciliation sweep: what a lost webhook would have done, done by reading Sellsy.

Sellsy gives up on a delivery after its retries, and nothing is delivered while the webhook is not
registered. The sweep finds, for one account:
- accepted quotes and won opportunities that have no intervention (nor one on their linked quote or
  opportunity), and runs the same use case a delivery would (``interventions.on_source``);
- companies and individuals changed since the last sweep, and syncs them (``customers.sync_customer``);
  an account's first sweep only starts that clock.

Every repair goes through the use case's own conditional writes, so a sweep running twice, or beside a
late delivery, repairs once: only the writer that created or changed something records
``recovered_by_sweep`` (with the reason) in the exchange log.

Two modes: ``hourly`` is cheap (the latest page of accepted quotes, opportunities won since the last
sweep, customers changed since then); ``nightly`` (after the import) reads every accepted quote and won
opportunity. Objects created in Sellsy before the account existed here are never swept: they predate
the connector, and turning years of accepted quotes into interventions is not a repair.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from bridge.adapters import accounts_repo, field_repo, sweep_state
from bridge.domain.accounts import Account
from bridge.domain.interventions import intervention_id
from bridge.flows.exchange_log import record_exchange
from bridge.flows.inbound import customers, interventions
from bridge.flows.inbound.outcome import Outcome
from bridge.observability import logger
from bridge.sellsy.client import SellsyClient
from bridge.sellsy.errors import NeedsReconnect, NotFound

Mode = Literal["hourly", "nightly"]
MODES: tuple[Mode, ...] = ("hourly", "nightly")
OVERLAP = timedelta(minutes=10)  # Sellsy's updated_at and our clock need not agree to the second
FIRST_LOOKBACK = timedelta(hours=24)  # won opportunities, on an account's first hourly sweep
CUSTOMER_REPAIRS = ("customer_created", "customer_updated", "customer_marked_deleted")


SweepClient = SellsyClient  # pages of searches, and the reads of the use cases


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _items(
    client: SweepClient, path: str, filters: dict[str, Any], *, pages: int | None, newest_first: bool = True
) -> Iterator[dict[str, Any]]:
    # Documents and opportunities sort by "created"; companies and individuals take no such order.
    order, direction = ("created", "desc") if newest_first else (None, None)
    pages_read = client.iter_pages(path, search=True, filters=filters, order=order, direction=direction)
    for number, page in enumerate(pages_read):
        yield from page.items
        if pages is not None and number + 1 >= pages:
            return


def _record(account: Account, sellsy_type: str, sellsy_id: Any, outcome: Outcome, reason: str, mode: str) -> None:
    record_exchange(
        account_id=account.id,
        direction="inbound",
        kind="recovered_by_sweep",
        status="ok",
        sellsy_type=sellsy_type,
        sellsy_id=str(sellsy_id),
        field_id=outcome.field_id,
        reason=reason,
        request={"mode": mode, "repair": outcome.kind},
    )


def _repair_source(
    client: SweepClient, account: Account, source_type: str, summary: dict[str, Any], mode: str
) -> Outcome | None:
    source_id = int(summary["id"])
    if field_repo.get_intervention(account.id, intervention_id(source_type, source_id)) is not None:
        return None
    if interventions.linked_intervention(account.id, source_type, summary) is not None:
        return None
    try:
        outcome = interventions.on_source(client, account, source_type, source_id)
    except NotFound:
        return None  # deleted between the search and the read
    if outcome.kind == "intervention_created":
        status = summary.get("status")
        reason = f"{source_type} {source_id} is {status} and had no intervention (no delivery brought it)"
        _record(account, source_type, source_id, outcome, reason, mode)
    return outcome


def _sources(client: SweepClient, account: Account, mode: Mode, since: datetime) -> Iterator[tuple[str, Any]]:
    floor = _iso(account.created_at)
    estimates = {"status": ["accepted"], "created": {"start": floor}}
    for summary in _items(client, "/estimates/search", estimates, pages=1 if mode == "hourly" else None):
        yield "estimate", summary
    won_since = _iso(max(account.created_at, since)) if mode == "hourly" else floor
    opportunities = {"statuses": ["won"], "updated_status": {"start": won_since}}
    for summary in _items(client, "/opportunities/search", opportunities, pages=None):
        yield "opportunity", summary


def _changed_customers(client: SweepClient, since: datetime) -> Iterator[tuple[str, dict[str, Any]]]:
    filters = {"updated_at": {"start": _iso(since)}}
    for kind, path in (("company", "/companies/search"), ("individual", "/individuals/search")):
        for summary in _items(client, path, filters, pages=None, newest_first=False):
            yield kind, summary


def sweep_account(
    account_id: str, *, mode: Mode = "hourly", client: SweepClient | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Sweep one account; returns counts and the repairs made."""
    started = now or datetime.now(UTC)
    account = accounts_repo.get_account(account_id, consistent=True)
    if account is None or not account.can_sync:
        return {"account_id": account_id, "mode": mode, "status": "skipped", "reason": "account not active"}
    sellsy: SweepClient
    if client is None:
        from bridge.sellsy.factory import client_for_account

        sellsy = client_for_account(account_id)
    else:
        sellsy = client
    mark = sweep_state.load_watermark(account_id)
    since = (datetime.fromisoformat(mark) if mark else started - FIRST_LOOKBACK) - OVERLAP
    checked = {"sources": 0, "customers": 0}
    repaired: list[dict[str, Any]] = []
    try:
        for source_type, summary in _sources(sellsy, account, mode, since):
            checked["sources"] += 1
            outcome = _repair_source(sellsy, account, source_type, summary, mode)
            if outcome is not None and outcome.kind == "intervention_created":
                repaired.append({"sellsy_type": source_type, "sellsy_id": summary["id"], "repair": outcome.kind})
        # The first sweep has no "last sweep" to compare with: it only sets the watermark for customers
        # (syncing every customer Sellsy changed lately would not be a repair).
        for kind, summary in _changed_customers(sellsy, since) if mark else ():
            checked["customers"] += 1
            try:
                outcome = customers.sync_customer(sellsy, account, kind, int(summary["id"]), "updated")
            except NotFound:
                continue
            if outcome.kind in CUSTOMER_REPAIRS:
                changed = summary.get("updated_at")
                reason = f"{kind} {summary['id']} changed in Sellsy ({changed}) and the field side was behind"
                _record(account, kind, summary["id"], outcome, reason, mode)
                repaired.append({"sellsy_type": kind, "sellsy_id": summary["id"], "repair": outcome.kind})
    except NeedsReconnect as exc:
        accounts_repo.mark_needs_reconnect(account_id, exc.message)
        return {"account_id": account_id, "mode": mode, "status": "needs_reconnect", "checked": checked}
    sweep_state.save_watermark(account_id, _iso(started))
    summary = {"account_id": account_id, "mode": mode, "status": "ok", "checked": checked, "repaired": repaired}
    logger.info(
        "sweep done", extra={"account_id": account_id, "mode": mode, "checked": checked, "repaired": len(repaired)}
    )
    return summary


def sweep_all(mode: Mode = "hourly") -> dict[str, Any]:
    """Every active account, one after the other; one account's failure does not stop the others."""
    results: list[dict[str, Any]] = []
    cursor = None
    while True:
        accounts, cursor = accounts_repo.list_accounts(limit=100, cursor=cursor, status="active")
        for account in accounts:
            try:
                results.append(sweep_account(account.id, mode=mode))
            except Exception as exc:  # Sellsy down for this account, a bug on one record: the rest goes on
                logger.exception("sweep failed", extra={"account_id": account.id})
                results.append(
                    {"account_id": account.id, "mode": mode, "status": "failed", "error": type(exc).__name__}
                )
        if not cursor:
            return {"mode": mode, "accounts": results}
