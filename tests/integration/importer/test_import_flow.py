"""The import flow on moto (DynamoDB, S3) with an in-memory Sellsy: checkpoints, crashes, chunks, rules."""

from __future__ import annotations

import gzip
import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from bridge.adapters import records_repo
from bridge.domain import revenue
from bridge.domain.currency import BaseCurrencyConverter
from bridge.flows.importer.phases import PRICE_REFRESH_DAYS
from bridge.flows.importer.run import ImportDeps, run_chunk
from tests.integration.importer.fake_sellsy import FakeSellsy


def prices_turn(item_id: int) -> bool:
    today = datetime.now(UTC).date().toordinal()
    return int(item_id) % PRICE_REFRESH_DAYS == today % PRICE_REFRESH_DAYS


class Crash(RuntimeError):
    pass


def stream_records(account_id: str, stream: str) -> dict[str, dict[str, Any]]:
    out = {}
    for shard in range(records_repo.SHARDS):
        for items, _ in records_repo.iter_partition(account_id, stream, shard):
            for item in items:
                out[item["sk"]] = item
    return out


def data_of(account_id: str) -> dict[str, dict[str, Any]]:
    return {
        stream: {k: revenue.stable_hash(v["data"]) for k, v in stream_records(account_id, stream).items()}
        for stream in revenue.STREAMS
    }


def run_to_end(account_id: str, sellsy: FakeSellsy, bucket: str | None, **kw: Any) -> dict[str, Any]:
    deps = ImportDeps(client=sellsy, base_currency="EUR", export_bucket=bucket, **kw)
    answer: dict[str, Any] = {}
    for _ in range(500):
        answer = run_chunk(account_id, deps, run_id=answer.get("run_id"))
        if answer["done"]:
            return answer
    raise AssertionError("import never finished")


@pytest.fixture
def account_id(aws: Any) -> str:
    return f"t{uuid.uuid4().hex[:8]}"


def test_full_import_equals_source_through_the_mapping(aws, account_id):
    sellsy = FakeSellsy(invoices=230, credit_notes=12)
    answer = run_to_end(account_id, sellsy, aws.env["REPORTS_BUCKET"])
    assert answer["status"] == "done"

    converter = BaseCurrencyConverter("EUR")
    invoices = stream_records(account_id, revenue.INVOICES)
    lines = stream_records(account_id, revenue.INVOICE_LINES)
    expected_lines = 0
    for doc in sellsy.invoices.values():
        key, data, doc_lines = revenue.map_document("invoice", doc, converter)
        assert revenue.stable_hash(invoices[key]["data"]) == revenue.stable_hash(data), key
        for line_key, line in doc_lines:
            expected_lines += 1
            stored = lines[line_key]["data"]
            for name, value in line.items():  # field by field
                assert revenue.stable_hash(stored[name]) == revenue.stable_hash(value), (line_key, name)
    assert len(invoices) == len(sellsy.invoices) and len(lines) == expected_lines

    credit_notes = stream_records(account_id, revenue.CREDIT_NOTES)
    cn_lines = stream_records(account_id, revenue.CREDIT_NOTE_LINES)
    for n, doc in sellsy.credit_notes.items():
        _, data, doc_lines = revenue.map_document("credit_note", doc, converter, sellsy.links[n])
        stored = credit_notes[str(n)]["data"]
        assert stored["amount_excl_tax"] < 0 and [int(i) for i in stored["original_invoice_ids"]] == sellsy.links[n]
        assert revenue.stable_hash(stored) == revenue.stable_hash(data)
        for line_key, _ in doc_lines:
            assert cn_lines[line_key]["data"]["amount_excl_tax"] < 0

    products = stream_records(account_id, revenue.PRODUCTS)
    archived = {str(i) for i, item in sellsy.items.items() if item["is_archived"]}
    assert archived and not archived & set(products)
    assert set(products) == {str(i) for i in sellsy.items} - archived
    assert len(stream_records(account_id, revenue.PRICES)) == len(products)
    assert len(stream_records(account_id, revenue.CUSTOMERS)) == len(sellsy.companies) + len(sellsy.individuals)

    # base-currency provenance: USD converted with an ECB rate, XOF flagged
    usd = next(line["data"] for line in lines.values() if line["data"]["currency"] == "USD")
    assert (
        usd["fx_rate"] and usd["fx_rate_date"] and "ECB" in usd["fx_source"] and usd["amount_excl_tax_base"] is not None
    )
    xof = next(line["data"] for line in lines.values() if line["data"]["currency"] == "XOF")
    assert xof["fx_rate"] is None and xof["amount_excl_tax_base"] is None and "XOF" in xof["fx_missing"]

    # export: gzip JSON lines per stream and run
    s3 = aws.client("s3")
    body = s3.get_object(
        Bucket=aws.env["REPORTS_BUCKET"], Key=f"exports/{account_id}/{answer['run_id']}/invoice_lines.jsonl.gz"
    )["Body"].read()
    rows = [json.loads(x) for x in gzip.decompress(body).splitlines()]
    assert len(rows) == expected_lines and all(isinstance(r["amount_excl_tax"], str) for r in rows)

    counters = answer["progress"]["counters"]
    assert counters["invoices"]["created"] == len(sellsy.invoices)


@pytest.mark.slow
def test_crash_at_random_pages_ends_identical_to_a_clean_run(aws):
    clean = f"c{uuid.uuid4().hex[:8]}"
    run_to_end(clean, FakeSellsy(invoices=201, credit_notes=5), None)
    reference = data_of(clean)
    rng = random.Random(11)
    for attempt in range(5):
        account = f"k{attempt}{uuid.uuid4().hex[:6]}"
        sellsy = FakeSellsy(invoices=201, credit_notes=5)
        phase_pages = [("invoices", rng.randint(1, 3)), ("products", 1), ("credit_notes", 1), ("sweep:invoices", 1)]
        target = phase_pages[attempt % len(phase_pages)]
        crashed = []

        def crash(name: str, page: int, target=target, crashed=crashed) -> None:
            if (name, page) == target and not crashed:
                crashed.append(target)
                raise Crash(f"injected at {name} page {page}")

        deps = ImportDeps(client=sellsy, base_currency="EUR", export_bucket=None, on_page=crash)
        with pytest.raises(Crash):
            for _ in range(100):
                run_chunk(account, deps)
        answer = run_to_end(account, sellsy, None)
        assert crashed and answer["status"] == "done"
        assert data_of(account) == reference, f"attempt {attempt} crashed at {target}"
        counters = answer["progress"]["counters"]
        assert counters["invoices"]["created"] == 201 and counters["invoices"].get("updated", 0) == 0


def test_rerun_after_one_percent_change_calls_only_what_is_needed(aws, account_id):
    sellsy = FakeSellsy(invoices=500, credit_notes=10, items=30)
    run_to_end(account_id, sellsy, None)
    first_calls = sellsy.quota.stats.calls
    changed = sellsy.mutate_invoices(0.01)
    sellsy.route_calls.clear()
    before = sellsy.quota.stats.calls
    answer = run_to_end(account_id, sellsy, None)
    calls = sellsy.quota.stats.calls - before
    # prices are re-read only for the items whose weekly turn it is (nothing else changed)
    due = len([i for i in sellsy.items.values() if not i["is_archived"] and prices_turn(i["id"])])
    minimum = 4 + 1 + 1 + 1 + due + 5 + len(changed) + 1  # refs, customers x2, items, prices, lists, details, CNs
    assert sellsy.route_calls["GET /invoices/{id}"] == len(changed)
    assert "GET /credit-notes/{id}" not in sellsy.route_calls
    assert calls <= minimum, sellsy.route_calls
    assert first_calls >= 10 * calls
    counters = answer["progress"]["counters"]["invoices"]
    assert (counters["updated"], counters["unchanged"], counters.get("created", 0)) == (
        len(changed),
        500 - len(changed),
        0,
    )


def test_locked_fields_survive_a_resync_that_changes_them(aws, account_id):
    sellsy = FakeSellsy(invoices=50, credit_notes=2)
    run_to_end(account_id, sellsy, None)
    records_repo.patch_fields(account_id, revenue.INVOICE_LINES, "1-1001", {"description": "kept by hand"})
    records_repo.patch_fields(account_id, revenue.INVOICES, "1", {"status": "disputed"})
    sellsy.invoices[1]["status"] = "paid"
    sellsy.invoices[1]["rows"][0]["description"] = "changed in Sellsy"
    answer = run_to_end(account_id, sellsy, None)
    line = records_repo.get_record(account_id, revenue.INVOICE_LINES, "1-1001")
    invoice = records_repo.get_record(account_id, revenue.INVOICES, "1")
    assert line["data"]["description"] == "kept by hand" and line["locked_fields"] == ["description"]
    assert invoice["data"]["status"] == "disputed" and invoice["locked_fields"] == ["status"]
    assert answer["progress"]["counters"]["invoices"]["locked_skipped"] == 1
    assert answer["progress"]["counters"]["invoice_lines"]["locked_skipped"] == 1


def test_document_deleted_in_sellsy_stays_and_is_marked(aws, account_id):
    sellsy = FakeSellsy(invoices=120, credit_notes=3)
    run_to_end(account_id, sellsy, None)
    del sellsy.invoices[42]
    answer = run_to_end(account_id, sellsy, None)
    gone = records_repo.get_record(account_id, revenue.INVOICES, "42")
    assert gone is not None and gone["not_seen_since"]
    assert records_repo.get_record(account_id, revenue.INVOICES, "41").get("not_seen_since") is None
    assert answer["progress"]["counters"]["invoices"]["not_seen"] == 1


@pytest.mark.slow
def test_short_chunks_resume_from_checkpoints_with_the_same_result(aws):
    whole, chunked = f"w{uuid.uuid4().hex[:8]}", f"s{uuid.uuid4().hex[:8]}"
    run_to_end(whole, FakeSellsy(invoices=130), None)
    sellsy = FakeSellsy(invoices=130)
    deps = ImportDeps(client=sellsy, base_currency="EUR", export_bucket=None)
    answers = []
    run_id = None
    while True:
        left = [3]  # each chunk may do 2 pages, then its "time" is up

        def remaining(left=left) -> int:
            left[0] -= 1
            return 100_000 if left[0] > 0 else 0

        answer = run_chunk(chunked, deps, run_id=run_id, remaining_ms=remaining, margin_ms=1)
        run_id = answer["run_id"]
        answers.append(answer)
        if answer["done"]:
            break
    assert len(answers) > 5 and answers[-1]["status"] == "done"
    assert data_of(chunked) == data_of(whole)
    assert sellsy.route_calls["GET /invoices/{id}"] == 130  # no detail fetched twice across chunks


def test_document_deleted_between_list_and_detail_does_not_fail_the_run(aws, account_id):
    sellsy = FakeSellsy(invoices=30, credit_notes=1)
    sellsy.vanished.add(7)
    answer = run_to_end(account_id, sellsy, None)
    assert answer["status"] == "done"
    assert records_repo.get_record(account_id, revenue.INVOICES, "7") is None
    assert records_repo.get_record(account_id, revenue.INVOICES, "8") is not None
