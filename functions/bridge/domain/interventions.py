"""Interventions: what a technician needs, built from Sellsy objects (F3). Pure: no I/O.

An intervention's id is derived from its source so that every delivery about the same estimate or
opportunity lands on the same record (``est-123``, ``opp-45``); recurring ones derive from their parent
(``est-123-r1``, ``est-123-r2``) so re-running the scheduling never duplicates them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bridge.domain import sellsy_rules

SourceType = Literal["estimate", "opportunity"]
InterventionStatus = Literal["new", "scheduled", "in_progress", "completed", "cancelled"]
STATUSES: tuple[str, ...] = ("new", "scheduled", "in_progress", "completed", "cancelled")

ID_PREFIX: dict[str, str] = {"estimate": "est", "opportunity": "opp"}
_RECURRING = re.compile(r"^(?P<root>.+?)-r(?P<n>\d+)$")

# Statuses meaning "the customer said yes": an accepted quote may already have moved on (deposit paid,
# invoiced) before its delivery is processed, and it still needs its intervention.
ESTIMATE_WON = frozenset({"accepted", "advanced", "partialinvoiced", "invoiced"})
ESTIMATE_LOST = frozenset({"refused", "cancelled"})
OPPORTUNITY_WON = frozenset({"won"})
OPPORTUNITY_LOST = frozenset({"lost", "cancelled"})


def intervention_id(source_type: str, source_id: int | str) -> str:
    return f"{ID_PREFIX[source_type]}-{int(source_id)}"


def recurring_id(parent_id: str) -> str:
    """``est-1`` → ``est-1-r1`` → ``est-1-r2``: the n-th occurrence after the original."""
    match = _RECURRING.match(parent_id)
    if match:
        return f"{match['root']}-r{int(match['n']) + 1}"
    return f"{parent_id}-r1"


CUSTOMER_ID = re.compile(r"^(?P<type>company|individual)-(?P<id>\d+)$")


def customer_id(sellsy_type: str, sellsy_id: int | str) -> str:
    """Field-side customer id for a Sellsy company or individual."""
    return f"{sellsy_type}-{int(sellsy_id)}"


def deep_link(
    sellsy_type: str, sellsy_id: int | str, host: str = "www.sellsy.com", *, third_type: str = "client"
) -> str | None:
    """Link to the object in Sellsy's web app (one table for the whole code base: ``sellsy_rules``)."""
    try:
        return sellsy_rules.deep_link(sellsy_type, int(sellsy_id), host=host, third_type=third_type)
    except sellsy_rules.UnknownValue:
        return None


def source_outcome(source_type: str, status: str | None) -> Literal["won", "lost", "other"]:
    won, lost = (ESTIMATE_WON, ESTIMATE_LOST) if source_type == "estimate" else (OPPORTUNITY_WON, OPPORTUNITY_LOST)
    if status in won:
        return "won"
    if status in lost:
        return "lost"
    return "other"


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


# --- the record --------------------------------------------------------------------------------


class _Open(BaseModel):
    # extra="allow": the outbound side adds completion data (used items, report, created links).
    model_config = ConfigDict(extra="allow")


class Person(_Open):
    id: int | None = None
    name: str | None = None
    phone: str | None = None
    mobile: str | None = None
    email: str | None = None


class Address(_Open):
    id: int | None = None
    name: str | None = None
    lines: list[str] = Field(default_factory=list)
    postal_code: str | None = None
    city: str | None = None
    country_code: str | None = None
    country: str | None = None
    origin: Literal["document", "customer", "field"] = "document"

    def one_line(self) -> str:
        parts = [*self.lines, " ".join(p for p in (self.postal_code, self.city) if p), self.country or ""]
        return ", ".join(p for p in parts if p)


class DescriptionRow(_Open):
    type: str
    reference: str | None = None
    description: str | None = None
    quantity: str | None = None
    unit_amount: str | None = None
    amount_excl_tax: str | None = None


class Note(_Open):
    id: int | None = None
    text: str
    created: str | None = None


class Flag(_Open):
    code: str
    reason: str
    at: str


class Intervention(_Open):
    id: str
    account_id: str
    status: InterventionStatus = "new"
    source_type: SourceType
    source_id: int
    source_status: str | None = None
    estimate_id: int | None = None
    opportunity_id: int | None = None
    customer_id: str | None = None
    customer_name: str | None = None
    sales_rep: Person | None = None
    amount_excl_tax: str | None = None
    currency: str | None = None
    subject: str | None = None
    number: str | None = None
    rows: list[DescriptionRow] = Field(default_factory=list)
    public_note: str | None = None
    private_notes: list[Note] = Field(default_factory=list)
    contact: Person | None = None
    address: Address | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    attributes: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    deep_link: str | None = None
    flags: list[Flag] = Field(default_factory=list)
    due_date: str | None = None
    parent_id: str | None = None
    recurrence: str | None = None
    completed_at: str | None = None
    created_at: str = Field(default_factory=utcnow_iso)
    updated_at: str = Field(default_factory=utcnow_iso)
    version: int = 1

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


# --- building from Sellsy objects ------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "", 0, "0") else None
    except (TypeError, ValueError):
        return None


def _amount(value: Any) -> str | None:
    if value is None or value == "":
        return None
    try:
        return str(Decimal(str(value)))
    except InvalidOperation:
        return None


def full_name(person: Mapping[str, Any] | None) -> str | None:
    """Staff use ``firstname``/``lastname``; contacts and individuals ``first_name``/``last_name``."""
    if not person:
        return None
    first = person.get("first_name", person.get("firstname"))
    last = person.get("last_name", person.get("lastname"))
    name = " ".join(p for p in (_text(first), _text(last)) if p)
    return name or _text(person.get("name"))


def person(data: Mapping[str, Any] | None) -> Person | None:
    if not data:
        return None
    return Person(
        id=data.get("id") if isinstance(data.get("id"), int) else None,
        name=full_name(data),
        phone=_text(data.get("phone_number")),
        mobile=_text(data.get("mobile_number")),
        email=_text(data.get("email")),
    )


def address(data: Mapping[str, Any] | None, origin: Literal["document", "customer", "field"]) -> Address | None:
    if not data:
        return None
    lines = [t for t in (_text(data.get(f"address_line_{i}")) for i in range(1, 5)) if t]
    return Address(
        id=data.get("id") if isinstance(data.get("id"), int) else None,
        name=_text(data.get("name")),
        lines=lines,
        postal_code=_text(data.get("postal_code")),
        city=_text(data.get("city")),
        country_code=_text(data.get("country_code")),
        country=_text(data.get("country")),
        origin=origin,
    )


def description_rows(rows: Iterable[Mapping[str, Any]]) -> list[DescriptionRow]:
    """Every row the customer saw, in order; layout-only rows (breaks, sub-totals) are left out."""
    out = []
    for row in rows:
        kind = str(row.get("type") or "")
        if kind in {"break-line", "break-page", "sub-total"}:
            continue
        if kind in {"comment", "title"}:
            out.append(DescriptionRow(type=kind, description=_text(row.get("text"))))
            continue
        out.append(
            DescriptionRow(
                type=kind,
                reference=_text(row.get("reference")),
                description=_text(row.get("description")),
                quantity=_amount(row.get("quantity")),
                unit_amount=_amount(row.get("unit_amount")),
                amount_excl_tax=_amount(row.get("amount_tax_exc")),
            )
        )
    return out


def notes_from_comments(comments: Iterable[Mapping[str, Any]]) -> list[Note]:
    notes = [
        Note(
            id=c.get("id") if isinstance(c.get("id"), int) else None,
            text=text,
            created=_text(c.get("created")),
        )
        for c in comments
        if (text := _text(c.get("description")))
    ]
    return sorted(notes, key=lambda n: (n.created or "", n.id or 0))


@dataclass
class SourceContext:
    """Everything read from Sellsy for one estimate or opportunity (gathered by the inbound flow)."""

    account_id: str
    source_type: SourceType
    document: Mapping[str, Any]
    owner: Mapping[str, Any] | None = None
    contact: Mapping[str, Any] | None = None
    customer: Mapping[str, Any] | None = None
    customer_type: str | None = None
    document_address: Mapping[str, Any] | None = None
    customer_address: Mapping[str, Any] | None = None
    rows: Sequence[Mapping[str, Any]] | None = None
    comments: Sequence[Mapping[str, Any]] | None = None
    custom_fields: dict[str, Any] | None = None
    attributes: dict[str, Any] | None = None
    tags: list[str] | None = None
    recurrence: str | None = None
    deep_link_host: str = "www.sellsy.com"


def build(ctx: SourceContext) -> Intervention:
    doc = ctx.document
    source_id = int(doc["id"])
    if ctx.source_type == "estimate":
        amounts = doc.get("amounts") or {}
        amount = _amount(amounts.get("total_excl_tax", amounts.get("total_after_discount_excl_tax")))
        currency, subject = _text(doc.get("currency")), _text(doc.get("subject"))
        opportunity_ids = [r.get("id") for r in doc.get("related") or [] if r.get("type") == "opportunity"]
        estimate_id: int | None = source_id
        opportunity_id: int | None = _int(opportunity_ids[0]) if opportunity_ids else None
    else:
        amount_obj = doc.get("amount") or {}
        amount, currency = _amount(amount_obj.get("value")), _text(amount_obj.get("currency"))
        subject = _text(doc.get("name"))
        estimate_id, opportunity_id = _int(doc.get("main_doc_id")), source_id
    customer = ctx.customer or {}
    addr = address(ctx.document_address, "document") or address(ctx.customer_address, "customer")
    return Intervention(
        id=intervention_id(ctx.source_type, source_id),
        account_id=ctx.account_id,
        source_type=ctx.source_type,
        source_id=source_id,
        source_status=_text(doc.get("status")),
        estimate_id=estimate_id,
        opportunity_id=opportunity_id,
        customer_id=customer_id(ctx.customer_type, customer["id"]) if ctx.customer_type and customer else None,
        customer_name=full_name(customer) if customer else _text(doc.get("company_name")),
        sales_rep=person(ctx.owner),
        amount_excl_tax=amount,
        currency=currency,
        subject=subject,
        number=_text(doc.get("number")),
        rows=description_rows(ctx.rows if ctx.rows is not None else doc.get("rows") or []),
        public_note=_text(doc.get("note")),
        private_notes=notes_from_comments(ctx.comments or []),
        contact=person(ctx.contact),
        address=addr,
        custom_fields=dict(ctx.custom_fields or {}),
        attributes=dict(ctx.attributes or {}),
        tags=list(ctx.tags or []),
        recurrence=ctx.recurrence,
        deep_link=deep_link(ctx.source_type, source_id, ctx.deep_link_host),
    )


def flag_for(source_type: str, status: str | None, at: str | None = None) -> Flag:
    label = "quote" if source_type == "estimate" else "opportunity"
    return Flag(
        code=f"{source_type}_{status}",
        reason=f"the {label} was marked {status} in Sellsy after its intervention was created",
        at=at or utcnow_iso(),
    )


def next_occurrence(parent: Intervention, *, due_date: str, recurrence: str) -> Intervention:
    """The follow-up maintenance visit: same customer and context, fresh state, due one period later."""
    keep = parent.model_dump(
        include={
            "account_id", "source_type", "source_id", "estimate_id", "opportunity_id", "customer_id",
            "customer_name", "sales_rep", "subject", "number", "rows", "public_note", "contact", "address",
            "custom_fields", "attributes", "tags", "deep_link",
        }
    )  # fmt: skip
    now = utcnow_iso()
    return Intervention(
        **keep,
        id=recurring_id(parent.id),
        status="new",
        parent_id=parent.id,
        recurrence=recurrence,
        due_date=due_date,
        created_at=now,
        updated_at=now,
    )


# --- field-side customers --------------------------------------------------------------------


class FieldCustomer(_Open):
    """The customer as the field side sees it: who to call and where to go."""

    id: str
    account_id: str
    sellsy_type: Literal["company", "individual"]
    sellsy_id: int
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    main_contact: Person | None = None
    address: Address | None = None
    tags: list[str] = Field(default_factory=list)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    deep_link: str | None = None
    archived: bool = False
    deleted_in_sellsy: bool = False
    created_at: str = Field(default_factory=utcnow_iso)
    updated_at: str = Field(default_factory=utcnow_iso)
    version: int = 1

    def synced_view(self) -> dict[str, Any]:
        """The fields Sellsy is master of: what an inbound update compares before writing."""
        return self.model_dump(
            include={"name", "email", "phone", "main_contact", "address", "tags", "custom_fields", "archived",
                     "deleted_in_sellsy"}
        )  # fmt: skip
