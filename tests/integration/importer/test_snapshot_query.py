"""`make query`'s script over a snapshot written by the import's own code, checked by an independent sum.

Documents are generated (random service periods, currencies, statuses, deletions), mapped with the real
mapping, stored in moto's DynamoDB, written out by the snapshot phase's code, copied the way `make query`
copies them, and queried with the README's MRR example. The expected figures are computed here in exact
decimals from the generated documents, without SQL.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from bridge.adapters import records_repo
from bridge.domain import revenue
from bridge.domain.currency import BaseCurrencyConverter
from bridge.flows.importer import snapshot
from infra import query
from infra.template_tools import REPO_ROOT

ACCOUNT = "demo"  # the example names the embedded default's account
STATUSES = ("draft", "due", "paid", "late", "cancelled")


def generated_documents(rng: random.Random) -> list[tuple[str, dict]]:
    docs = []
    for n in range(1, 121):
        kind = "credit_note" if n % 9 == 0 else "invoice"
        day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(300))
        start = day.replace(day=1) if rng.random() < 0.5 else day
        end = start + dt.timedelta(days=rng.choice((0, 13, 29, 30, 89, 364, 400)))
        rows = []
        for r in range(rng.randint(1, 3)):
            amount = Decimal(rng.randint(1, 500_000)) / 100
            rows.append({"id": n * 10 + r, "type": "single", "amount_tax_exc": str(amount), "tax_amount": "0"})
        doc = {
            "id": n,
            "number": f"N-{n}",
            "date": day.isoformat(),
            "status": rng.choice(STATUSES),
            "currency": rng.choice(("EUR", "EUR", "USD", "GBP", "RUB")),
            "related": [{"type": "company", "id": 1}],
            "rows": rows,
        }
        if rng.random() < 0.8:
            doc["service_dates"] = {"start": start.isoformat(), "end": end.isoformat()}
        docs.append((kind, doc))
    return docs


def expected_mrr(stored: dict[str, dict[str, dict]]) -> dict[dt.date, Decimal]:
    """Each counted line's base amount spread over its period day by day, summed per calendar month."""
    totals: dict[dt.date, Decimal] = defaultdict(Decimal)
    for line_stream, doc_stream, doc_field in (
        (revenue.INVOICE_LINES, revenue.INVOICES, "original_invoice_id"),
        (revenue.CREDIT_NOTE_LINES, revenue.CREDIT_NOTES, "original_credit_note_id"),
    ):
        for line_item in stored[line_stream].values():
            line = line_item["data"]
            doc_item = stored[doc_stream][str(line[doc_field])]
            if doc_item["data"]["status"] in ("draft", "cancelled"):
                continue
            if "not_seen_since" in line_item or "not_seen_since" in doc_item:
                continue
            if line["amount_excl_tax_base"] is None or not line["period_start"] or not line["period_end"]:
                continue
            first, last = dt.date.fromisoformat(line["period_start"]), dt.date.fromisoformat(line["period_end"])
            if last < first:
                continue
            length = (last - first).days + 1
            day = first
            while day <= last:
                totals[day.replace(day=1)] += Decimal(line["amount_excl_tax_base"]) / length
                day += dt.timedelta(days=1)
    return {month: value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) for month, value in totals.items()}


@pytest.fixture
def stored(aws_clean) -> dict[str, dict[str, dict]]:
    """The generated documents as the import stores them; a few deleted in Sellsy (flagged)."""
    rng = random.Random(20261202)
    converter = BaseCurrencyConverter("EUR")
    items: dict[str, dict[str, dict]] = {s: {} for s in revenue.STREAMS}
    for kind, doc in generated_documents(rng):
        key, data, lines = revenue.map_document(kind, doc, converter)
        doc_stream = revenue.INVOICES if kind == "invoice" else revenue.CREDIT_NOTES
        gone = rng.random() < 0.05
        for line_key, line in lines:
            item = {**records_repo.record_key(ACCOUNT, revenue.LINE_STREAM[doc_stream], line_key), "data": line}
            if gone or rng.random() < 0.03:
                item["not_seen_since"] = "2025-12-01"
            items[revenue.LINE_STREAM[doc_stream]][line_key] = item
        doc_item = {**records_repo.record_key(ACCOUNT, doc_stream, key), "data": data}
        if gone:
            doc_item["not_seen_since"] = "2025-12-01"
        items[doc_stream][key] = doc_item
    for stream_items in items.values():
        records_repo.put_items(list(stream_items.values()))
    return items


def test_the_readme_mrr_example_over_the_snapshot_matches_an_independent_sum(aws_clean, stored, tmp_path: Path):
    bucket = aws_clean.env["REPORTS_BUCKET"]
    for stream in revenue.STREAMS:
        for shard in range(records_repo.SHARDS):
            snapshot.write_shard(bucket, ACCOUNT, stream, shard)
    copied = query.mirror_snapshots(aws_clean.client("s3"), bucket, tmp_path)
    assert copied == len(revenue.STREAMS) * records_repo.SHARDS

    names, rows = query.run("mrr", tmp_path)
    assert names == ["month", "mrr"]
    got = {month: Decimal(f"{value:.2f}") for month, value in rows}
    want = expected_mrr(stored)
    assert len(want) > 12
    assert got == want
    # The generated data exercises what the query must leave out or flag.
    lines = [i["data"] for i in stored[revenue.INVOICE_LINES].values()]
    assert any(line["fx_missing"] for line in lines) and any(line["period_start"] is None for line in lines)

    # Counting through SQL agrees with the stored records (every record once, the account from the path).
    names, rows = query.run("SELECT count(*), count(DISTINCT id) FROM invoice_lines WHERE account = 'demo'", tmp_path)
    assert rows == [(len(stored[revenue.INVOICE_LINES]), len(stored[revenue.INVOICE_LINES]))]


def test_the_readme_shows_the_example_that_make_query_runs():
    assert query.MRR_EXAMPLE in (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_tables_without_files_still_have_their_columns(tmp_path: Path):
    names, rows = query.run("SELECT * FROM credit_notes", tmp_path)
    assert rows == [] and names[0] == "id" and names[-1] == "account"
