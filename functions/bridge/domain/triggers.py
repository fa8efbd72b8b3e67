"""Outbound trigger rules (F5): which actions a completed intervention starts, and how each
created Sellsy object is marked so that an interrupted action is found again instead of re-created.

Pure functions, no I/O. The intervention is a plain mapping (as stored by the field side).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from bridge.domain.accounts import (
    AddComment,
    ConvertQuote,
    InvoiceFromItems,
    Trigger,
    TriggerAction,
    UploadReport,
)

# A marker stays short: it once had to fit invoice.order_reference (100 characters), and old invoices
# still carry it there.
MAX_ORDER_REFERENCE = 100
# The document custom field that holds markers: simple text, on documents, never printed on the PDF.
MARKER_FIELD_CODE = "sellsy-bridge-marker"
# The comment text Sellsy stores is free text; keep it well below any sane limit.
MAX_COMMENT_CHARS = 5000
_SLUG = re.compile(r"[^A-Za-z0-9]+")
_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")


class OutboundRuleError(ValueError):
    """A rule cannot be applied to this intervention; the message names the problem for the exchange log."""

    code = "outbound_rule_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details or {}


class UnknownSkus(OutboundRuleError):
    code = "unknown_sku"


class TemplateFieldUnknown(OutboundRuleError):
    code = "unknown_template_field"


class MissingTarget(OutboundRuleError):
    code = "missing_target"


@dataclass(frozen=True)
class PlannedAction:
    """One action of one matching trigger, with the stable key the ledger and the marker use."""

    trigger: str
    index: int
    action: TriggerAction

    @property
    def kind(self) -> str:
        return self.action.type

    @property
    def key(self) -> str:
        """Ledger sort-key part: unique per (trigger, action position), stable across runs."""
        return f"{self.trigger}#{self.index}"


def plan_actions(triggers: Iterable[Trigger], intervention: Mapping[str, Any]) -> list[PlannedAction]:
    """Actions of every trigger whose conditions hold, in configuration order."""
    planned: list[PlannedAction] = []
    for trigger in triggers:
        if trigger.when.matches(intervention):
            planned.extend(PlannedAction(trigger.name, i, action) for i, action in enumerate(trigger.actions))
    return planned


def action_tag(trigger: str, index: int) -> str:
    """Short, readable and stable name of an action inside a marker (slug + hash against slug clashes)."""
    slug = _SLUG.sub("-", trigger).strip("-").lower()[:20] or "t"
    digest = hashlib.sha256(trigger.encode()).hexdigest()[:6]
    return f"{slug}.{digest}.{index}"


def marker(intervention_id: str, trigger: str, index: int) -> str:
    """The tag of the object an action creates: ``[sb:{intervention}:{action}]``, at most 100 characters
    (a very long intervention id is hashed). Invoices keep it in a private custom field (never printed);
    comments and files are recognised by their own content instead."""
    tag = action_tag(trigger, index)
    text = f"[sb:{intervention_id}:{tag}]"
    if len(text) <= MAX_ORDER_REFERENCE:
        return text
    short = hashlib.sha256(intervention_id.encode()).hexdigest()[:24]
    return f"[sb:h{short}:{tag}]"


def report_file_name(intervention_id: str) -> str:
    """The file name is the report's marker: one report per intervention per target object."""
    safe = _SLUG.sub("-", intervention_id).strip("-") or "intervention"
    return f"report-{safe[:80]}.pdf"


# --- targets -------------------------------------------------------------------------------------


def target_document(intervention: Mapping[str, Any], target: str) -> tuple[str, int]:
    """(Sellsy type, id) of the estimate or opportunity an action points at, or a clear error."""
    raw = intervention.get(f"{target}_id")
    if raw in (None, ""):
        raise MissingTarget(
            f"intervention {intervention.get('id')} has no {target}; the action needs one",
            details={"target": target},
        )
    try:
        return target, int(str(raw))
    except ValueError as exc:
        raise MissingTarget(f"{target} id {raw!r} is not a Sellsy id", details={"target": target}) from exc


# --- comments ------------------------------------------------------------------------------------

# What a template is rendered against when it is saved: every field filled, so a typo shows at once.
SAMPLE_INTERVENTION: dict[str, Any] = {
    "id": "int-sample",
    "number": "INT-0042",
    "subject": "Boiler maintenance",
    "customer": {"name": "Dupont Plomberie"},
    "technician": "Camille Martin",
    "notes": "Replaced the pressure valve.",
    "completed_at": "2026-03-14T10:30:00+00:00",
    "address": {"lines": ["12 rue des Lilas"], "postal_code": "69003", "city": "Lyon", "country": "FR"},
    "used_items": [{"sku": "VALVE-3B", "quantity": "1"}],
    "estimate_id": "1201",
    "opportunity_id": "88",
    "status": "completed",
    "tags": [],
}


def template_facts(intervention: Mapping[str, Any]) -> dict[str, str]:
    """The intervention fields a comment template may use, flattened to text."""
    customer = intervention.get("customer") or {}
    address = intervention.get("address") or {}
    items = intervention.get("used_items") or []
    completed_at = str(intervention.get("completed_at") or "")
    return {
        "intervention_id": str(intervention.get("id") or ""),
        "number": str(intervention.get("number") or ""),
        "subject": str(intervention.get("subject") or ""),
        "customer_name": str(customer.get("name") or intervention.get("customer_name") or ""),
        "technician": str(intervention.get("technician") or ""),
        "notes": str(intervention.get("notes") or ""),
        "completed_at": completed_at,
        "completed_date": completed_at[:10],
        "address": format_address(address),
        "used_items": ", ".join(f"{i.get('quantity')} × {i.get('sku')}" for i in items),
        "used_items_count": str(len(items)),
        "estimate_id": str(intervention.get("estimate_id") or ""),
        "opportunity_id": str(intervention.get("opportunity_id") or ""),
    }


def render_comment(template: str, intervention: Mapping[str, Any]) -> str:
    """``{field}`` placeholders replaced by intervention facts; the same text on every attempt, which is
    how an interrupted comment is found again (a comment carries no marker: staff read it).

    An unknown placeholder is an error naming it (never a silent empty string), so that a typo in a
    template shows up in the exchange log.
    """
    facts = template_facts(intervention)
    unknown = sorted({name for name in _PLACEHOLDER.findall(template) if name not in facts})
    if unknown:
        raise TemplateFieldUnknown(
            f"comment template uses unknown field(s): {', '.join(unknown)}",
            details={"unknown": unknown, "known": sorted(facts)},
        )
    text = _PLACEHOLDER.sub(lambda m: facts[m.group(1)], template).strip()
    return text[:MAX_COMMENT_CHARS]


def format_address(address: Mapping[str, Any]) -> str:
    """One line; accepts the intervention's ``lines`` list or Sellsy's ``address_line_N`` fields."""
    lines = list(address.get("lines") or []) or [
        address.get(k) for k in ("address_line_1", "address_line_2", "address_line_3", "address_line_4")
    ]
    city = " ".join(str(p) for p in (address.get("postal_code"), address.get("city")) if p)
    country = address.get("country") or address.get("country_code")
    parts = [str(p) for p in [*lines, city, country] if p]
    return ", ".join(parts)


# --- invoices ------------------------------------------------------------------------------------


def decimal_text(value: Any, *, what: str) -> str:
    """Sellsy decimals are JSON strings; refuse anything that is not a finite number."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise OutboundRuleError(f"{what} {value!r} is not a number") from exc
    if not number.is_finite():
        raise OutboundRuleError(f"{what} {value!r} is not a finite number")
    return format(number.normalize(), "f")


def invoice_rows_from_items(
    used_items: Sequence[Mapping[str, Any]],
    catalogue: Mapping[str, Mapping[str, Any]],
    tax_ids: Mapping[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Catalogue rows for the used items; every SKU must match a Sellsy item (by reference).

    ``catalogue`` maps SKU → Sellsy item ({id, type, name, ...}); ``tax_ids`` maps a rate given by value
    (as normalised text, e.g. "20") → the account's tax id. Any unknown SKU fails the whole invoice:
    a free-text line would silently invoice something the catalogue does not know.
    """
    if not used_items:
        raise OutboundRuleError("the intervention has no used items to invoice")
    unknown = sorted({str(i.get("sku")) for i in used_items if str(i.get("sku")) not in catalogue})
    if unknown:
        raise UnknownSkus(
            f"no Sellsy catalogue item has the reference {', '.join(unknown)}; nothing was invoiced",
            details={"unknown_skus": unknown},
        )
    rows: list[dict[str, Any]] = []
    for used in used_items:
        sku = str(used.get("sku"))
        item = catalogue[sku]
        item_type = str(item.get("type") or "product")
        row: dict[str, Any] = {"quantity": decimal_text(used.get("quantity"), what=f"quantity of {sku}")}
        if item_type in ("shipping", "packaging"):
            row.update(type=item_type, related={"type": item_type, "id": int(item["id"])})
        else:
            row.update(
                type="catalog",
                related={"type": item_type, "id": int(item["id"])},
                reference=sku,
                description=str(used.get("description") or item.get("name") or sku),
            )
        if used.get("unit_price") is not None:
            row["unit_amount"] = decimal_text(used["unit_price"], what=f"unit price of {sku}")
        if used.get("tax_rate") is not None:
            rate = decimal_text(used["tax_rate"], what=f"tax rate of {sku}")
            if not tax_ids or rate not in tax_ids:
                raise OutboundRuleError(
                    f"tax rate {rate} % (item {sku}) matches no active tax of the account",
                    details={"tax_rate": rate},
                )
            row["tax_id"] = tax_ids[rate]
        rows.append(row)
    return rows


def invoice_subject(intervention: Mapping[str, Any]) -> str:
    """What the customer reads as the invoice's subject: the intervention's own, no marker."""
    return str(intervention.get("subject") or f"Intervention {intervention.get('number') or intervention.get('id')}")


def invoice_related(intervention: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The invoiced customer (company or individual) plus the opportunity when there is one."""
    customer = customer_ref(intervention)
    related: list[dict[str, Any]] = [{"type": customer[0], "id": customer[1]}]
    if intervention.get("opportunity_id"):
        related.append({"type": "opportunity", "id": int(str(intervention["opportunity_id"]))})
    return related


def customer_ref(intervention: Mapping[str, Any]) -> tuple[str, int]:
    """(company|individual, id) of the intervention's Sellsy customer (``customer_id`` = ``company-12``)."""
    customer = intervention.get("customer") or {}
    kind = customer.get("sellsy_type") or customer.get("type")
    raw_id = customer.get("sellsy_id") or customer.get("id")
    field_customer = str(intervention.get("customer_id") or "")
    if not kind and "-" in field_customer:
        kind, _, raw_id = field_customer.rpartition("-")
    if kind not in ("company", "individual") or raw_id in (None, ""):
        raise MissingTarget(
            f"intervention {intervention.get('id')} has no Sellsy company or individual to invoice",
            details={"customer": {"type": kind, "id": raw_id}},
        )
    return str(kind), int(str(raw_id))


def is_invoicing(action: TriggerAction) -> bool:
    return isinstance(action, ConvertQuote | InvoiceFromItems)


def invoicing_hold(intervention: Mapping[str, Any]) -> str | None:
    """Why a flagged intervention (its quote refused or cancelled, its opportunity lost...) is not invoiced.

    None when it may be invoiced: no flag, or the completion said ``force``.
    """
    flags = [f for f in intervention.get("flags") or [] if isinstance(f, Mapping)]
    if not flags or (intervention.get("completion") or {}).get("force"):
        return None
    reasons = "; ".join(str(f.get("reason") or f.get("code")) for f in flags)
    return f'not invoiced: {reasons}. Complete it again with "force": true to invoice it anyway'


def action_summary(action: TriggerAction) -> dict[str, Any]:
    """What the exchange log shows about an action's configuration."""
    summary: dict[str, Any] = {"type": action.type}
    if isinstance(action, ConvertQuote | InvoiceFromItems):
        summary["validate"] = action.validate_invoice
    if isinstance(action, UploadReport | AddComment):
        summary["target"] = action.target
    return summary
