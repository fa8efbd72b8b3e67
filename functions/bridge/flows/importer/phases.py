"""The import's phases, advanced one page (or one unit) at a time; every page ends in a checkpoint.

A phase step reads Sellsy (the network part, paced by the quota) and returns a `PageWork`: the cursor
after the page, whether the phase is finished, and a `write` job (the DynamoDB and S3 part). The run
driver overlaps the write job of page N with the reading of page N+1, and saves the checkpoint of page N
only once its writes are done; a crash anywhere redoes at most the pages after the last checkpoint.

Write order inside one page makes a redo harmless: lines are written before their document, and the
document item (with its summary hash) is the marker that the detail was imported. Each write job also
puts the page's changed records into the run's export parts (see export.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from bridge.adapters import records_repo
from bridge.domain import revenue
from bridge.domain.currency import BaseCurrencyConverter
from bridge.flows.importer import background, export, reconciliation, snapshot, sweeps
from bridge.flows.importer.merge import merge_record
from bridge.sellsy.errors import Forbidden, NotFound

PAGE_LIMIT = 100
Mapped = tuple[str, dict[str, Any], dict[str, Any]]  # (record key, mapped data, extra attributes)
DETAIL_EMBEDS = {"invoice": ["deposits"], "credit_note": []}  # deposits: the deposit invoices a final one deducts

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
    read_ahead: dict[tuple[str, str], Future[Any]] = field(default_factory=dict)


WriteJob = Callable[[dict[str, Any], str], None]  # (run state for counters, export part name)


@dataclass
class PageWork:
    cursor: dict[str, Any]
    finished: bool
    write: WriteJob | None = None
    label: tuple[str, int] | None = None  # (name, page) told to the test hook instead of the phase's


Step = Callable[[dict[str, Any], Ctx, dict[str, Any]], PageWork]


def phase_names() -> list[str]:
    return [
        "reference",
        "customers:company",
        "customers:individual",
        "products",
        "invoices",
        "credit_notes",
        "sweeps",
        *(f"export:{s}" for s in revenue.STREAMS),
        *(f"snapshot:{s}" for s in revenue.STREAMS),
    ]


def note_skipped(state: dict[str, Any], feature: str, exc: Forbidden) -> None:
    """A stream or feature the token may not read (403): the run goes on without it and says which scope
    is missing (run summary, account health)."""
    state.setdefault("skipped", {})[feature] = {"scope": exc.scope, "path": exc.path, "message": exc.message}


def skip_phase(state: dict[str, Any], name: str, exc: Forbidden) -> PageWork:
    """The phase ends here. Its stream is not swept in this run: unseen records were not listed, not deleted."""
    note_skipped(state, name, exc)
    return PageWork({}, True)


def count(state: dict[str, Any], stream: str, outcome: str, n: int = 1) -> None:
    per = state["counters"].setdefault(stream, {})
    per[outcome] = per.get(outcome, 0) + n


def _first_page(client: Client, path: str, *, search: bool, offset: str | None, **kwargs: Any) -> Any:
    """Exactly one page from the cursor (the client's iterator is lazy: nothing more is fetched)."""
    return next(iter(client.iter_pages(path, search=search, offset=offset, limit=PAGE_LIMIT, **kwargs)))


def _page_reading_ahead(
    ctx: Ctx, path: str, cursor: dict[str, Any], stored_stream: str | None = None, **kwargs: Any
) -> tuple[Any, dict[str, dict[str, Any]]]:
    """The page at the cursor's ``offset`` with its records as stored (of ``stored_stream``, if given), read ahead by
    the previous step when it could; starts reading the next page the same way.

    Reading the next page while this page's details are fetched keeps the quota busy between pages.
    Read-only: a page read ahead but never used (the chunk ended) costs one call and changes nothing.
    The stored records may predate the writes of the page just before; that only matters for a
    document listed on both pages, which is then fetched and merged twice, with the same result.
    """
    offset = cursor.get("offset")
    ahead = ctx.read_ahead.pop((path, str(offset)), None)
    if ahead is not None:
        page, stored = ahead.result()
    else:
        page, stored = _read_page(ctx, path, cursor, stored_stream, kwargs)
    if page.next_offset is not None:
        following = ctx.pool.submit(_read_page, ctx, path, _next_cursor(page), stored_stream, kwargs)
        ctx.read_ahead[(path, str(page.next_offset))] = following
    return page, stored


def _next_cursor(page: Any) -> dict[str, Any]:
    """Where the next step resumes: the next offset, with the listing's position and first total (so its
    last full page can end on the total, see ``SellsyClient.iter_pages``)."""
    return {"offset": page.next_offset, "seen": page.seen, "listed_total": page.listed_total}


def _read_page(
    ctx: Ctx, path: str, cursor: dict[str, Any], stored_stream: str | None, kwargs: dict[str, Any]
) -> tuple[Any, dict[str, dict[str, Any]]]:
    position = {"seen": cursor.get("seen"), "listed_total": cursor.get("listed_total")}
    page = _first_page(ctx.client, path, search=True, offset=cursor.get("offset"), **position, **kwargs)
    if stored_stream is None:
        return page, {}
    return page, records_repo.get_many(ctx.account_id, stored_stream, [str(i["id"]) for i in page.items])


def _all_items(client: Client, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in client.iter_pages(path, search=False, limit=PAGE_LIMIT):
        items.extend(page.items)
    return items


def _export(ctx: Ctx, stream: str, part: str, items: list[dict[str, Any]]) -> None:
    if ctx.export_bucket and items:
        export.put_part(ctx.export_bucket, ctx.account_id, ctx.run_id, stream, part, items)


# --- reference data ---


def step_reference(state: dict[str, Any], ctx: Ctx, cursor: dict[str, Any]) -> PageWork:
    """Read once per run and kept in the run state (small), so later chunks never re-read it."""
    client = ctx.client

    def optional(path: str) -> list[dict[str, Any]]:
        try:
            return _all_items(client, path)
        except Forbidden as exc:  # e.g. /units needs accounts.read; the lists only help, none is required
            note_skipped(state, f"reference:{path.strip('/')}", exc)
            return []

    taxes = optional("/taxes")
    units = optional("/units")
    currencies = optional("/currencies")
    categories = optional("/rate-categories")
    default_currency = next((c.get("code") for c in currencies if c.get("is_default")), None)
    state["reference"] = {
        "default_currency": default_currency,
        "rate_categories": {str(c["id"]): {"label": c.get("label"), "currency": c.get("currency")} for c in categories},
        "counts": {"taxes": len(taxes), "units": len(units), "currencies": len(currencies)},
    }
    return PageWork({}, True)


# --- merging a batch of mapped records ---


def write_records(
    state: dict[str, Any],
    ctx: Ctx,
    stream: str,
    mapped: list[Mapped],
    part: str,
    stored: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Merge (key, data, extra attributes) into storage, count outcomes, export what changed."""
    if not mapped:
        return
    if stored is None:
        stored = records_repo.get_many(ctx.account_id, stream, [k for k, _, _ in mapped])
    now = ctx.now()
    changed: list[dict[str, Any]] = []
    to_write: dict[str, dict[str, Any]] = {}  # by key: a page never writes one record twice
    for key, data, extra in mapped:
        previous = stored.get(key)
        merged = merge_record(
            pk=records_repo.record_key(ctx.account_id, stream, key)["pk"],
            key=key,
            stream=stream,
            account_id=ctx.account_id,
            data=data,
            stored=previous,
            run_id=ctx.run_id,
            now=now,
            extra=extra,
        )
        count(state, stream, merged.outcome)
        if merged.item is not None:
            to_write[key] = merged.item
        if merged.outcome in ("created", "updated"):
            changed.append(merged.item if merged.item is not None else previous or {})
    records_repo.put_items(list(to_write.values()))
    _export(ctx, stream, part, changed)


# --- customers ---


def step_customers(kind: str) -> Step:
    path = "/companies/search" if kind == "company" else "/individuals/search"

    def step(state: dict[str, Any], ctx: Ctx, cursor: dict[str, Any]) -> PageWork:
        # Listed in full every run: absence from a full listing is the only sign of a deletion Sellsy gives.
        page, _ = _page_reading_ahead(ctx, path, cursor, filters={})
        mapping = revenue.MAPPINGS[revenue.CUSTOMERS]
        mapped: list[Mapped] = []
        for obj in page.items:
            src = {"kind": kind, "obj": obj}
            mapped.append((mapping.key(src), mapping.map(src), {}))

        def write(state: dict[str, Any], part: str) -> None:
            write_records(state, ctx, revenue.CUSTOMERS, mapped, part)

        return PageWork(_next_cursor(page), page.next_offset is None, write)

    return step


# --- products and their prices ---


PRICE_REFRESH_DAYS = 7  # prices of unchanged items are re-read on a rolling weekly slice


def prices_due(item: dict[str, Any], stored: dict[str, Any] | None, run_day: int) -> bool:
    """Prices have no change signal in Sellsy: read them for new or changed items, and for the unchanged
    items whose turn it is (id modulo 7 = the run's day), so no price is more than a week old."""
    if stored is None or stored.get("summary_hash") != revenue.stable_hash(item):
        return True
    return int(item["id"]) % PRICE_REFRESH_DAYS == run_day % PRICE_REFRESH_DAYS


def _prices_of(client: Client, item: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        return _all_items(client, f"/items/{item['id']}/prices")
    except NotFound:
        return []  # item deleted meanwhile: its prices stay unseen and get flagged by the sweep


def step_products(state: dict[str, Any], ctx: Ctx, cursor: dict[str, Any]) -> PageWork:
    page, stored_products = _page_reading_ahead(
        ctx,
        "/items/search",
        cursor,
        revenue.PRODUCTS,
        filters={"type": list(revenue.PRODUCT_ITEM_TYPES), "is_archived": False},
    )
    # Archived items are filtered by Sellsy; the check here only protects against a lax filter.
    items = [i for i in page.items if not i.get("is_archived") and i.get("type") in revenue.PRODUCT_ITEM_TYPES]
    run_day = dt.date.fromisoformat(state["started_at"][:10]).toordinal()
    due = [i for i in items if prices_due(i, stored_products.get(str(i["id"])), run_day)]
    price_lists = dict(
        zip(
            [str(i["id"]) for i in due],
            ctx.pool.map(lambda item: _prices_of(ctx.client, item), due),
            strict=True,
        )
    )
    prices, products = _price_and_product_records(state, ctx, items, price_lists, stored_products)

    def write(state: dict[str, Any], part: str) -> None:
        # Prices first: the product item (with its hash) marks its prices as imported.
        write_records(state, ctx, revenue.PRICES, prices, part, None)
        write_records(state, ctx, revenue.PRODUCTS, products, part, stored_products)
        state["details"][revenue.PRICES] = state["details"].get(revenue.PRICES, 0) + len(due)

    return PageWork(_next_cursor(page), page.next_offset is None, write)


def _price_and_product_records(
    state: dict[str, Any],
    ctx: Ctx,
    items: list[dict[str, Any]],
    price_lists: dict[str, list[dict[str, Any]]],
    stored_products: dict[str, Any],
) -> tuple[list[Mapped], list[Mapped]]:
    """The page's price and product records; an item whose prices were not re-read keeps its stored ones."""
    # Prices not re-read this run are only marked as seen (from what is stored).
    kept_keys = [
        k
        for i in items
        if str(i["id"]) not in price_lists
        for k in (stored_products.get(str(i["id"])) or {}).get("price_keys") or []
    ]
    stored_prices = records_repo.get_many(ctx.account_id, revenue.PRICES, kept_keys) if kept_keys else {}
    reference = state.get("reference") or {}
    categories = reference.get("rate_categories") or {}
    price_mapping = revenue.MAPPINGS[revenue.PRICES]
    product_mapping = revenue.MAPPINGS[revenue.PRODUCTS]
    prices: list[Mapped] = [(k, v["data"], {}) for k, v in stored_prices.items()]
    products: list[Mapped] = []
    for item in items:
        key = str(item["id"])
        if key in price_lists:
            keys = []
            for price in price_lists[key]:
                src = {
                    "item": item,
                    "price": price,
                    "category": categories.get(str(price.get("rate_category_id"))),
                    "default_currency": reference.get("default_currency"),
                }
                keys.append(price_mapping.key(src))
                prices.append((keys[-1], price_mapping.map(src), {}))
        else:
            keys = list((stored_products.get(key) or {}).get("price_keys") or [])
        extra = {"summary_hash": revenue.stable_hash(item), "price_keys": keys}
        products.append((key, product_mapping.map({"item": item}), extra))
    return prices, products


# --- documents ---


def step_documents(name: str) -> Step:
    kind, search_path, detail_path, stream = DOCUMENTS[name]
    line_stream = revenue.LINE_STREAM[stream]

    def fetch(summary: dict[str, Any], client: Client) -> tuple[dict[str, Any], list[int]] | None:
        try:
            embeds = DETAIL_EMBEDS[kind]
            detail = client.get(detail_path.format(id=summary["id"]), params={"embed[]": embeds} if embeds else None)
            linked: list[int] = []
            if kind == "credit_note":
                linked = [int(i["id"]) for i in _all_items(client, f"/credit-notes/{summary['id']}/invoices")]
        except NotFound:
            return None  # deleted between the list page and now: left unseen, so the sweep flags it
        return detail, linked

    def step(state: dict[str, Any], ctx: Ctx, cursor: dict[str, Any]) -> PageWork:
        page, stored = _page_reading_ahead(ctx, search_path, cursor, stream, filters={})
        hashes = {str(doc["id"]): revenue.summary_hash(doc) for doc in page.items}
        # New or changed documents, and flagged ones seen again (their lines are flagged too: re-read them).
        changed = [d for d in page.items if _needs_detail(stored.get(str(d["id"])), hashes[str(d["id"])])]
        changed_ids = {d["id"] for d in changed}
        unchanged = [d for d in page.items if d["id"] not in changed_ids]
        details = [d for d in ctx.pool.map(lambda doc: fetch(doc, ctx.client), changed) if d is not None]

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
        # Unchanged documents: only "seen in this run" is recorded (no detail call).
        seen = [(str(d["id"]), stored[str(d["id"])]["data"], _doc_extra(stored[str(d["id"])])) for d in unchanged]

        def write(state: dict[str, Any], part: str) -> None:
            # Lines first: the document item is the marker that its detail is fully imported.
            write_records(state, ctx, line_stream, lines, part)
            flagged = [_flag_missing(ctx, line_stream, k, state["started_at"][:10]) for k in missing_lines]
            _export(ctx, line_stream, part + "-missing", [i for i in flagged if i is not None])
            write_records(state, ctx, stream, documents + seen, part, stored)
            reconciliation.add_documents(state, stream, [(key, data) for key, data, _ in documents + seen])
            state["details"][stream] = state["details"].get(stream, 0) + len(changed)

        return PageWork(_next_cursor(page), page.next_offset is None, write)

    return step


def _needs_detail(stored: dict[str, Any] | None, summary_hash: str) -> bool:
    return stored is None or stored.get("summary_hash") != summary_hash or "not_seen_since" in stored


def _doc_extra(item: dict[str, Any]) -> dict[str, Any]:
    return {"summary_hash": item.get("summary_hash"), "line_keys": item.get("line_keys") or []}


def _flag_missing(ctx: Ctx, stream: str, key: str, since: str) -> dict[str, Any] | None:
    """A row removed from a document in Sellsy: kept and flagged, like a deleted record."""
    return records_repo.mark_not_seen(ctx.account_id, stream, key, since)


# --- sweeps (see sweeps.py): what the background has not done yet, one shard per step ---


def step_sweeps(state: dict[str, Any], ctx: Ctx, cursor: dict[str, Any]) -> PageWork:
    taken = list(cursor.get("taken") or [])
    pending = sweeps.due(state, phase_names(), taken)
    if not pending:
        return PageWork({}, True)
    stream, shard = pending[0]

    def write(state: dict[str, Any], part: str) -> None:
        flagged = sweeps.sweep_shard(
            ctx.account_id, ctx.run_id, state["started_at"][:10], ctx.export_bucket, stream, shard
        )
        sweeps.record(state, stream, shard, flagged)

    taken_now = [*taken, sweeps.label(stream, shard)]
    return PageWork({"taken": taken_now}, len(pending) == 1, write, sweeps.hook_label(stream, shard))


def step_export(stream: str) -> Step:
    def step(state: dict[str, Any], ctx: Ctx, cursor: dict[str, Any]) -> PageWork:
        if not ctx.export_bucket or background.exported(state, stream):
            return PageWork({}, True)  # joined in the background already

        def write(state: dict[str, Any], part: str) -> None:
            state["exports"][stream] = export.join_parts(str(ctx.export_bucket), ctx.account_id, ctx.run_id, stream)

        return PageWork({}, True, write)

    return step


def step_snapshot(stream: str) -> Step:
    """One records shard of the stream's full snapshot per step (see snapshot.py); the shards written in
    the background are passed over."""

    def step(state: dict[str, Any], ctx: Ctx, cursor: dict[str, Any]) -> PageWork:
        shards = range(int(cursor.get("shard", 0)), records_repo.SHARDS)
        left = [s for s in shards if not background.snapshot_done(state, stream, s)]
        if not ctx.export_bucket or not left:
            return PageWork({"shard": records_repo.SHARDS}, True)
        shard, bucket = left[0], ctx.export_bucket

        def write(state: dict[str, Any], part: str) -> None:
            written = snapshot.write_shard(bucket, ctx.account_id, stream, shard)
            snapshot.record(state, stream, shard, written)

        return PageWork({"shard": shard + 1}, len(left) == 1, write)

    return step


PHASE_STEPS: dict[str, Step] = {
    "reference": step_reference,
    "customers:company": step_customers("company"),
    "customers:individual": step_customers("individual"),
    "products": step_products,
    "invoices": step_documents("invoices"),
    "credit_notes": step_documents("credit_notes"),
    "sweeps": step_sweeps,
    **{f"export:{s}": step_export(s) for s in revenue.STREAMS},
    **{f"snapshot:{s}": step_snapshot(s) for s in revenue.STREAMS},
}
