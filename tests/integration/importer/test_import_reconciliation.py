"""Money reconciles end to end: a sandbox with every row type and discount kind imported over real HTTP.

The oracle is Sellsy's own document totals as the sandbox serves them (`GET /invoices/{id}`), never the
mapping's sums; the run's report, its `reconciliation.json` and its summary must say the same. Also here:
deletions are marked on customers and on the lines of a deleted document.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bridge.adapters import import_state, records_repo
from bridge.domain import revenue
from tests.integration.importer.test_import_flow import stream_records
from tests.integration.importer.test_import_sandbox import new_account, run_to_end

pytestmark = pytest.mark.slow

CENT = Decimal("0.01")


@pytest.fixture
def sb(sandbox_factory: Any, aws: Any) -> Any:
    return sandbox_factory(seed=7, size=60)


def _sellsy_documents(sb: Any, plural: str, ids: list[int]) -> dict[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {sb.access_token()}"}
    with httpx.Client(base_url=sb.api_url, headers=headers) as api:
        return {i: api.get(f"/{plural}/{i}").raise_for_status().json() for i in ids}


def test_every_imported_document_reconciles_with_sellsys_totals(sb, aws):
    state = sb.state()
    row_types = {r["type"] for d in state["invoices"] for r in d["rows"]}
    # deposit and progress rows too (every row type is checked on the default sandbox, in the unit tests)
    assert {"single", "catalog", "deposit", "progress-catalog"} <= row_types, row_types
    assert {d["discount"]["type"] for d in state["invoices"] if d.get("discount")} == {"percent", "amount"}
    assert any(d.get("discount") for d in state["creditnotes"])

    account = new_account()
    bucket = aws.env["REPORTS_BUCKET"]
    answer = run_to_end(account, sb, bucket)
    assert answer["status"] == "done"
    for stream, plural, sign in ((revenue.INVOICES, "invoices", 1), (revenue.CREDIT_NOTES, "credit-notes", -1)):
        sellsy = _sellsy_documents(sb, plural, [d["id"] for d in state[plural.replace("-", "")]])
        sums: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        line_stream = revenue.LINE_STREAM[stream]
        id_field = "original_invoice_id" if stream == revenue.INVOICES else "original_credit_note_id"
        for line in stream_records(account, line_stream).values():
            for name in ("amount_excl_tax", "tax_amount", "amount_incl_tax"):
                sums[str(line["data"][id_field])][name] += Decimal(str(line["data"][name]))
        for doc_id, doc in sellsy.items():
            excl = Decimal(doc["amounts"]["total_excl_tax"]) * sign
            incl = Decimal(doc["amounts"]["total_incl_tax"]) * sign
            got = sums[str(doc_id)]
            assert abs(got["amount_excl_tax"] - excl) <= CENT, (stream, doc_id, got, excl)
            assert abs(got["amount_incl_tax"] - incl) <= CENT, (stream, doc_id, got, incl)
            assert abs(got["tax_amount"] - (incl - excl)) <= CENT, (stream, doc_id, got)

    final = records_repo.get_record(account, revenue.INVOICES, "8")
    assert final is not None and final["data"]["original_deposit_invoice_ids"] == [7]  # embed[]=deposits
    assert final["data"]["deposit_amount_excl_tax"] < 0
    summary = import_state.load_run(account, answer["run_id"])["summary"]
    report = summary["reconciliation"]
    assert report["out_of_balance"] == 0
    assert report["streams"]["invoices"]["documents"] == len(state["invoices"])
    eur = report["streams"]["invoices"]["by_currency"]["EUR"]
    assert eur["documents_amount_excl_tax"] == eur["lines_amount_excl_tax"]
    assert answer["progress"]["reconciliation"]["out_of_balance"] == 0
    stored = aws.client("s3").get_object(Bucket=bucket, Key=summary["exports"]["reconciliation"]["key"])
    assert json.loads(stored["Body"].read())["streams"] == report["streams"]


def test_a_document_sellsy_totals_cannot_explain_is_imported_flagged_and_listed(sb, aws):
    account = new_account()
    sb.act_edit_invoice(3, amounts_override={"total_excl_tax": "1.00"})
    answer = run_to_end(account, sb, aws.env["REPORTS_BUCKET"])
    record = records_repo.get_record(account, revenue.INVOICES, "3")
    assert record is not None and record["data"]["out_of_balance"] is True
    assert record["data"]["out_of_balance_amount_excl_tax"] > 0
    report = import_state.load_run(account, answer["run_id"])["summary"]["reconciliation"]
    assert report["out_of_balance"] == 1
    assert [f["id"] for f in report["streams"]["invoices"]["flagged"]] == ["3"]
    assert stream_records(account, revenue.INVOICE_LINES)  # its lines are imported all the same


def test_a_deleted_customer_and_the_lines_of_a_deleted_document_are_marked(sb, aws):
    headers = {"Authorization": f"Bearer {sb.access_token()}"}
    company = httpx.post(f"{sb.api_url}/companies", json={"type": "client", "name": "Éphémère"}, headers=headers)
    customer = {"type": "company", "id": company.raise_for_status().json()["id"]}
    account = new_account()
    run_to_end(account, sb)
    invoice = sb.state()["invoices"][4]
    httpx.delete(f"{sb.api_url}/companies/{customer['id']}", headers=headers).raise_for_status()
    sb.act_delete_document("invoice", invoice["id"])
    answer = run_to_end(account, sb)
    day = f"{answer['run_id'][:4]}-{answer['run_id'][4:6]}-{answer['run_id'][6:8]}"
    kept = records_repo.get_record(account, revenue.CUSTOMERS, f"{customer['type']}-{customer['id']}")
    assert kept is not None and kept["not_seen_since"] == day
    lines = [k for k in stream_records(account, revenue.INVOICE_LINES) if k.startswith(f"{invoice['id']}-")]
    assert lines
    for key in lines:
        assert records_repo.get_record(account, revenue.INVOICE_LINES, key)["not_seen_since"] == day
    counters = answer["progress"]["counters"]
    assert counters["customers"]["not_seen"] == 1 and counters["invoice_lines"]["not_seen"] == len(lines)
