"""The nightly snapshot on moto: after each run, every record of every stream exactly once, as stored now."""

from __future__ import annotations

import gzip
import json
import os
import uuid
from typing import Any

import pytest

from bridge.adapters import import_state, records_repo
from bridge.domain import revenue, snapshot_schema
from bridge.flows.importer import snapshot
from bridge.flows.importer.export import export_line
from tests.integration.importer.fake_sellsy import FakeSellsy
from tests.integration.importer.test_import_flow import run_to_end, stream_records


def snapshot_lines(aws: Any, bucket: str, account_id: str, stream: str) -> list[dict[str, Any]]:
    s3 = aws.client("s3")
    prefix = f"snapshots/{stream}/account={account_id}/"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))
    assert keys == [snapshot.snapshot_key(account_id, stream, shard) for shard in range(records_repo.SHARDS)]
    lines = []
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        lines.extend(json.loads(line) for line in gzip.decompress(body).splitlines())
    return lines


def by_id(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    ids = [line["id"] for line in lines]
    assert len(ids) == len(set(ids)), "a record appears twice in the snapshot"
    return {line["id"]: line for line in lines}


def test_snapshot_after_two_runs_holds_each_record_once_and_current(aws):
    bucket = aws.env["REPORTS_BUCKET"]
    account_id = f"s{uuid.uuid4().hex[:8]}"
    sellsy = FakeSellsy(invoices=40, credit_notes=4)
    first = run_to_end(account_id, sellsy, bucket)
    for stream in revenue.STREAMS:
        lines = by_id(snapshot_lines(aws, bucket, account_id, stream))
        assert set(lines) == set(stream_records(account_id, stream)), stream
        assert all(list(line) == [c for c, _ in snapshot_schema.columns(stream)] for line in lines.values())
    assert first["status"] == "done"

    # Run 2: invoice 7 changes (status, a row's amount), invoice 9 is deleted in Sellsy.
    changed = sellsy.invoices[7]
    changed["status"] = "paid"
    changed["rows"][0]["amount_tax_exc"] = "1234.00"
    deleted_lines = [f"9-{row['id']}" for row in sellsy.invoices[9]["rows"]]
    del sellsy.invoices[9]
    second = run_to_end(account_id, sellsy, bucket)
    assert second["run_id"] != first["run_id"]

    invoices = by_id(snapshot_lines(aws, bucket, account_id, revenue.INVOICES))
    assert set(invoices) == set(stream_records(account_id, revenue.INVOICES))  # 9 is kept, flagged
    assert invoices["7"]["status"] == "paid" and invoices["7"]["not_seen_since"] is None
    assert invoices["9"]["not_seen_since"] is not None
    lines = by_id(snapshot_lines(aws, bucket, account_id, revenue.INVOICE_LINES))
    row = f"7-{changed['rows'][0]['id']}"
    assert lines[row]["amount_excl_tax"] == "1234.00"
    assert all(key in lines for key in deleted_lines)
    stored = stream_records(account_id, revenue.INVOICE_LINES)
    assert set(lines) == set(stored)
    for key, item in stored.items():  # each line is the stored record now, as the delta export writes it
        assert lines[key] == json.loads(json.dumps(export_line(item), default=str)), key

    # The delta of run 2 has the changed and the flagged invoices only; the snapshot has them all.
    s3 = aws.client("s3")
    delta_key = f"exports/{account_id}/{second['run_id']}/invoices.jsonl.gz"
    delta = [
        json.loads(x) for x in gzip.decompress(s3.get_object(Bucket=bucket, Key=delta_key)["Body"].read()).splitlines()
    ]
    assert sorted(line["id"] for line in delta) == ["7", "9"]
    assert len(invoices) == 40

    # The run summary says where each snapshot is and how many records it holds.
    summary = import_state.load_run(account_id, second["run_id"])["summary"]
    assert summary["snapshots"]["invoices"] == {
        "prefix": f"snapshots/invoices/account={account_id}/",
        "records": 40,
        "bytes": summary["snapshots"]["invoices"]["bytes"],
    }


def test_a_large_part_is_sent_as_a_multipart_upload(aws, monkeypatch):
    bucket = aws.env["REPORTS_BUCKET"]
    monkeypatch.setattr(snapshot, "PART_BYTES", 5 * 1024 * 1024)  # S3's smallest part
    sink = snapshot._S3Sink(bucket, "snapshots/test/account=x/part-00.jsonl.gz")
    chunk = os.urandom(1024 * 1024)
    for _ in range(11):
        sink.write(chunk)
    assert len(sink._parts) == 2  # 10 MiB sent while writing, 1 MiB still buffered
    sink.finish()
    head = aws.client("s3").head_object(Bucket=bucket, Key="snapshots/test/account=x/part-00.jsonl.gz")
    assert head["ContentLength"] == 11 * 1024 * 1024 and head["ETag"].endswith('-3"')


@pytest.mark.parametrize("stream", revenue.STREAMS)
def test_export_lines_have_exactly_the_schema_columns(stream):
    data = {f.name: None for f in revenue.MAPPINGS[stream].fields}
    line = export_line({"sk": "1", "data": data})
    assert list(line) == [name for name, _ in snapshot_schema.columns(stream)]
