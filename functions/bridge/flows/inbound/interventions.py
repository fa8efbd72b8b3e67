"""Quote accepted / opportunity won → exactly one intervention (F3, F4).

The flow re-reads the estimate or opportunity and acts on its *current* status, so the number, order
and timing of deliveries do not matter: a won source gets its intervention (created by a conditional
put keyed on the source), a lost one flags an existing intervention (never deletes), anything else is
a logged skip. A duplicate delivery about an existing intervention costs one Sellsy read.
"""

from __future__ import annotations

from typing import Any

from bridge.adapters import field_repo
from bridge.domain import custom_field_rules as cfr
from bridge.domain.accounts import Account
from bridge.domain.interventions import (
    FieldCustomer,
    Intervention,
    SourceContext,
    build,
    flag_for,
    intervention_id,
    source_outcome,
)
from bridge.flows.inbound import sellsy_reads
from bridge.flows.inbound.customers import customer_from_sellsy
from bridge.flows.inbound.outcome import Outcome
from bridge.flows.inbound.sellsy_reads import SellsyReader


def _customer_ref(document: dict[str, Any], source_type: str) -> tuple[str | None, int | None]:
    if source_type == "opportunity":
        if document.get("company_id"):
            return "company", int(document["company_id"])
        if document.get("individual_id"):
            return "individual", int(document["individual_id"])
    for related in document.get("related") or []:
        if related.get("type") in ("company", "individual") and related.get("id"):
            return str(related["type"]), int(related["id"])
    return None, None


def _rules_outcome(account: Account, *value_lists: list[dict[str, Any]]) -> tuple[cfr.RuleOutcome, dict[str, Any]]:
    """Rules over the document's custom fields first, then the customer's (the document's value wins)."""
    values: list[cfr.CustomFieldValue] = []
    for value_list in value_lists:
        values.extend(cfr.parse_values(value_list))
    shown: dict[str, Any] = {}
    for value_list in reversed(value_lists):
        shown.update(cfr.as_dict(cfr.parse_values(value_list)))
    return cfr.evaluate(account.settings.custom_field_rules, values), shown


def gather(client: SellsyReader, account: Account, source_type: str, document: dict[str, Any]) -> SourceContext:
    """Everything the technician needs, read from Sellsy (the document was just read, with its embeds).

    A quote costs two more calls: its customer (main contact, addresses, custom fields) and its comments;
    the owner and the custom-field definitions are reference data (see ``sellsy_reads``).
    """
    source_id = int(document["id"])
    embed = document.get("_embed") or {}
    kind, third_id = _customer_ref(document, source_type)
    customer = embed.get(kind) if kind else None
    owner = document.get("owner") or {}
    rows, document_address, contact = _document_parts(client, source_type, document)
    third = sellsy_reads.optional(sellsy_reads.third, client, kind, third_id) if kind and third_id else None
    third_embed = (third or {}).get("_embed") or {}
    customer_address = third_embed.get("delivery_address") or third_embed.get("invoicing_address")
    if contact is None:
        contact = third_embed.get("main_contact") if kind == "company" else (third or customer)
    rules, shown = _rules_outcome(
        account,
        sellsy_reads.embedded_custom_fields(document),  # embedded by the document's read
        sellsy_reads.embedded_custom_fields(third),
    )
    return SourceContext(
        account_id=account.id,
        source_type=source_type,  # type: ignore[arg-type]
        document=document,
        owner=sellsy_reads.staff(client, owner.get("id")) if owner.get("type", "staff") == "staff" else None,
        contact=contact,
        customer=third or customer,
        customer_type=kind,
        document_address=document_address,
        customer_address=customer_address,
        rows=rows,
        comments=sellsy_reads.comments(client, source_type, source_id),
        custom_fields=shown,
        attributes=rules.attributes,
        tags=rules.tags,
        recurrence=rules.recurrence,
        deep_link_host=account.settings.deep_link_host,
    )


def _document_parts(
    client: SellsyReader, source_type: str, document: dict[str, Any]
) -> tuple[Any, dict[str, Any] | None, dict[str, Any] | None]:
    """Rows, delivery address and contact the document gives; an opportunity's come from its main quote."""
    embed = document.get("_embed") or {}
    if source_type == "estimate":
        return document.get("rows"), embed.get("delivery_address"), embed.get("contact")
    if source_type != "opportunity":
        return document.get("rows"), None, None
    contacts = embed.get("contacts") or []
    contact = contacts[0] if contacts and isinstance(contacts[0], dict) else None
    main_doc = document.get("main_doc_id")
    quote = sellsy_reads.optional(sellsy_reads.estimate, client, int(main_doc)) if main_doc else None
    if not quote:
        return document.get("rows"), None, contact
    quote_embed = quote.get("_embed") or {}
    return quote.get("rows"), quote_embed.get("delivery_address"), contact or quote_embed.get("contact")


def _ensure_customer(account: Account, ctx: SourceContext, tags: list[str]) -> None:
    """The field side knows the intervention's customer; rule tags are added, never removed here."""
    if not ctx.customer or ctx.customer_type not in ("company", "individual"):
        return
    fresh = customer_from_sellsy(account, ctx.customer_type, dict(ctx.customer))

    def change(current: FieldCustomer | None) -> FieldCustomer | None:
        if current is None:
            fresh.tags = sorted(set(fresh.tags) | set(tags))
            return fresh
        missing = [t for t in tags if t not in current.tags]
        if not missing:
            return None
        current.tags = sorted(set(current.tags) | set(tags))
        return current

    field_repo.update_customer(account.id, fresh.id, change)


def linked_intervention(account_id: str, source_type: str, document: dict[str, Any]) -> Intervention | None:
    """The intervention of the same job made from the other side: a quote's opportunity, an opportunity's
    main quote. One job, one intervention, whichever of the two is won first."""
    if source_type == "estimate":
        others = [("opportunity", r.get("id")) for r in document.get("related") or [] if r.get("type") == "opportunity"]
    else:
        others = [("estimate", document.get("main_doc_id"))]
    for other_type, other_id in others:
        if other_id:
            found = field_repo.get_intervention(account_id, intervention_id(other_type, int(other_id)))
            if found is not None:
                return found
    return None


def _on_linked(
    account_id: str, linked: Intervention, source_type: str, source_id: int, status: str | None, outcome: str
) -> Outcome:
    field_name = "estimate_id" if source_type == "estimate" else "opportunity_id"
    flag = flag_for(source_type, status) if outcome == "lost" else None

    def attach(iv: Intervention) -> Intervention | None:
        if flag is None and getattr(iv, field_name) is None:
            setattr(iv, field_name, source_id)  # e.g. the quote convert_quote will invoice later
            return iv
        if flag is not None and getattr(iv, field_name) == source_id and all(f.code != flag.code for f in iv.flags):
            iv.flags.append(flag)
            return iv
        return None

    if flag is not None and getattr(linked, field_name) != source_id:
        # A refused variant of the quote (or a lost side) that is not the one this job is built on.
        reason = f"{source_type} {source_id} is {status}; intervention {linked.id} is built on another one"
        return Outcome("skipped", "intervention_not_flagged", reason, linked.id)
    field_repo.update_intervention(account_id, linked.id, attach)
    if flag is not None:
        return Outcome("ok", "intervention_flagged", f"{flag.reason} (intervention {linked.id})", linked.id)
    reason = f"same job as {linked.source_type} {linked.source_id}: its intervention {linked.id} covers it"
    return Outcome("skipped", "covered_by_linked_intervention", reason, linked.id)


def on_source_missing(account_id: str, source_type: str, source_id: int) -> Outcome | None:
    """Sellsy no longer has the source: flag its intervention if there is one (never delete it)."""
    iv_id = intervention_id(source_type, source_id)
    flag = flag_for(source_type, "deleted")

    def add_flag(iv: Intervention) -> Intervention | None:
        if any(f.code == flag.code for f in iv.flags):
            return None
        iv.flags.append(flag)
        return iv

    if field_repo.update_intervention(account_id, iv_id, add_flag) is None:
        return None
    return Outcome("ok", "intervention_flagged", flag.reason, iv_id)


def _on_lost(account_id: str, existing: Intervention | None, source_type: str, status: Any) -> Outcome:
    """The source was refused, cancelled or lost: its intervention is flagged (kept, never deleted)."""
    if existing is None:
        return Outcome("skipped", "intervention_not_flagged", f"{source_type} is {status}; no intervention exists")
    flag = flag_for(source_type, status)

    def add_flag(iv: Intervention) -> Intervention | None:
        if any(f.code == flag.code for f in iv.flags):
            return None
        iv.flags.append(flag)
        iv.source_status = status
        return iv

    field_repo.update_intervention(account_id, existing.id, add_flag)
    return Outcome("ok", "intervention_flagged", flag.reason, existing.id)


def _on_won_again(account_id: str, existing: Intervention, source_type: str, status: Any) -> Outcome:
    """The source is won and its intervention exists: a lost flag from before goes, nothing else changes."""
    lost_codes = {f"{source_type}_{s}" for s in ("refused", "cancelled", "lost")}
    if not any(f.code in lost_codes for f in existing.flags):
        return Outcome("skipped", "intervention_exists", "intervention already exists for this source", existing.id)

    def clear(iv: Intervention) -> Intervention:
        iv.flags = [f for f in iv.flags if f.code not in lost_codes]
        iv.source_status = status
        return iv

    field_repo.update_intervention(account_id, existing.id, clear)
    return Outcome("ok", "intervention_unflagged", f"{source_type} is {status} again", existing.id)


def on_source(client: SellsyReader, account: Account, source_type: str, source_id: int) -> Outcome:
    """React to "something changed on this estimate/opportunity" by reading its current state."""
    read = sellsy_reads.estimate if source_type == "estimate" else sellsy_reads.opportunity
    document = read(client, source_id)  # NotFound propagates: the caller skips forged/deleted ids
    status = document.get("status")
    outcome = source_outcome(source_type, status)
    iv_id = intervention_id(source_type, source_id)
    existing = field_repo.get_intervention(account.id, iv_id)
    if existing is None and outcome in ("won", "lost"):
        linked = linked_intervention(account.id, source_type, document)
        if linked is not None:
            return _on_linked(account.id, linked, source_type, source_id, status, outcome)

    if outcome == "lost":
        return _on_lost(account.id, existing, source_type, status)
    if outcome != "won":
        return Outcome("skipped", "no_intervention", f"{source_type} status {status!r} creates no intervention")
    if existing is not None:
        return _on_won_again(account.id, existing, source_type, status)
    ctx = gather(client, account, source_type, document)
    intervention = build(ctx)
    _ensure_customer(account, ctx, intervention.tags)
    if not field_repo.create_intervention(intervention):
        return Outcome("skipped", "intervention_exists", "created concurrently by another delivery", iv_id)
    return Outcome("ok", "intervention_created", None, iv_id)
