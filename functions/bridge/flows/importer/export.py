"""JSON Lines (gzip) export of one stream to S3: `exports/{account_id}/{run_id}/{stream}.jsonl.gz`.

Streamed: records are read page by page from DynamoDB into a gzip writer over a spooled temporary file
(memory up to 8 MB, then disk), and `upload_fileobj` sends it in multipart parts. Nothing holds the stream.
Amounts are written as strings, exactly as stored (no float rounding for analytics tools).
"""

from __future__ import annotations

import gzip
import json
import tempfile
from decimal import Decimal
from typing import Any

from bridge.adapters import records_repo
from bridge.adapters.aws import client

SPOOL_BYTES = 8 * 1024 * 1024


def export_key(account_id: str, run_id: str, stream: str) -> str:
    return f"exports/{account_id}/{run_id}/{stream}.jsonl.gz"


def _plain(name: str, value: Any) -> Any:
    """Ids back to integers; amounts, quantities and rates as exact decimal strings."""
    if isinstance(value, list):
        return [_plain(name, v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if name.startswith("original") else str(value)
    return value


def export_line(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": item["sk"],
        **{name: _plain(name, value) for name, value in (item.get("data") or {}).items()},
        "locked_fields": list(item.get("locked_fields") or []),
        "not_seen_since": item.get("not_seen_since"),
    }


def export_stream(account_id: str, run_id: str, stream: str, bucket: str) -> dict[str, Any]:
    rows = 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        with gzip.GzipFile(fileobj=spool, mode="wb", mtime=0) as gz:
            for shard in range(records_repo.SHARDS):
                for items, _ in records_repo.iter_partition(account_id, stream, shard):
                    for item in items:
                        gz.write(json.dumps(export_line(item), default=str, separators=(",", ":")).encode())
                        gz.write(b"\n")
                        rows += 1
        size = spool.tell()
        spool.seek(0)
        key = export_key(account_id, run_id, stream)
        client("s3").upload_fileobj(
            spool, bucket, key, ExtraArgs={"ContentType": "application/x-ndjson", "ContentEncoding": "gzip"}
        )
    return {"key": key, "rows": rows, "bytes": size}
