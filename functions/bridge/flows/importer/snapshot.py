"""Nightly full snapshot per stream: every record as it is now, at a stable prefix analytics tools read.

    s3://<bucket>/snapshots/<stream>/account=<account_id>/part-<shard>.jsonl.gz

The run's last phases rebuild it from DynamoDB, one records shard per step (``records_repo.SHARDS`` parts
per stream and account), after the delta exports are joined. A record lives in exactly one shard, so each
part is replaced whole (one S3 object, written atomically) and a reader always sees every record exactly
once, at most one night old. Lines are the delta export's lines (`export.export_line`), including records
flagged `not_seen_since`; their columns are `bridge.domain.snapshot_schema.columns(stream)`.

Memory stays bounded whatever the size: DynamoDB pages (about 1 MB) are gzip-compressed as they are read
into a buffer that is sent as a multipart-upload part every ``PART_BYTES``; a part that stays small is a
single PUT.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from bridge.adapters import records_repo
from bridge.adapters.aws import client
from bridge.flows.importer.export import GZIP_LEVEL, export_line

PREFIX = "snapshots/"
PART_BYTES = 8 * 1024 * 1024  # S3 parts must be at least 5 MiB (except the last)
CONTENT = {"ContentType": "application/x-ndjson", "ContentEncoding": "gzip"}


def stream_prefix(stream: str) -> str:
    return f"{PREFIX}{stream}/"


def snapshot_key(account_id: str, stream: str, shard: int) -> str:
    return f"{stream_prefix(stream)}account={account_id}/part-{shard:02d}.jsonl.gz"


class _S3Sink:
    """A write-only file for GzipFile that uploads what it gets in parts of at least PART_BYTES."""

    def __init__(self, bucket: str, key: str) -> None:
        self._s3 = client("s3")
        self._bucket, self._key = bucket, key
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self._buffer += data
        self.size += len(data)
        if len(self._buffer) >= PART_BYTES:
            self._send_part()
        return len(data)

    def flush(self) -> None:
        pass

    def _send_part(self) -> None:
        if self._upload_id is None:
            answer = self._s3.create_multipart_upload(Bucket=self._bucket, Key=self._key, **CONTENT)
            self._upload_id = answer["UploadId"]
        number = len(self._parts) + 1
        answer = self._s3.upload_part(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=bytes(self._buffer)
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        self._buffer.clear()

    def finish(self) -> None:
        if self._upload_id is None:
            self._s3.put_object(Bucket=self._bucket, Key=self._key, Body=bytes(self._buffer), **CONTENT)
            return
        if self._buffer:
            self._send_part()
        self._s3.complete_multipart_upload(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
        )

    def abort(self) -> None:
        if self._upload_id is not None:
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)


def write_shard(bucket: str, account_id: str, stream: str, shard: int) -> dict[str, int]:
    """Replace one part of the stream's snapshot with the shard's records as stored now."""
    sink = _S3Sink(bucket, snapshot_key(account_id, stream, shard))
    records = 0
    try:
        with gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as gz:
            for items, _ in records_repo.iter_partition(account_id, stream, shard):
                if items:
                    text = "".join(
                        json.dumps(export_line(item), default=str, separators=(",", ":")) + "\n" for item in items
                    )
                    gz.write(text.encode())
                    records += len(items)
        sink.finish()
    except BaseException:
        sink.abort()
        raise
    return {"records": records, "bytes": sink.size}


def record(state: dict[str, Any], stream: str, shard: int, written: dict[str, int]) -> None:
    """Totals per stream in the run state (a redone shard replaces its own figures)."""
    prefix = f"{stream_prefix(stream)}account={state['account_id']}/"
    per = state.setdefault("snapshots", {}).setdefault(stream, {"prefix": prefix, "shards": {}})
    per["shards"][str(shard)] = written
    per["records"] = sum(s["records"] for s in per["shards"].values())
    per["bytes"] = sum(s["bytes"] for s in per["shards"].values())
