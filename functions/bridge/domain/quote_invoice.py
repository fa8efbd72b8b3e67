"""Quote → invoice, written out in full and checked after the write. Pure: no I/O.

Sellsy's file does not say that ``POST /invoices`` with ``parent`` copies anything from the quote, so
the invoice body carries everything that makes the invoice equal to the quote: its rows with their
discounts, the global discount, the currency, the quote's own addresses and contact, its payment terms
(through the preference cascade) and its service period. The invoice is then read back and compared
with the quote (``differences``); an invoice that differs is never validated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from bridge.domain.sellsy_rules import CONVERTIBLE_ESTIMATE_STATUSES, resolve_preference
from bridge.domain.triggers import OutboundRuleError

# Fields each row type accepts on write (Sellsy's row schemas, the read-only ones left out).
_PRICED_COMMON = ("unit_amount", "tax_id", "quantity", "discount", "accounting_code_id", "analytic_code", "is_optional")
WRITABLE_ROW_FIELDS: dict[str, tuple[str, ...]] = {
    "single": ("unit_id", "purchase_amount", "reference", "description", *_PRICED_COMMON),
    "catalog": (
        "related",
        "eco_tax",
        "purchase_amount",
        "unit_id",
        "warehouse_id",
        "sku_id",
        "reference",
        "description",
        *_PRICED_COMMON,
    ),
    "shipping": ("related", *_PRICED_COMMON),
    "packaging": ("related", *_PRICED_COMMON),
    "comment": ("text",),
    "title": ("text",),
    "sub-total": (),
    "break-line": (),
    "break-page": (),
}
# A row description may be null on purpose: absent, Sellsy would take the catalogue item's own.
_NULLABLE_ROW_FIELDS = frozenset({"description", "analytic_code"})
# Quote fields copied as they are when set (same name and meaning on the invoice).
COPIED_FIELDS = (
    "currency",
    "invoicing_address_id",
    "delivery_address_id",
    "issuer_address_id",
    "rate_category_id",
    "note",
    "vat_mode",
    "bank_account_id",
    "check_label_id",
    "analytic_code",
    "sale_type",
)
# Totals compared after the write: quote amount key → invoice amount key.
COMPARED_TOTALS = {
    "total_raw_excl_tax": "total_raw_excl_tax",
    "total_after_discount_excl_tax": "total_after_discount_excl_tax",
    "total_excl_tax": "total_excl_tax",
    "total": "total_incl_tax",
}
_COMPARED_ROW_FIELDS = ("type", "quantity", "unit_amount", "tax_id", "amount_tax_exc", "description", "text")

# Why a quote in these statuses is not converted: the named skip the exchange log shows.
NOT_CONVERTED = {
    "advanced": "a deposit was invoiced on this quote; its final invoice must deduct it (a person does that in Sellsy)",
    "partialinvoiced": "part of this quote is invoiced already; invoicing all of it again would bill that part twice",
    "invoiced": "this quote is invoiced already in Sellsy",
}


class QuoteNotConverted(OutboundRuleError):
    """A named skip: nothing is created, the exchange says why, a replay tries again."""

    code = "quote_not_converted"
    skip = True


class InvoiceDiffersFromQuote(OutboundRuleError):
    code = "invoice_differs_from_quote"


def conversion_refusal(status: str | None) -> str | None:
    """Why a quote in this status is not converted (None: it is converted)."""
    if status in NOT_CONVERTED:
        return NOT_CONVERTED[status]
    if status not in CONVERTIBLE_ESTIMATE_STATUSES:
        return f"Sellsy converts quotes only in the statuses {', '.join(sorted(CONVERTIBLE_ESTIMATE_STATUSES))}"
    return None


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def write_discount(discount: Mapping[str, Any] | None) -> dict[str, str] | None:
    """A discount as Sellsy takes it on write: ``{type, value}``; None when there is none.

    Rows read back as ``{type, value, total}``; a document's global discount as ``{type, percent, amount}``.
    """
    if not discount or discount.get("type") not in ("percent", "amount"):
        return None
    kind = str(discount["type"])
    raw = discount.get("value")
    if raw is None:
        raw = discount.get("percent") if kind == "percent" else discount.get("amount")
    value = _decimal(raw)
    if value is None or value == 0:
        return None
    return {"type": kind, "value": str(raw).strip()}  # as entered: Sellsy keeps and shows the value so


def write_row(row: Mapping[str, Any], index: int) -> dict[str, Any]:
    row_type = str(row.get("type"))
    if row_type not in WRITABLE_ROW_FIELDS:
        raise OutboundRuleError(
            f"quote row {index + 1} is of type {row_type!r}, which an invoice cannot be given",
            details={"row": index + 1, "type": row_type},
        )
    out: dict[str, Any] = {"type": row_type}
    for name in WRITABLE_ROW_FIELDS[row_type]:
        if name not in row:
            continue
        value = row[name]
        if name == "discount":
            value = write_discount(value)
        elif name == "related" and isinstance(value, Mapping):
            value = {k: value[k] for k in ("id", "type", "declination_id") if value.get(k) is not None}
        elif name in ("unit_id", "accounting_code_id", "warehouse_id", "sku_id") and not value:
            value = None  # 0 means "none" on read; the file wants an id ≥ 1 or nothing
        if value is None and name not in _NULLABLE_ROW_FIELDS:
            continue
        out[name] = value
    return out


def invoice_fields(
    quote: Mapping[str, Any],
    *,
    customer_preferences: Mapping[str, Any] | None = None,
    account_preferences: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What ``POST /invoices`` must carry so that the invoice equals the quote (besides related/subject)."""
    body: dict[str, Any] = {}
    for name in COPIED_FIELDS:
        value = quote.get(name)
        if value not in (None, "", 0):
            body[name] = value
    discount = write_discount(quote.get("discount"))
    if discount:
        body["discount"] = discount
    body["rows"] = [write_row(row, i) for i, row in enumerate(quote.get("rows") or [])]
    terms = payment_terms(quote, customer_preferences, account_preferences)
    if terms.value is not None:
        body["payment_terms"] = {"id": int(terms.value)}
    period = service_period(quote.get("service_dates"))
    if period:
        body["service_dates"] = period
    return body


def quote_payment_terms_id(quote: Mapping[str, Any]) -> int | None:
    """The payment terms set on the quote itself (``embed[]=payment_terms``), if any."""
    terms = ((quote.get("_embed") or {}).get("payment_terms") or {}).get("settings") or {}
    value = terms.get("value") if isinstance(terms, Mapping) else None
    found = value.get("id") if isinstance(value, Mapping) else None
    return int(found) if found else None


def payment_terms(
    quote: Mapping[str, Any],
    customer_preferences: Mapping[str, Any] | None,
    account_preferences: Mapping[str, Any] | None,
) -> Any:
    """Sellsy's cascade: the quote's own terms, else the customer's, else the account's.

    Nothing found means nothing is sent, and Sellsy applies its own default.
    """
    return resolve_preference(
        "payment_terms_id",
        document={"payment_terms_id": quote_payment_terms_id(quote)},
        customer=customer_preferences,
        account=account_preferences,
    )


def service_period(dates: Mapping[str, Any] | None) -> dict[str, str] | None:
    """A service period Sellsy accepts: both dates, the end after the start (the file's own rule)."""
    if not dates:
        return None
    start, end = str(dates.get("start") or ""), str(dates.get("end") or "")
    if not start or not end or end <= start:
        return None
    return {"start": start, "end": end}


# --- the check after the write -------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    da, db = _decimal(a), _decimal(b)
    if da is not None and db is not None:
        return da == db
    return (a or None) == (b or None)


def _row_label(index: int, row: Mapping[str, Any]) -> str:
    name = row.get("reference") or row.get("description") or row.get("text") or ""
    return f"row {index + 1} ({row.get('type')}{' ' + str(name)[:40] if name else ''})"


def differences(quote: Mapping[str, Any], invoice: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every way the invoice read back from Sellsy differs from its quote; empty when they are equal."""
    found: list[dict[str, Any]] = []

    def differ(field: str, quote_value: Any, invoice_value: Any) -> None:
        if not _same(quote_value, invoice_value):
            found.append({"field": field, "quote": quote_value, "invoice": invoice_value})

    differ("currency", quote.get("currency"), invoice.get("currency"))
    quote_amounts, invoice_amounts = quote.get("amounts") or {}, invoice.get("amounts") or {}
    for quote_key, invoice_key in COMPARED_TOTALS.items():
        differ(f"amounts.{invoice_key}", quote_amounts.get(quote_key), invoice_amounts.get(invoice_key))
    differ(
        "discount",
        write_discount(quote.get("discount")),
        write_discount(invoice.get("discount")),
    )
    for name in ("invoicing_address_id", "delivery_address_id"):
        if quote.get(name):  # a quote with no address of its own leaves the customer's to Sellsy
            differ(name, quote.get(name), invoice.get(name))
    quote_rows, invoice_rows = list(quote.get("rows") or []), list(invoice.get("rows") or [])
    differ("rows.count", len(quote_rows), len(invoice_rows))
    for index, (q, i) in enumerate(zip(quote_rows, invoice_rows, strict=False)):
        label = _row_label(index, q)
        for name in _COMPARED_ROW_FIELDS:
            if name in q or name in i:
                differ(f"{label}.{name}", q.get(name), i.get(name))
        differ(f"{label}.related", (q.get("related") or {}).get("id"), (i.get("related") or {}).get("id"))
        differ(f"{label}.discount", write_discount(q.get("discount")), write_discount(i.get("discount")))
    return found


def describe(found: Sequence[Mapping[str, Any]]) -> str:
    return "; ".join(f"{d['field']}: quote {d['quote']!r}, invoice {d['invoice']!r}" for d in found)
