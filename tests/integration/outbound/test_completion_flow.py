"""The worker half of F5 on real parts: moto server (ledger, interventions, exchange log, S3) and the
Sellsy sandbox (invoices, files, comments), driven by ``run_completion`` with a sandbox client."""

from __future__ import annotations

import hashlib
import io
import uuid
from typing import Any

import pytest
from pypdf import PdfReader

from bridge.adapters import accounts_repo, field_repo, ledger_repo, reports_store
from bridge.domain.accounts import AccountSettings
from bridge.domain.triggers import marker
from bridge.flows import accounts as accounts_flow
from bridge.flows.exchange_log import list_exchanges
from bridge.flows.outbound.completion import run_completion
from bridge.flows.outbound.runner import Hooks
from bridge.sellsy.errors import PaymentRequired
from tests.integration.outbound.scenario import (
    invoices_with,
    make_scenario,
    row_summary,
    sandbox_comments,
    sandbox_files,
    sandbox_invoices,
    sellsy_client,
    store_intervention,
)


class SimulatedCrash(Exception):
    pass


@pytest.fixture
def sellsy(sandbox):
    client = sellsy_client(sandbox)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def short_lease(monkeypatch):
    # A crashed attempt keeps its lease; tests retry at once instead of waiting for it to expire.
    monkeypatch.setenv("OUTBOUND_LEASE_SECONDS", "0")


def make_account(triggers: list[dict[str, Any]]) -> str:
    account_id = f"out-{uuid.uuid4().hex[:8]}"
    accounts_flow.create_account(
        name="Outbound test", account_id=account_id, settings=AccountSettings.model_validate({"triggers": triggers})
    )
    accounts_repo.set_status(account_id, "active", None)
    return account_id


def message(account_id: str, intervention_id: str) -> dict[str, Any]:
    return {
        "kind": "intervention.completed",
        "account_id": account_id,
        "delivery_id": uuid.uuid4().hex,
        "correlation_id": uuid.uuid4().hex,
        "payload": {"intervention_id": intervention_id},
    }


def completed(account_id: str, scenario, **extra: Any):
    fields = {
        "technician": "Marc Dubois",
        "completed_at": "2026-11-20T15:30:00+00:00",
        "notes": "Filtre remplacé",
        "used_items": [{"sku": sku, "quantity": "2"} for sku in scenario.skus],
    }
    fields.update(extra)
    return store_intervention(account_id, scenario, status="completed", **fields)


@pytest.mark.parametrize("validate", [False, True])
def test_convert_quote_creates_one_invoice_whose_rows_match_the_estimate(aws, sellsy, validate):
    account_id = make_account([{"name": "invoice", "actions": [{"type": "convert_quote", "validate": validate}]}])
    scenario = make_scenario(sellsy)
    intervention = completed(account_id, scenario)

    result = run_completion(message(account_id, intervention.id), sellsy=sellsy)

    [outcome] = result.outcomes
    assert (outcome.state, outcome.sellsy_type) == ("done", "invoice")
    mark = marker(intervention.id, "invoice", 0)
    [invoice] = invoices_with(sellsy, scenario.company_id, mark)
    assert str(invoice["id"]) == outcome.sellsy_id
    # The marker is only in the private custom field (invoices_with checks subject and order reference).
    assert invoice["subject"] == scenario.estimate["subject"] and not invoice["order_reference"]
    assert invoice["parent"] == {"id": scenario.estimate_id, "type": "estimate"}
    assert invoice["status"] == ("due" if validate else "draft")
    assert row_summary(invoice["rows"]) == row_summary(scenario.estimate["rows"])
    stored = field_repo.get_intervention(account_id, intervention.id)
    assert stored.sellsy_links["invoices"] == [f"https://www.sellsy.com/?_f=invoiceOverview&id={invoice['id']}"]
    assert ledger_repo.get(account_id, intervention.id, "invoice#0").state == "done"
    # Running the same message again (SQS redelivery) creates nothing.
    again = run_completion(message(account_id, intervention.id), sellsy=sellsy)
    assert again.outcomes[0].already_done
    assert len(invoices_with(sellsy, scenario.company_id, mark)) == 1


def test_invoice_from_items_rows_are_the_used_items(aws, sellsy):
    account_id = make_account([{"name": "items", "actions": [{"type": "invoice_from_items"}]}])
    scenario = make_scenario(sellsy)
    used = [
        {"sku": scenario.skus[0], "quantity": "3"},
        {"sku": scenario.skus[1], "quantity": "1.5", "unit_price": "42.5", "tax_rate": "10"},
    ]
    intervention = completed(account_id, scenario, used_items=used)

    [outcome] = run_completion(message(account_id, intervention.id), sellsy=sellsy).outcomes

    assert outcome.state == "done", outcome.reason
    [invoice] = invoices_with(sellsy, scenario.company_id, marker(intervention.id, "items", 0))
    rows = [r for r in invoice["rows"] if r["type"] == "catalog"]
    assert [(r["reference"], r["related"]["id"], r["quantity"]) for r in rows] == [
        (scenario.skus[0], scenario.items[0]["id"], "3.00"),
        (scenario.skus[1], scenario.items[1]["id"], "1.50"),
    ]
    assert rows[1]["unit_amount"] == "42.50"
    assert rows[1]["tax_id"] == 2  # 10 % resolved to the account's tax id by value
    # A one-day job has no service period Sellsy accepts (its end must be after its start): none is sent.
    assert "service_dates" not in invoice
    assert invoice.get("parent") in (None, {})


def test_unknown_sku_fails_clearly_and_creates_no_invoice(aws, sellsy):
    account_id = make_account([{"name": "items", "actions": [{"type": "invoice_from_items"}]}])
    scenario = make_scenario(sellsy)
    used = [{"sku": scenario.skus[0], "quantity": "1"}, {"sku": "NO-SUCH-SKU", "quantity": "1"}]
    intervention = completed(account_id, scenario, used_items=used)

    [outcome] = run_completion(message(account_id, intervention.id), sellsy=sellsy).outcomes

    assert (outcome.state, outcome.code) == ("failed", "unknown_sku")
    assert "NO-SUCH-SKU" in outcome.reason
    assert invoices_with(sellsy, scenario.company_id, intervention.id) == []
    entry = ledger_repo.get(account_id, intervention.id, "items#0")
    assert entry.state == "failed" and "NO-SUCH-SKU" in entry.reason
    records, _ = list_exchanges(account_id, status="failed", field_id=intervention.id)
    assert any("NO-SUCH-SKU" in (r.reason or "") and r.kind == "action_invoice_from_items" for r in records)


def test_prospect_is_a_clear_error(aws, sellsy):
    account_id = make_account([{"name": "invoice", "actions": [{"type": "convert_quote"}]}])
    scenario = make_scenario(sellsy, customer_type="prospect")
    intervention = completed(account_id, scenario)

    [outcome] = run_completion(message(account_id, intervention.id), sellsy=sellsy).outcomes

    assert (outcome.state, outcome.code) == ("failed", "customer_is_prospect")
    assert "prospect" in outcome.reason
    assert invoices_with(sellsy, scenario.company_id, intervention.id) == []


@pytest.mark.parametrize("point", ["before_call", "after_call_before_ledger", "after_ledger"])
def test_a_crash_at_any_point_then_retries_leave_exactly_one_invoice(aws, sellsy, point):
    account_id = make_account([{"name": "invoice", "actions": [{"type": "convert_quote", "validate": True}]}])
    scenario = make_scenario(sellsy)
    intervention = completed(account_id, scenario)

    def crash(planned):
        raise SimulatedCrash(point)

    with pytest.raises(SimulatedCrash):
        run_completion(message(account_id, intervention.id), sellsy=sellsy, hooks=Hooks(**{point: crash}))
    for _ in range(2):  # the queue's retry, then a replay
        [outcome] = run_completion(message(account_id, intervention.id), sellsy=sellsy, hooks=Hooks()).outcomes
        assert outcome.state == "done"

    [invoice] = invoices_with(sellsy, scenario.company_id, marker(intervention.id, "invoice", 0))
    assert invoice["status"] == "due"
    entry = ledger_repo.get(account_id, intervention.id, "invoice#0")
    assert (entry.state, entry.sellsy_id) == ("done", str(invoice["id"]))


FULL_TRIGGER = {
    "name": "job done",
    "when": {"has_estimate": True},
    "actions": [
        {"type": "convert_quote", "validate": True},
        {"type": "upload_report", "target": "estimate"},
        {"type": "upload_report", "target": "opportunity"},
        {
            "type": "add_comment",
            "target": "opportunity",
            "template": "Intervention {number} terminée par {technician} le {completed_date}. {used_items}",
        },
    ],
}


def test_generated_report_goes_to_estimate_and_opportunity_and_comment_is_added(aws, sandbox, sellsy):
    account_id = make_account([FULL_TRIGGER])
    scenario = make_scenario(sellsy)
    intervention = completed(account_id, scenario)

    result = run_completion(message(account_id, intervention.id), sellsy=sellsy)

    assert [o.state for o in result.outcomes] == ["done"] * 4, [o.reason for o in result.outcomes]
    pdf = reports_store.read(reports_store.generated_key(account_id, intervention.id))
    digest = hashlib.sha256(pdf).hexdigest()
    name = f"report-{intervention.id}.pdf"
    for target, target_id in (("estimate", scenario.estimate_id), ("opportunity", scenario.opportunity_id)):
        [attached] = sandbox_files(sandbox, target, target_id, name)
        assert attached["_sha256"] == digest
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Marc Dubois" in text and scenario.skus[0] in text and "Filtre remplacé" in text
    [comment] = sandbox_comments(sandbox, "opportunity", scenario.opportunity_id)
    assert comment["description"].startswith(
        f"Intervention {scenario.estimate['number']} terminée par Marc Dubois le 2026-11-20."
    )
    assert comment["description"].endswith("2 × " + scenario.skus[1])  # the text alone: no marker appended
    stored = field_repo.get_intervention(account_id, intervention.id)
    assert len(stored.sellsy_links["files"]) == 2 and len(stored.sellsy_links["invoices"]) == 1


def test_uploaded_report_above_15_mb_is_a_clear_error(aws, sandbox, sellsy):
    account_id = make_account([{"name": "r", "actions": [{"type": "upload_report", "target": "estimate"}]}])
    scenario = make_scenario(sellsy)
    key = f"{reports_store.report_prefix(account_id, f'est-{scenario.estimate_id}')}upload-big.pdf"
    aws.client("s3").put_object(Bucket=aws.env["REPORTS_BUCKET"], Key=key, Body=b"%PDF-" + b"0" * (15 * 1024 * 1024))
    intervention = completed(account_id, scenario, report_key=key)

    [outcome] = run_completion(message(account_id, intervention.id), sellsy=sellsy).outcomes

    assert (outcome.state, outcome.code) == ("failed", "file_too_large")
    assert "15" in outcome.reason or str(15 * 1024 * 1024) in outcome.reason
    assert sandbox_files(sandbox, "estimate", scenario.estimate_id, f"report-{intervention.id}.pdf") == []


@pytest.mark.parametrize("point", ["before_call", "after_call_before_ledger", "after_ledger"])
def test_crashes_in_every_action_then_retries_and_replay_leave_one_of_each(aws, sandbox, sellsy, point):
    account_id = make_account([FULL_TRIGGER])
    scenario = make_scenario(sellsy)
    intervention = completed(account_id, scenario)
    crashed: set[str] = set()

    def crash_once_per_action(planned):
        if planned.key not in crashed:
            crashed.add(planned.key)
            raise SimulatedCrash(f"{point} {planned.key}")

    hooks = Hooks(**{point: crash_once_per_action})
    crashes = 0
    for _ in range(10):
        try:
            result = run_completion(message(account_id, intervention.id), sellsy=sellsy, hooks=hooks)
            break
        except SimulatedCrash:
            crashes += 1
    assert crashes == 4
    assert [o.state for o in result.outcomes] == ["done"] * 4
    run_completion(message(account_id, intervention.id), sellsy=sellsy)  # a replay: nothing new

    [invoice] = sandbox_invoices(sandbox, marker(intervention.id, "job done", 0))
    assert invoice["status"] == "due"
    name = f"report-{intervention.id}.pdf"
    assert len(sandbox_files(sandbox, "estimate", scenario.estimate_id, name)) == 1
    assert len(sandbox_files(sandbox, "opportunity", scenario.opportunity_id, name)) == 1
    assert len(sandbox_comments(sandbox, "opportunity", scenario.opportunity_id)) == 1


def test_completion_schedules_the_next_recurring_intervention(aws, sellsy):
    account_id = f"out-{uuid.uuid4().hex[:8]}"
    rules = [{"custom_field": "annual-contract", "equals": True, "tag": "annual-contract", "recurrence": "P1Y"}]
    accounts_flow.create_account(
        name="Recurring", account_id=account_id, settings=AccountSettings.model_validate({"custom_field_rules": rules})
    )
    accounts_repo.set_status(account_id, "active", None)
    scenario = make_scenario(sellsy)
    intervention = completed(account_id, scenario, tags=["annual-contract"])

    run_completion(message(account_id, intervention.id), sellsy=sellsy)

    follow_up = field_repo.get_intervention(account_id, f"{intervention.id}-r1")
    assert follow_up is not None and follow_up.due_date == "2027-11-20"


def test_a_plan_limit_stops_only_that_action_retries_later_and_never_marks_the_account(aws, sandbox, sellsy):
    account_id = make_account(
        [
            {"name": "invoice", "actions": [{"type": "convert_quote"}]},
            {"name": "note", "actions": [{"type": "add_comment", "target": "estimate", "template": "Done"}]},
        ]
    )
    scenario = make_scenario(sellsy)
    intervention = completed(account_id, scenario)
    sandbox.set_faults(plan_limited=["POST /v2/invoices"])
    try:
        with pytest.raises(PaymentRequired):  # the queue retries the message later
            run_completion(message(account_id, intervention.id), sellsy=sellsy)
    finally:
        sandbox.clear_faults()
    account = accounts_repo.require_account(account_id)
    assert account.status == "active"
    assert [limit.action for limit in account.health.plan_limits] == ["convert_quote"]
    records, _ = list_exchanges(account_id, status="failed", field_id=intervention.id)
    assert any(r.kind == "action_convert_quote" and "plan limit" in (r.reason or "") for r in records)
    assert len(sandbox_comments(sandbox, "estimate", scenario.estimate_id, "Done")) == 1  # the other action ran
    assert invoices_with(sellsy, scenario.company_id, marker(intervention.id, "invoice", 0)) == []

    retried = run_completion(message(account_id, intervention.id), sellsy=sellsy)
    assert {o.kind: o.state for o in retried.outcomes}["convert_quote"] == "done"
    assert len(invoices_with(sellsy, scenario.company_id, marker(intervention.id, "invoice", 0))) == 1
