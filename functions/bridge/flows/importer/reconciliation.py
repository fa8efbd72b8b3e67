"""The run's reconciliation report: per document stream and currency, Σ imported lines against Σ Sellsy's
document totals, and the documents whose lines do not add up to their totals (flagged, never dropped).

Every document seen by the run counts, changed or not: a document record carries its lines' sums and its
`out_of_balance` differences (see bridge.domain.reconciliation), so unchanged documents cost no read.
The report accumulates in the run state at each page's write (like the counters: a page redone after a
crash starts again from the last checkpoint's figures), goes into the run summary, and is written next
to the run's exports as `reconciliation.json`.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from bridge.adapters.aws import client
from bridge.domain import revenue

DOCUMENT_STREAMS = (revenue.INVOICES, revenue.CREDIT_NOTES)
MEASURES = (
    ("amount_excl_tax", "lines_amount_excl_tax"),
    ("tax_amount", "lines_tax_amount"),
    ("amount_incl_tax", "lines_amount_incl_tax"),
)
LISTED_MAX = 500  # flagged documents listed in the run state (the count is always exact)


def _empty_stream() -> dict[str, Any]:
    return {"documents": 0, "out_of_balance": 0, "by_currency": {}, "flagged": [], "flagged_truncated": False}


def add_documents(state: dict[str, Any], stream: str, records: list[tuple[str, dict[str, Any]]]) -> None:
    """Count (key, mapped data) of documents seen in this page into the run's report."""
    report = state.setdefault("reconciliation", {}).setdefault(stream, _empty_stream())
    for key, data in records:
        report["documents"] += 1
        currency = str(data.get("currency") or "?")
        sums = report["by_currency"].setdefault(currency, {"documents": 0})
        sums["documents"] += 1
        for document_field, lines_field in MEASURES:
            for name, value in (
                (f"documents_{document_field}", data.get(document_field)),
                (lines_field, data.get(lines_field)),
            ):
                sums[name] = str(Decimal(sums.get(name, "0")) + (revenue.dec(value) or Decimal(0)))
        if data.get("out_of_balance") or "lines_amount_excl_tax" not in data:
            difference = {m: data.get(f"out_of_balance_{m}") for m, _ in MEASURES}
            report["out_of_balance"] += 1
            if len(report["flagged"]) < LISTED_MAX:
                report["flagged"].append(
                    {
                        "id": key,
                        "number": data.get(_number_field(stream)),
                        "currency": currency,
                        "difference": _plain(difference),
                    }
                )
            else:
                report["flagged_truncated"] = True


def _add(sums: dict[str, Any], name: str, value: Any) -> None:
    sums[name] = str(Decimal(sums.get(name, "0")) + (revenue.dec(value) or Decimal(0)))


def _number_field(stream: str) -> str:
    return "invoice_number" if stream == revenue.INVOICES else "credit_note_number"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return str(value) if isinstance(value, Decimal) else value


def report_of(state: dict[str, Any]) -> dict[str, Any]:
    """The summary's `reconciliation` object: every document stream, even one with no document."""
    found = state.get("reconciliation") or {}
    streams = {stream: found.get(stream) or _empty_stream() for stream in DOCUMENT_STREAMS}
    return {
        "tolerance_per_document": "0.01",
        "out_of_balance": sum(int(s["out_of_balance"]) for s in streams.values()),
        "streams": streams,
    }


def brief(state: dict[str, Any]) -> dict[str, Any]:
    """What a chunk's answer carries (kept small: the state machine passes it along): counts only."""
    report = report_of(state)
    return {
        "out_of_balance": report["out_of_balance"],
        "documents": {name: int(s["documents"]) for name, s in report["streams"].items()},
        "currencies": sorted({c for s in report["streams"].values() for c in s["by_currency"]}),
    }


def headline(brief_report: dict[str, Any]) -> str:
    """One line from `brief()`: `Reconciliation: 0 documents out of balance (300 invoices, 30 credit notes; …)`."""
    documents = brief_report.get("documents") or {}
    counts = ", ".join(f"{n} {stream.replace('_', ' ')}" for stream, n in documents.items())
    currencies = ", ".join(brief_report.get("currencies") or []) or "no currency"
    return (
        f"Reconciliation: {int(brief_report.get('out_of_balance', 0))} documents out of balance "
        f"({counts}; lines against Sellsy's document totals, in {currencies})"
    )


def report_key(account_id: str, run_id: str) -> str:
    return f"exports/{account_id}/{run_id}/reconciliation.json"


def put_report(bucket: str, account_id: str, run_id: str, report: dict[str, Any]) -> dict[str, Any]:
    """Write the report next to the run's exports; returns its export entry."""
    key = report_key(account_id, run_id)
    body = json.dumps({"account_id": account_id, "run_id": run_id, **report}, indent=1).encode()
    client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    return {"key": key, "bytes": len(body)}
