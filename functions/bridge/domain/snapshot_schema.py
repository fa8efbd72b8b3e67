"""Columns of the exported lines (delta and snapshot), with SQL types, derived from the revenue mapping.

A line is ``id`` (the record key), the stream's mapped fields in declaration order, then the record's
``locked_fields`` and ``not_seen_since``. The Glue tables in template.yaml are generated from these
columns (``python -m infra.glue_tables``) and `make query` types the local files with them, so Athena
and DuckDB read the same columns with the same types; a test checks the template still agrees.

Types follow the values the mapping produces: amounts are exact decimals (written as JSON strings),
Sellsy ids are integers, dates are ISO days.
"""

from __future__ import annotations

from bridge.domain.revenue import MAPPINGS, PRICES, STREAMS

KEY_COLUMN = "id"
RECORD_COLUMNS = ("locked_fields", "not_seen_since")
PARTITION_COLUMN = "account"

MONEY = "decimal(20,6)"  # Sellsy amounts as sent (unit prices can carry more than two decimals)
BASE_MONEY = "decimal(18,2)"  # base-currency amounts, rounded to the cent by the import

_EXACT = {
    KEY_COLUMN: "string",
    "locked_fields": "array<string>",
    "not_seen_since": "date",
    "date": "date",
    "quantity": "decimal(20,6)",
    "discount_value": "decimal(20,6)",
    "tax_rate": "decimal(9,4)",
    "discount_percent": "decimal(9,4)",
    "progress_percentage": "decimal(9,4)",
    "out_of_balance": "boolean",
    "fx_rate": "decimal(20,10)",
    "fx_stale": "int",
    "updated_at": "string",  # an ISO timestamp with its offset, kept as Sellsy wrote it
}
_BY_STREAM = {(PRICES, "original_id"): "string"}  # `{item}-{rate category}`


def column_type(stream: str, name: str) -> str:
    """The SQL (Hive/Athena) type of one column: explicit where declared, else by the name's convention."""
    if (stream, name) in _BY_STREAM:
        return _BY_STREAM[(stream, name)]
    if name in _EXACT:
        return _EXACT[name]
    if name.startswith("is_"):
        return "boolean"
    if name.startswith("original_") and name.endswith("_ids"):
        return "array<bigint>"
    if name == "original_id" or (name.startswith("original_") and name.endswith("_id")):
        return "bigint"
    if name.endswith("_date") or name.startswith("period_"):
        return "date"
    if "amount" in name:
        return BASE_MONEY if name.endswith("_base") else MONEY
    return "string"


def columns(stream: str) -> list[tuple[str, str]]:
    """(name, type) of every column of a stream's exported lines, in file order."""
    names = [KEY_COLUMN, *(f.name for f in MAPPINGS[stream].fields), *RECORD_COLUMNS]
    return [(name, column_type(stream, name)) for name in names]


def all_columns() -> dict[str, list[tuple[str, str]]]:
    return {stream: columns(stream) for stream in STREAMS}
