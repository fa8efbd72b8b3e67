"""Customers, Sellsy → field (F2): companies, individuals and their main contacts.

Each event re-reads the Sellsy object and recomputes the field-side view (name, main contact,
intervention address, rule tags). Nothing is written when the view is unchanged; when it is unchanged
*because* Sellsy only reflects our own earlier write, the skip says so (echo suppression). Deletions
in Sellsy mark the field customer, never delete it.
"""

from __future__ import annotations

from typing import Any

from bridge.adapters import field_repo
from bridge.domain import custom_field_rules as cfr
from bridge.domain.accounts import Account
from bridge.domain.interventions import (
    FieldCustomer,
    address,
    customer_id,
    deep_link,
    full_name,
    person,
)
from bridge.flows.inbound import sellsy_reads
from bridge.flows.inbound.outcome import Outcome
from bridge.flows.inbound.sellsy_reads import SellsyReader
from bridge.sellsy.errors import NotFound

SYNC_DIRECTIONS = ("sellsy_to_field", "both")
THIRD_KINDS = ("company", "individual")


def customer_from_sellsy(
    account: Account, kind: str, third: dict[str, Any], custom_fields: list[dict[str, Any]] | None = None
) -> FieldCustomer:
    embed = third.get("_embed") or {}
    # An individual is their own contact.
    contact = person(embed.get("main_contact")) if kind == "company" else person(third)
    where = embed.get("delivery_address") or embed.get("invoicing_address")
    values = cfr.parse_values(custom_fields or [])
    rules = cfr.evaluate(account.settings.custom_field_rules, values)
    return FieldCustomer(
        id=customer_id(kind, third["id"]),
        account_id=account.id,
        sellsy_type=kind,
        sellsy_id=int(third["id"]),
        name=full_name(third),
        email=third.get("email") or None,
        phone=third.get("phone_number") or third.get("mobile_number") or None,
        main_contact=contact,
        address=address(where, "customer"),
        tags=rules.tags,
        custom_fields=cfr.as_dict(values),
        deep_link=deep_link(
            kind, third["id"], account.settings.deep_link_host, third_type=str(third.get("type") or "client")
        ),
        archived=bool(third.get("is_archived")),
    )


def _comparable(customer: FieldCustomer) -> dict[str, Any]:
    view = customer.synced_view()
    for part in ("address", "main_contact"):
        if isinstance(view.get(part), dict):
            view[part] = {k: v for k, v in view[part].items() if k not in ("origin",)}
    view.pop("tags", None)  # tags only grow from Sellsy (see below); compared separately
    return view


def _echo_objects(account_id: str, kind: str, third: dict[str, Any]) -> bool:
    """Whether any object behind this customer carries values we wrote ourselves."""
    embed = third.get("_embed") or {}
    checks: list[tuple[str, Any, dict[str, Any]]] = [(kind, third.get("id"), third)]
    if isinstance(embed.get("main_contact"), dict):
        checks.append(("contact", embed["main_contact"].get("id"), embed["main_contact"]))
    for name in ("delivery_address", "invoicing_address"):
        if isinstance(embed.get(name), dict):
            checks.append(("address", embed[name].get("id"), embed[name]))
    return any(oid and field_repo.is_echo(account_id, t, oid, values) for t, oid, values in checks)


def sync_third(client: SellsyReader, account: Account, third_id: int, event: str) -> list[Outcome]:
    """A ``client``/``prospect``/``supplier`` event that does not say company or individual.

    Both are read (register entry W4). Each that exists is synced from what Sellsy says now, so when
    both kinds have this id, the one that did not change ends as ``customer_unchanged``; a kind that
    no longer exists is marked deleted where the field side knows it. A ``deleted`` event marks the
    field customers with this id (reading cannot tell which one went).
    """
    if account.settings.sync_direction not in SYNC_DIRECTIONS:
        return [Outcome("skipped", "customer_not_synced", f"sync direction is {account.settings.sync_direction}")]
    known = [k for k in THIRD_KINDS if field_repo.get_customer(account.id, customer_id(k, third_id)) is not None]
    outcomes: list[Outcome] = []
    for kind in THIRD_KINDS:
        if event == "deleted":
            if kind in known:
                outcomes.append(_mark_deleted(account, customer_id(kind, third_id)))
            continue
        try:
            third = sellsy_reads.third(client, kind, third_id)
        except NotFound:
            if kind in known:
                outcomes.append(_mark_deleted(account, customer_id(kind, third_id)))
            continue
        outcomes.append(sync_customer(client, account, kind, third_id, event, third=third))
    if not outcomes and event != "deleted":
        raise NotFound(f"no company or individual {third_id}")
    return outcomes or [Outcome("skipped", "customer_unknown", "deleted in Sellsy; never synced to the field side")]


def sync_customer(
    client: SellsyReader, account: Account, kind: str, third_id: int, event: str, *, third: dict[str, Any] | None = None
) -> Outcome:
    if account.settings.sync_direction not in SYNC_DIRECTIONS:
        return Outcome("skipped", "customer_not_synced", f"sync direction is {account.settings.sync_direction}")
    cid = customer_id(kind, third_id)
    if event == "deleted":
        return _mark_deleted(account, cid)
    if third is None:
        try:
            third = sellsy_reads.third(client, kind, third_id)
        except NotFound:
            if field_repo.get_customer(account.id, cid) is not None:
                return _mark_deleted(account, cid)
            raise
    fresh = customer_from_sellsy(account, kind, third, sellsy_reads.embedded_custom_fields(third))
    is_supplier = third.get("type") == "supplier"
    result: dict[str, str] = {}

    def change(current: FieldCustomer | None) -> FieldCustomer | None:
        if current is None:
            if is_supplier:
                result["kind"] = "supplier"
                return None  # suppliers are not field customers, unless one already was
            result["kind"] = "customer_created"
            return fresh
        tags = sorted(set(current.tags) | set(fresh.tags))
        if _comparable(current) == _comparable(fresh) and tags == current.tags:
            result["kind"] = "unchanged"
            return None
        result["kind"] = "customer_updated"
        # Sellsy is master of these fields; the rest (field-only data) is kept.
        synced = fresh.model_dump(include=set(fresh.synced_view()))
        return FieldCustomer.model_validate(current.model_dump() | synced | {"tags": tags})

    field_repo.update_customer(account.id, cid, change)
    return _sync_outcome(account, kind, third, cid, result["kind"])


def _sync_outcome(account: Account, kind: str, third: dict[str, Any], cid: str, what: str) -> Outcome:
    if what == "supplier":
        return Outcome("skipped", "supplier_not_synced", "suppliers do not become field customers", cid)
    if what == "unchanged":
        if _echo_objects(account.id, kind, third):
            return Outcome("skipped", "echo_suppressed", "change caused by our own write to Sellsy", cid)
        return Outcome("skipped", "customer_unchanged", "nothing the field side uses changed", cid)
    return Outcome("ok", what, None, cid)


def _mark_deleted(account: Account, cid: str) -> Outcome:
    def mark(current: FieldCustomer | None) -> FieldCustomer | None:
        if current is None or current.deleted_in_sellsy:
            return None
        current.deleted_in_sellsy = True
        return current

    stored = field_repo.update_customer(account.id, cid, mark)
    if stored is None:
        return Outcome("skipped", "customer_unknown", "deleted in Sellsy; never synced to the field side", cid)
    return Outcome("ok", "customer_marked_deleted", "deleted in Sellsy; kept on the field side", cid)


def sync_contact(client: SellsyReader, account: Account, contact_id: int, event: str) -> list[Outcome]:
    """A contact changed: refresh every field customer whose main contact it is."""
    if account.settings.sync_direction not in SYNC_DIRECTIONS:
        return [Outcome("skipped", "customer_not_synced", f"sync direction is {account.settings.sync_direction}")]
    customers = field_repo.customers_with_contact(account.id, contact_id)
    if not customers:
        return [Outcome("skipped", "contact_not_used", "not the main contact of a field-side customer")]
    return [sync_customer(client, account, c.sellsy_type, c.sellsy_id, "updated") for c in customers]
