"""The import flow on moto (DynamoDB, S3) with an in-memory Sellsy: every field through the mapping, and the export.

The flow's rules (checkpoints, crashes, chunks, reruns, locks, deletions) run at unit speed on in-memory
repositories in tests/unit/importer/test_import_rules.py; the helpers here are shared by both levels.
"""

from __future__ import annotations

import gzip
import json
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


def test_an_export_joined_again_after_its_parts_are_gone_keeps_the_object(aws, account_id):
    from bridge.flows.importer import export

    bucket, run_id = aws.env["REPORTS_BUCKET"], "r1"
    export.put_part(bucket, account_id, run_id, "invoices", "04-000001", [{"sk": "1", "data": {"n": 1}}])
    export.put_part(bucket, account_id, run_id, "invoices", "04-000002", [{"sk": "2", "data": {"n": 2}}])
    first = export.join_parts(bucket, account_id, run_id, "invoices")
    # the chunk ended before its checkpoint: the next one joins again, the parts already deleted
    again = export.join_parts(bucket, account_id, run_id, "invoices")
    assert again == first and first["parts"] == 2
    body = aws.client("s3").get_object(Bucket=bucket, Key=first["key"])["Body"].read()
    assert [json.loads(line)["id"] for line in gzip.decompress(body).splitlines()] == ["1", "2"]
