"""`make query SQL="..."`: the Athena tables' SQL over the local snapshot, with DuckDB (a dev tool only).

    make query SQL="SELECT status, count(*) FROM invoices WHERE account = 'demo' GROUP BY status"
    make query SQL=mrr            # the README's monthly-recurring-revenue example
    make query                    # the tables, their files and row counts

The files: while `make up` runs, the snapshot objects are copied from moto's S3 into `.local/exports/`
first (same keys: `snapshots/<stream>/account=<account>/part-NN.jsonl.gz`); `make run` leaves such a copy
when it ends. Nothing but loopback is reached. Each Glue table becomes a DuckDB view of the same name,
with the same columns and types (bridge.domain.snapshot_schema) and the `account` partition read from the
path, so a query written for Athena runs here unchanged. Athena's `sequence(start, stop, step)` over dates
is provided as a macro (DuckDB calls it generate_series).
"""

from __future__ import annotations

import json
import os
import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from bridge.domain import snapshot_schema
from bridge.domain.revenue import STREAMS
from bridge.flows.importer.snapshot import PREFIX

REPO_ROOT = Path(__file__).resolve().parent.parent
EXPORTS_DIR = REPO_ROOT / ".local" / "exports"
STACK_FILE = REPO_ROOT / ".local" / "stack.json"

# Monthly recurring revenue from invoice and credit-note lines with a service period: each line's amount
# (base currency, excl. tax) is spread over its period day by day and summed per calendar month.
MRR_EXAMPLE = """\
WITH lines AS (
  SELECT CAST(l.amount_excl_tax_base AS DOUBLE) AS amount, l.period_start AS first_day, l.period_end AS last_day
  FROM invoice_lines l
  JOIN invoices d ON d.original_id = l.original_invoice_id AND d.account = l.account
  WHERE l.account = 'demo' AND d.account = 'demo' AND d.status NOT IN ('draft', 'cancelled')
    AND l.not_seen_since IS NULL AND d.not_seen_since IS NULL
    AND l.amount_excl_tax_base IS NOT NULL AND l.period_end >= l.period_start
  UNION ALL
  SELECT CAST(l.amount_excl_tax_base AS DOUBLE), l.period_start, l.period_end
  FROM credit_note_lines l
  JOIN credit_notes d ON d.original_id = l.original_credit_note_id AND d.account = l.account
  WHERE l.account = 'demo' AND d.account = 'demo' AND d.status NOT IN ('draft', 'cancelled')
    AND l.not_seen_since IS NULL AND d.not_seen_since IS NULL
    AND l.amount_excl_tax_base IS NOT NULL AND l.period_end >= l.period_start
)
SELECT month,
       round(sum(amount
                 * (date_diff('day', greatest(first_day, month),
                              least(last_day, month + INTERVAL '1' MONTH - INTERVAL '1' DAY)) + 1)
                 / (date_diff('day', first_day, last_day) + 1)), 2) AS mrr
FROM lines
CROSS JOIN UNNEST(sequence(date_trunc('month', first_day), date_trunc('month', last_day), INTERVAL '1' MONTH))
  AS t (month)
GROUP BY month
ORDER BY month"""
EXAMPLES = {"mrr": MRR_EXAMPLE}


def duckdb_type(sql_type: str) -> str:
    """A Hive/Athena column type in DuckDB's words."""
    inner = re.fullmatch(r"array<(.+)>", sql_type)
    if inner:
        return duckdb_type(inner.group(1)) + "[]"
    simple = {"string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER", "date": "DATE"}
    return simple.get(sql_type, sql_type.upper())


def mirror_snapshots(s3: Any, bucket: str, root: Path = EXPORTS_DIR) -> int:
    """Copy every snapshot object to ``root`` under its own key; drop local files no longer in S3."""
    wanted: set[Path] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX):
        for obj in page.get("Contents", []):
            target = root / obj["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, obj["Key"], str(target))
            wanted.add(target)
    for old in (root / PREFIX).rglob("*.jsonl.gz") if (root / PREFIX).exists() else []:
        if old not in wanted:
            old.unlink()
    return len(wanted)


def _running_stack_s3() -> tuple[Any, str] | None:
    """moto's S3 and the bucket of a stack `make up` is serving, if any answers on loopback."""
    if not STACK_FILE.exists():
        return None
    described = json.loads(STACK_FILE.read_text())
    endpoint, bucket = described.get("aws_endpoint_url"), described.get("reports_bucket")
    if not endpoint or not bucket:
        return None
    import boto3
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=described.get("aws_region") or "eu-west-3",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 (moto's fixed local credentials)
        config=Config(connect_timeout=1, read_timeout=10, retries={"max_attempts": 1}),
    )
    try:
        s3.head_bucket(Bucket=bucket)
    except Exception:
        return None  # `make run` has ended: its stack file stays, its moto is gone
    return s3, bucket


def connect(root: Path = EXPORTS_DIR) -> Any:
    """A DuckDB connection with one view per Glue table over the files under ``root``."""
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE MACRO sequence(a, b, step) AS list_transform(generate_series(a, b, step), lambda x: x::DATE)")
    for stream in STREAMS:
        columns = snapshot_schema.columns(stream)
        files = sorted((root / PREFIX / stream).glob("account=*/*.jsonl.gz"))
        if files:
            spec = "{" + ", ".join(f"'{name}': '{duckdb_type(t)}'" for name, t in columns) + "}"
            paths = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
            # Paths and types come from this repository, not from input.
            options = f"format = 'newline_delimited', compression = 'gzip', hive_partitioning = true, columns = {spec}"
            source = f"SELECT * FROM read_json({paths}, {options})"  # noqa: S608
        else:  # no file yet: the same columns, no rows, so queries still bind
            casts = ", ".join(f"CAST(NULL AS {duckdb_type(t)}) AS {name}" for name, t in columns)
            source = f"SELECT {casts}, CAST(NULL AS VARCHAR) AS {snapshot_schema.PARTITION_COLUMN} WHERE false"
        con.execute(f"CREATE VIEW {stream} AS {source}")
    return con


def run(sql: str, root: Path = EXPORTS_DIR) -> tuple[list[str], list[tuple[Any, ...]]]:
    con = connect(root)
    try:
        cursor = con.execute(EXAMPLES.get(sql.strip(), sql))
        names = [d[0] for d in cursor.description or []]
        return names, cursor.fetchall()
    finally:
        con.close()


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, Decimal | float):
        return f"{value:,.2f}" if isinstance(value, float) else str(value)
    return str(value)


def format_table(names: list[str], rows: list[tuple[Any, ...]]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(n), *(len(r[i]) for r in cells)]) for i, n in enumerate(names)]
    lines = [" | ".join(n.ljust(w) for n, w in zip(names, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    lines.extend(" | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells)
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    sql = (args[0] if args else os.environ.get("SQL", "")).strip()
    running = _running_stack_s3()
    if running is not None:
        copied = mirror_snapshots(*running)
        print(f"({copied} snapshot files copied from the running stack to .local/exports/)", file=sys.stderr)
    elif not (EXPORTS_DIR / PREFIX).exists():
        print("No local snapshot yet: run `make run` (or `make up`) first.", file=sys.stderr)
        return 1
    if not sql:
        counts = (f"SELECT '{s}' AS table_name, count(*) AS records FROM {s}" for s in STREAMS)  # noqa: S608
        sql = " UNION ALL ".join(counts)
        print("Tables (as in Athena; filter on account = '<id>'):", file=sys.stderr)
    names, rows = run(sql)
    print(format_table(names, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
