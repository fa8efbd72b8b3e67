"""The import's phases, each advanced one page (or one unit) at a time so every step ends in a checkpoint.

A phase step receives the run `state` (JSON, persisted after the step) and a `Ctx` (client, converter,
clock) and returns True when the phase is finished. It reads `state["cursor"]` and writes the next cursor
into it; counters go to `state["counters"][stream]`.

Write order inside one page makes a crash at any point harmless: lines are written before their
document, and the document item (with its summary hash) is the marker that the detail was imported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import ClientError

from bridge.adapters import records_repo
from bridge.domain import revenue
from bridge.domain.currency import BaseCurrencyConverter
from bridge.flows.importer.merge import merge_record

PAGE_LIMIT = 100
Mapped = tuple[str, dict[str, Any], dict[str, Any]]  # (record key, mapped data, extra attributes)
CUSTOMER_OVERLAP = dt.timedelta(hours=2)  # webhook-independent safety margin on `updated_at`
SWEPT_STREAMS = (revenue.PRODUCTS, revenue.PRICES, revenue.INVOICES, revenue.CREDIT_NOTES)

DOCUMENTS = {
    "invoices": ("invoice", "/invoices/search", "/invoices/{id}", revenue.INVOICES),
    "credit_notes": ("credit_note", "/credit-notes/search", "/credit-notes/{id}", revenue.CREDIT_NOTES),
}


class Client(Protocol):
    def get(self, path: str, *, params: dict[str, Any] | None = None) -> Any: ...

    def iter_pages(self, path: str, *, search: bool, **kwargs: Any) -> Iterable[Any]: ...


@dataclass
class Ctx:
    account_id: str
    run_id: str
    client: Client
    converter: BaseCurrencyConverter
    now: Callable[[], str]
    pool: ThreadPoolExecutor
    export_bucket: str | None = None
    hooks: dict[str, Any] = field(default_factory=dict)


def phase_names() -> list[str]:
    return [
        "reference",
        "customers:company",
        "customers:individual",
        "products",
        "invoices",
        "credit_notes",
        *(f"sweep:{s}" for s in SWEPT_STREAMS),
        *(f"export:{s}" for s in revenue.STREAMS),
    ]


def count(state: dict[str, Any], stream: str, outcome: str, n: int = 1) -> None:
    per = state["counters"].setdefault(stream, {})
    per[outcome] = per.get(outcome, 0) + n


def _first_page(client: Client, path: str, *, search: bool, offset: str | None, **kwargs: Any) -> Any:
    """Exactly one page from the cursor (the client's iterator is lazy: nothing more is fetched)."""
    return next(iter(client.iter_pages(path, search=search, offset=offset, limit=PAGE_LIMIT, **kwargs)))


def _all_items(client: Client, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in client.iter_pages(path, search=False, limit=PAGE_LIMIT):
        items.extend(page.items)
    return items


# --- reference data ---


def step_reference(state: dict[str, Any], ctx: Ctx) -> bool:
    """Read once per run and kept in the run state (small), so later chunks never re-read it."""
    client = ctx.client
    taxes = _all_items(client, "/taxes")
    units = _all_items(client, "/units")
    currencies = _all_items(client, "/currencies")
    categories = _all_items(client, "/rate-categories")
    default_currency = next((c.get("code") for c in currencies if c.get("is_default")), None)
    state["reference"] = {
        "default_currency": default_currency,
        "rate_categories": {
            str(c["id"]): {"label": c.get("label"), "currency": c.get("currency")} for c in categories
        },
        "counts": {"taxes": len(taxes), "units": len(units), "currencies": len(currencies)},
    }
    return True


# --- merging a batch of mapped records ---


def write_records(
    state: dict[str, Any],
    ctx: Ctx,
    stream: str,
    mapped: list[tuple[str, dict[str, Any], dict[str, Any]]],
    stored: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Merge (key, data, extra attributes) into storage, count outcomes; one batch per call."""
    if not mapped:
        return
    if stored is None:
        stored = records_repo.get_many(ctx.account_id, stream, [k for k, _, _ in mapped])
    now = ctx.now()
    with records_repo.RecordWriter() as writer:
        for key, data, extra in mapped:
            merged = merge_record(
                pk=records_repo.record_key(ctx.account_id, stream, key)["pk"],
                key=key,
                stream=stream,
                account_id=ctx.account_id,
                data=data,
                stored=stored.get(key),
                run_id=ctx.run_id,
                now=now,
                extra=extra,
            )
            count(state, stream, merged.outcome)
            if merged.item is not None:
                writer.put(merged.item)


# --- customers ---


def step_customers(kind: str) -> Callable[[dict[str, Any], Ctx], bool]:
    path = "/companies/search" if kind == "company" else "/individuals/search"

    def step(state: dict[str, Any], ctx: Ctx) -> bool:
        since = state.get("customers_since")
        filters = {"updated_at": {"start": since}} if since else {}
        cursor = state["cursor"]
        page = _first_page(ctx.client, path, search=True, offset=cursor.get("offset"), filters=filters)
        mapping = revenue.MAPPINGS[revenue.CUSTOMERS]
        mapped: list[Mapped] = []
        for obj in page.items:
            src = {"kind": kind, "obj": obj}
            mapped.append((mapping.key(src), mapping.map(src), {}))
        write_records(state, ctx, revenue.CUSTOMERS, mapped)
        cursor["offset"] = page.next_offset
        return page.next_offset is None

    return step


# --- products and their prices ---


def step_products(state: dict[str, Any], ctx: Ctx) -> bool:
    cursor = state["cursor"]
    page = _first_page(
        ctx.client,
        "/items/search",
        search=True,
        offset=cursor.get("offset"),
        filters={"type": list(revenue.PRODUCT_ITEM_TYPES), "is_archived": False},
    )
    # Archived items are filtered by Sellsy; the check here only protects against a lax filter.
    items = [
        i for i in page.items if not i.get("is_archived") and i.get("type") in revenue.PRODUCT_ITEM_TYPES
    ]
    price_lists = list(
        ctx.pool.map(lambda item: _all_items(ctx.client, f"/items/{item['id']}/prices"), items)
    )
    reference = state.get("reference") or {}
    categories = reference.get("rate_categories") or {}
    price_mapping = revenue.MAPPINGS[revenue.PRICES]
    prices: list[Mapped] = []
    for item, rows in zip(items, price_lists, strict=True):
        for price in rows:
            src = {
                "item": item,
                "price": price,
                "category": categories.get(str(price.get("rate_category_id"))),
                "default_currency": reference.get("default_currency"),
            }
            prices.append((price_mapping.key(src), price_mapping.map(src), {}))
    write_records(state, ctx, revenue.PRICES, prices)
    product_mapping = revenue.MAPPINGS[revenue.PRODUCTS]
    products: list[Mapped] = [
        (product_mapping.key({"item": i}), product_mapping.map({"item": i}), {}) for i in items
    ]
    write_records(state, ctx, revenue.PRODUCTS, products)
    cursor["offset"] = page.next_offset
    return page.next_offset is None


# --- documents ---


def step_documents(name: str) -> Callable[[dict[str, Any], Ctx], bool]:
    kind, search_path, detail_path, stream = DOCUMENTS[name]
    line_stream = revenue.LINE_STREAM[stream]

    def fetch(summary: dict[str, Any], client: Client) -> tuple[dict[str, Any], list[int]]:
        detail = client.get(detail_path.format(id=summary["id"]))
        linked: list[int] = []
        if kind == "credit_note":
            linked = [int(i["id"]) for i in _all_items(client, f"/credit-notes/{summary['id']}/invoices")]
        return detail, linked

    def step(state: dict[str, Any], ctx: Ctx) -> bool:
        cursor = state["cursor"]
        page = _first_page(ctx.client, search_path, search=True, offset=cursor.get("offset"), filters={})
        keys = [str(doc["id"]) for doc in page.items]
        stored = records_repo.get_many(ctx.account_id, stream, keys)
        hashes = {str(doc["id"]): revenue.summary_hash(doc) for doc in page.items}
        changed = [
            doc
            for doc in page.items
            if (stored.get(str(doc["id"])) or {}).get("summary_hash") != hashes[str(doc["id"])]
        ]
        unchanged = [doc for doc in page.items if doc not in changed]
        details = list(ctx.pool.map(lambda doc: fetch(doc, ctx.client), changed))

        documents: list[Mapped] = []
        lines: list[Mapped] = []
        missing_lines: list[str] = []
        for detail, linked in details:
            key, data, doc_lines = revenue.map_document(kind, detail, ctx.converter, linked)
            line_keys = [k for k, _ in doc_lines]
            lines.extend((k, d, {}) for k, d in doc_lines)
            previous = (stored.get(key) or {}).get("line_keys") or []
            missing_lines.extend(k for k in previous if k not in set(line_keys))
            documents.append((key, data, {"summary_hash": hashes[key], "line_keys": line_keys}))
        # Lines first: the document item is the marker that its detail is fully imported.
        write_records(state, ctx, line_stream, lines)
        for key in missing_lines:  # a row removed in Sellsy: kept and flagged, like a deleted record
            _flag_missing(ctx, line_stream, key, state["started_at"][:10])
        write_records(state, ctx, stream, documents, stored)
        # Unchanged documents: only "seen in this run" is recorded (no detail call).
        seen = [
            (str(doc["id"]), stored[str(doc["id"])]["data"], _doc_extra(stored[str(doc["id"])]))
            for doc in unchanged
        ]
        write_records(state, ctx, stream, seen, stored)
        state.setdefault("details", {})
        state["details"][stream] = state["details"].get(stream, 0) + len(changed)
        cursor["offset"] = page.next_offset
        return page.next_offset is None

    return step


def _doc_extra(item: dict[str, Any]) -> dict[str, Any]:
    return {"summary_hash": item.get("summary_hash"), "line_keys": item.get("line_keys") or []}


def _flag_missing(ctx: Ctx, stream: str, key: str, since: str) -> None:
    try:
        records_repo.mark_not_seen(ctx.account_id, stream, key, since)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


# --- sweeps: records of fully listed streams not seen in this run are flagged (never deleted) ---


def step_sweep(stream: str) -> Callable[[dict[str, Any], Ctx], bool]:
    def step(state: dict[str, Any], ctx: Ctx) -> bool:
        cursor = state["cursor"]
        shard = int(cursor.get("shard", 0))
        start = cursor.get("last_key")
        items, last = next(iter(records_repo.iter_partition(ctx.account_id, stream, shard, start)))
        since = state["started_at"][:10]
        for item in items:
            if item.get("last_seen_run") != ctx.run_id and "not_seen_since" not in item:
                _flag_missing(ctx, stream, item["sk"], since)
                count(state, stream, "not_seen")
        if last:
            cursor["shard"], cursor["last_key"] = shard, last
            return False
        if shard + 1 < records_repo.SHARDS:
            cursor["shard"], cursor["last_key"] = shard + 1, None
            return False
        return True

    return step


PHASE_STEPS: dict[str, Callable[[dict[str, Any], Ctx], bool]] = {
    "reference": step_reference,
    "customers:company": step_customers("company"),
    "customers:individual": step_customers("individual"),
    "products": step_products,
    "invoices": step_documents("invoices"),
    "credit_notes": step_documents("credit_notes"),
    **{f"sweep:{s}": step_sweep(s) for s in SWEPT_STREAMS},
}
