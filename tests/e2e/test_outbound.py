"""End to end on the embedded default (moto server + Sellsy sandbox + local gateway + SQS pump), F5/F2:

accepted quote in Sellsy → intervention (inbound) → completion through our HTTP API → worker → Sellsy,
checked in the sandbox's own state (invoices, files, comments, addresses).
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from bridge.adapters import field_repo, reports_store
from bridge.domain.accounts import AccountSettings
from bridge.domain.report_pdf import render_report
from bridge.domain.triggers import marker
from bridge.flows import accounts as account_flows
from bridge.flows.outbound import runner
from tests.fixtures.polling import wait_for
from tests.integration.outbound.scenario import (
    Scenario,
    make_scenario,
    row_summary,
    sandbox_comments,
    sandbox_files,
    sandbox_invoices,
    sellsy_client,
)

pytestmark = pytest.mark.e2e

COMMENT = "Intervention {number} terminée par {technician} le {completed_date} ({used_items_count} articles)."
REPORT_TRIGGER = {
    "name": "job done",
    "when": {"has_estimate": True},
    "actions": [
        {"type": "convert_quote", "validate": False},
        {"type": "upload_report", "target": "estimate"},
        {"type": "upload_report", "target": "opportunity"},
        {"type": "add_comment", "target": "opportunity", "template": COMMENT},
    ],
}


@pytest.fixture(scope="module")
def sellsy(stack: Any) -> Iterator[Any]:
    client = sellsy_client(stack.sandbox)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # A crashed attempt keeps its lease until it expires; with 0 s the queue's retry can run at once.
    monkeypatch.setenv("OUTBOUND_LEASE_SECONDS", "0")


def connect(stack: Any, triggers: list[dict[str, Any]], **settings: Any) -> str:
    account_id = f"out-{uuid.uuid4().hex[:10]}"
    account_flows.create_account(
        name="Outbound e2e",
        account_id=account_id,
        settings=AccountSettings.model_validate({"triggers": triggers, "sync_direction": "both", **settings}),
        webhook_signing_key=f"key-{uuid.uuid4().hex}",
    )
    account_flows.connect_client_credentials(
        account_id, client_id=stack.sandbox.client_id, client_secret=stack.sandbox.client_secret
    )
    account_flows.register_webhook(account_id, endpoint_url=f"{stack.api_url}/webhooks/sellsy/{account_id}")
    return account_id


def settle(stack: Any) -> None:
    stack.sandbox.wait_webhooks_idle()
    assert stack.pump.wait_idle(timeout=60)


def accepted_quote(
    stack: Any, api: httpx.Client, sellsy: Any, account_id: str, **quote: Any
) -> tuple[Scenario, dict[str, Any]]:
    """A quote accepted in Sellsy, and the intervention the inbound flow made of it."""
    scenario = make_scenario(sellsy, **quote)  # accepting it emits the estimate.step webhook
    path = f"/accounts/{account_id}/interventions/est-{scenario.estimate_id}"
    answer = wait_for(lambda: (r := api.get(path)).status_code == 200 and r)
    if not answer:
        exchanges = api.get(f"/accounts/{account_id}/exchanges").json()["items"]
        seen = [(e["kind"], e["status"], e.get("reason")) for e in exchanges]
        pytest.fail(f"no intervention for estimate {scenario.estimate_id}; exchanges: {seen}")
    intervention = answer.json()
    assert (intervention["estimate_id"], intervention["opportunity_id"]) == (
        scenario.estimate_id,
        scenario.opportunity_id,
    )
    return scenario, intervention


def upload_report(api: httpx.Client, account_id: str, intervention_id: str, pdf: bytes) -> str:
    ticket = api.post(
        f"/accounts/{account_id}/interventions/{intervention_id}/report-upload-url", json={"size": len(pdf)}
    )
    assert ticket.status_code == 200, ticket.text
    body = ticket.json()
    put = httpx.put(body["upload_url"], content=pdf, headers=body["headers"], timeout=30)
    assert put.status_code == 200, put.text
    return str(body["report_key"])


def complete(api: httpx.Client, account_id: str, intervention_id: str, **body: Any) -> httpx.Response:
    payload = {"technician": "Marc Dubois", "notes": "Filtre remplacé, pression OK", **body}
    return api.post(f"/accounts/{account_id}/interventions/{intervention_id}/complete", json=payload)


def test_completion_with_used_items_and_uploaded_pdf_runs_every_action(stack, api, sellsy):
    account_id = connect(stack, [REPORT_TRIGGER])
    scenario, intervention = accepted_quote(stack, api, sellsy, account_id)
    itv = intervention["id"]
    pdf = render_report({"id": itv, "number": "FIELD-APP-REPORT", "technician": "Marc Dubois"})
    key = upload_report(api, account_id, itv, pdf)

    answer = complete(api, account_id, itv, report_key=key, used_items=[{"sku": scenario.skus[0], "quantity": 2}])
    assert answer.status_code == 202, answer.text
    assert answer.json()["report"] == "uploaded"
    settle(stack)

    [invoice] = sandbox_invoices(stack.sandbox, marker(itv, "job done", 0))
    assert invoice["status"] == "draft"
    assert invoice["parent"] == {"id": scenario.estimate_id, "type": "estimate"}
    assert row_summary(invoice["rows"]) == row_summary(scenario.estimate["rows"])
    digest = hashlib.sha256(pdf).hexdigest()
    for target, target_id in (("estimate", scenario.estimate_id), ("opportunity", scenario.opportunity_id)):
        [attached] = sandbox_files(stack.sandbox, target, target_id, f"report-{itv}.pdf")
        assert attached["_sha256"] == digest  # the field app's own PDF, byte for byte
    [comment] = sandbox_comments(stack.sandbox, "opportunity", scenario.opportunity_id)
    assert comment["description"].startswith(f"Intervention {scenario.estimate['number']} terminée par Marc Dubois le ")
    # Links back: the intervention keeps deep links to the invoice and the files.
    stored = api.get(f"/accounts/{account_id}/interventions/{itv}").json()
    assert stored["status"] == "completed"
    assert stored["sellsy_links"]["invoices"] == [f"https://www.sellsy.com/?_f=invoiceOverview&id={invoice['id']}"]
    assert len(stored["sellsy_links"]["files"]) == 2
    # The same completion sent again is accepted and changes nothing; a different one is refused.
    again = complete(api, account_id, itv, report_key=key, used_items=[{"sku": scenario.skus[0], "quantity": 2}])
    assert again.status_code == 202 and again.json()["already_completed"] is True
    settle(stack)
    assert len(sandbox_invoices(stack.sandbox, marker(itv, "job done", 0))) == 1
    other = complete(api, account_id, itv, used_items=[{"sku": scenario.skus[1], "quantity": 1}])
    assert other.status_code == 409 and other.json()["error"]["code"] == "conflict"


def test_validated_conversion_and_invoice_from_items(stack, api, sellsy):
    triggers = [
        {"name": "convert", "actions": [{"type": "convert_quote", "validate": True}]},
        {"name": "items", "when": {"has_used_items": True}, "actions": [{"type": "invoice_from_items"}]},
    ]
    account_id = connect(stack, triggers)
    scenario, intervention = accepted_quote(stack, api, sellsy, account_id)
    itv = intervention["id"]
    used = [{"sku": scenario.skus[0], "quantity": "3"}, {"sku": scenario.skus[1], "quantity": "1.5", "tax_rate": 10}]

    assert complete(api, account_id, itv, used_items=used).status_code == 202
    settle(stack)

    [converted] = sandbox_invoices(stack.sandbox, marker(itv, "convert", 0))
    assert converted["status"] == "due" and converted["number"]
    assert row_summary(converted["rows"]) == row_summary(scenario.estimate["rows"])
    [from_items] = sandbox_invoices(stack.sandbox, marker(itv, "items", 0))
    assert [(r["reference"], r["quantity"], r["tax_id"]) for r in from_items["rows"]] == [
        (scenario.skus[0], "3.00", scenario.items[0]["tax_id"]),
        (scenario.skus[1], "1.50", 2),
    ]


def test_unknown_sku_is_a_clear_error_and_creates_no_invoice(stack, api, sellsy):
    account_id = connect(stack, [{"name": "items", "actions": [{"type": "invoice_from_items"}]}])
    scenario, intervention = accepted_quote(stack, api, sellsy, account_id)
    itv = intervention["id"]
    used = [{"sku": scenario.skus[0], "quantity": 1}, {"sku": "GHOST-404", "quantity": 1}]

    assert complete(api, account_id, itv, used_items=used).status_code == 202
    settle(stack)

    assert sandbox_invoices(stack.sandbox, itv) == []
    failed = api.get(f"/accounts/{account_id}/exchanges", params={"status": "failed", "field_id": itv}).json()
    [record] = [r for r in failed["items"] if r["kind"] == "action_invoice_from_items"]
    assert "GHOST-404" in record["reason"] and "nothing was invoiced" in record["reason"]


def test_generated_report_parses_and_carries_the_intervention_data(stack, api, sellsy):
    account_id = connect(stack, [{"name": "r", "actions": [{"type": "upload_report", "target": "estimate"}]}])
    scenario, intervention = accepted_quote(stack, api, sellsy, account_id)
    itv = intervention["id"]

    answer = complete(api, account_id, itv, used_items=[{"sku": scenario.skus[1], "quantity": 4}], work_done="Ramonage")
    assert answer.status_code == 202 and answer.json()["report"] == "generated"
    settle(stack)

    pdf = reports_store.read(reports_store.generated_key(account_id, itv))
    [attached] = sandbox_files(stack.sandbox, "estimate", scenario.estimate_id, f"report-{itv}.pdf")
    assert attached["_sha256"] == hashlib.sha256(pdf).hexdigest()
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for expected in (
        intervention["customer_name"],
        "Marc Dubois",
        "Ramonage",
        scenario.skus[1],
        "Filtre remplacé, pression OK",
        str(intervention["number"]),
    ):
        assert expected in text, expected


@pytest.mark.parametrize("point", ["before_call", "after_call_before_ledger", "after_ledger"])
def test_crashes_then_retries_and_a_replay_leave_exactly_one_of_each(stack, api, sellsy, point):
    account_id = connect(stack, [REPORT_TRIGGER])
    scenario, intervention = accepted_quote(stack, api, sellsy, account_id)
    itv = intervention["id"]
    crashed: set[str] = set()

    def crash_once(planned: Any) -> None:
        if planned.key not in crashed:
            crashed.add(planned.key)
            raise RuntimeError(f"injected crash {point} in {planned.key}")

    setattr(runner.ACTIVE_HOOKS, point, crash_once)
    try:
        assert complete(api, account_id, itv, used_items=[{"sku": scenario.skus[0], "quantity": 1}]).status_code == 202
        settle(stack)
    finally:
        setattr(runner.ACTIVE_HOOKS, point, None)
    assert len(crashed) == 4  # every action crashed once, in a real worker run, and was retried
    failed = api.get(f"/accounts/{account_id}/exchanges", params={"status": "failed", "field_id": itv}).json()
    assert failed["items"], "each crash is a failed, replayable exchange"
    replay = api.post(f"/accounts/{account_id}/exchanges/{failed['items'][0]['id']}/replay")
    assert replay.status_code in (200, 202), replay.text
    settle(stack)

    assert len(sandbox_invoices(stack.sandbox, marker(itv, "job done", 0))) == 1
    name = f"report-{itv}.pdf"
    assert len(sandbox_files(stack.sandbox, "estimate", scenario.estimate_id, name)) == 1
    assert len(sandbox_files(stack.sandbox, "opportunity", scenario.opportunity_id, name)) == 1
    assert len(sandbox_comments(stack.sandbox, "opportunity", scenario.opportunity_id)) == 1


def test_address_changed_on_the_field_side_reaches_sellsy_without_echo(stack, api, sellsy):
    account_id = connect(stack, [])
    scenario, _ = accepted_quote(stack, api, sellsy, account_id)
    company_id = scenario.company_id
    address = sellsy.post(
        f"/companies/{company_id}/addresses",
        json={
            "name": "Site",
            "address_line_1": "1 quai Perrache",
            "postal_code": "69002",
            "city": "Lyon",
            "country_code": "FR",
            "is_delivery_address": True,
        },
    )
    customer_path = f"/accounts/{account_id}/customers/company-{company_id}"
    synced = wait_for(
        lambda: (r := api.get(customer_path)).status_code == 200 and (r.json().get("address") or {}).get("id")
    )
    assert synced == address["id"], "the inbound sync knows the customer's delivery address"
    settle(stack)
    stack.sandbox.reset_calls()

    change = {
        "address": {
            "lines": ["27 rue Garibaldi", "Bâtiment B"],
            "postal_code": "69006",
            "city": "Lyon",
            "country_code": "FR",
        }
    }
    answer = api.patch(customer_path, json=change)
    assert answer.status_code == 202, answer.text
    settle(stack)

    [stored] = [a for a in stack.sandbox.state("addresses")["addresses"] if a["id"] == address["id"]]
    assert (stored["address_line_1"], stored["address_line_2"], stored["postal_code"]) == (
        "27 rue Garibaldi",
        "Bâtiment B",
        "69006",
    )
    customer = api.get(customer_path).json()
    assert customer["address"]["lines"] == ["27 rue Garibaldi", "Bâtiment B"]
    exchanges = api.get(f"/accounts/{account_id}/exchanges", params={"limit": 200}).json()["items"]
    kinds = [(e["kind"], e["status"]) for e in exchanges]
    assert ("customer_pushed", "ok") in kinds
    assert ("echo_suppressed", "skipped") in kinds, kinds  # Sellsy's webhook about our own write
    assert ("customer_updated", "ok") not in kinds[: kinds.index(("customer_pushed", "ok"))]
    routes = stack.sandbox.calls()["routes"]
    writes = {r: n for r, n in routes.items() if r.startswith(("PUT /v2", "POST /v2")) and "/search" not in r}
    assert writes == {"PUT /v2/companies/{companyId}/addresses/{id}": 1}  # one write, nothing bounced back


def test_push_is_refused_when_the_account_only_syncs_from_sellsy(stack, api, sellsy):
    account_id = connect(stack, [], sync_direction="sellsy_to_field")
    scenario, _ = accepted_quote(stack, api, sellsy, account_id)
    answer = api.patch(
        f"/accounts/{account_id}/customers/company-{scenario.company_id}",
        json={"main_contact": {"phone": "+33 4 78 00 00 00"}},
    )
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "direction_not_allowed"


def test_bad_requests_are_clear_4xx_and_enqueue_nothing(stack, api, sellsy):
    account_id = connect(stack, [REPORT_TRIGGER])
    _, intervention = accepted_quote(stack, api, sellsy, account_id)
    itv = intervention["id"]
    base = f"/accounts/{account_id}/interventions"
    missing = complete(api, account_id, "est-999999")
    assert missing.status_code == 404 and "est-999999" in missing.json()["error"]["message"]
    bad = api.post(f"{base}/{itv}/complete", json={"technician": "M", "used_items": [{"sku": "A", "quantity": -2}]})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_failed"
    assert "used_items" in bad.json()["error"]["message"]
    broken = api.post(f"{base}/{itv}/complete", content=b"{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    foreign = complete(api, account_id, itv, report_key=f"reports/other/{itv}/upload-x.pdf")
    assert foreign.status_code == 400 and foreign.json()["error"]["code"] == "bad_report"
    not_uploaded = complete(api, account_id, itv, report_key=f"reports/{account_id}/{itv}/upload-none.pdf")
    assert not_uploaded.status_code == 400 and "upload" in not_uploaded.json()["error"]["message"]
    too_big = api.post(f"{base}/{itv}/report-upload-url", json={"size": 15 * 1024 * 1024 + 1})
    assert too_big.status_code == 400 and too_big.json()["error"]["code"] == "report_too_large"
    not_pdf = api.post(f"{base}/{itv}/report-upload-url", json={"size": 100, "content_type": "image/png"})
    assert not_pdf.status_code == 422
    settle(stack)
    stored = api.get(f"{base}/{itv}").json()
    assert stored["status"] == "new"  # nothing was completed by the refused calls

    def cancel(current: Any) -> Any:
        current.status = "cancelled"
        return current

    field_repo.update_intervention(account_id, itv, cancel)
    cancelled = complete(api, account_id, itv)
    assert cancelled.status_code == 409 and "cancelled" in cancelled.json()["error"]["message"]


CONVERT_AND_VALIDATE = [{"name": "convert", "actions": [{"type": "convert_quote", "validate": True}]}]


def test_a_discounted_gbp_quote_becomes_an_invoice_equal_to_it(stack, api, sellsy):
    account_id = connect(stack, CONVERT_AND_VALIDATE)
    scenario, intervention = accepted_quote(stack, api, sellsy, account_id, currency="GBP", discounted=True)
    itv = intervention["id"]
    quote = sellsy.get(f"/estimates/{scenario.estimate_id}")  # the oracle: the quote's own totals in Sellsy
    assert quote["currency"] == "GBP" and quote["discount"]["type"] == "percent"

    assert complete(api, account_id, itv).status_code == 202
    settle(stack)

    [invoice] = sandbox_invoices(stack.sandbox, marker(itv, "convert", 0))
    assert invoice["status"] == "due"
    assert invoice["currency"] == "GBP"
    assert row_summary(invoice["rows"]) == row_summary(quote["rows"])
    assert [r.get("discount", {}).get("value") for r in invoice["rows"]] == [
        r.get("discount", {}).get("value") for r in quote["rows"]
    ]
    for quote_key, invoice_key in (
        ("total_raw_excl_tax", "total_raw_excl_tax"),
        ("total_excl_tax", "total_excl_tax"),
        ("total", "total_incl_tax"),
    ):
        assert invoice["amounts"][invoice_key] == quote["amounts"][quote_key], quote_key


def test_an_invoice_forced_to_differ_is_a_failed_exchange_and_stays_a_draft(stack, api, sellsy):
    account_id = connect(stack, CONVERT_AND_VALIDATE)
    _, intervention = accepted_quote(stack, api, sellsy, account_id, currency="GBP", discounted=True)
    itv = intervention["id"]
    stack.sandbox.act("perturb-invoices", currency="EUR", drop_discount=True)

    assert complete(api, account_id, itv).status_code == 202
    settle(stack)

    [invoice] = sandbox_invoices(stack.sandbox, marker(itv, "convert", 0))
    assert invoice["status"] == "draft" and not invoice["number"]
    failed = api.get(f"/accounts/{account_id}/exchanges", params={"status": "failed", "field_id": itv}).json()
    [record] = [r for r in failed["items"] if r["kind"] == "action_convert_quote"]
    assert record["sellsy_id"] == str(invoice["id"])
    assert "currency: quote 'GBP', invoice 'EUR'" in record["reason"]
    assert "discount: quote" in record["reason"]


def test_a_refused_quote_is_not_invoiced_unless_the_completion_says_force(stack, api, sellsy):
    account_id = connect(stack, CONVERT_AND_VALIDATE)
    scenario, intervention = accepted_quote(stack, api, sellsy, account_id)
    itv = intervention["id"]
    stack.sandbox.act_set_estimate_status(scenario.estimate_id, "refused")
    flagged = wait_for(lambda: api.get(f"/accounts/{account_id}/interventions/{itv}").json().get("flags"))
    assert flagged, "the refused quote should flag its intervention"

    assert complete(api, account_id, itv).status_code == 202
    settle(stack)
    assert sandbox_invoices(stack.sandbox, itv) == []
    held = api.get(f"/accounts/{account_id}/exchanges", params={"status": "skipped", "field_id": itv}).json()
    [record] = [r for r in held["items"] if r["kind"] == "action_convert_quote"]
    assert "refused" in record["reason"] and "force" in record["reason"]

    bad = complete(api, account_id, itv, force="yes")
    assert bad.status_code == 422 and "force" in bad.json()["error"]["message"]
    assert complete(api, account_id, itv, force=True).status_code == 202
    settle(stack)
    [invoice] = sandbox_invoices(stack.sandbox, marker(itv, "convert", 0))
    assert invoice["status"] == "due"
