"""Quote → invoice on real parts (moto server + Sellsy sandbox): the invoice equals the quote, or it is
left as a draft with a failed exchange naming each difference; some quotes are not converted on purpose.

The sandbox copies nothing on a conversion with only ``parent`` (Sellsy's file does not say it copies
anything), so what the invoice carries is what the connector sent. The oracle is the quote's own totals
as Sellsy computed them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest

from bridge.adapters import ledger_repo
from bridge.domain.interventions import flag_for
from bridge.domain.triggers import marker
from bridge.flows.exchange_log import list_exchanges
from bridge.flows.outbound.completion import run_completion
from tests.integration.outbound.scenario import invoices_with, make_scenario, row_summary
from tests.integration.outbound.test_completion_flow import completed, make_account, message

CONVERT = [{"name": "invoice", "actions": [{"type": "convert_quote", "validate": True}]}]


@pytest.fixture(autouse=True)
def short_lease(monkeypatch):
    # A crashed attempt keeps its lease; the retry runs at once instead of waiting for it to expire.
    monkeypatch.setenv("OUTBOUND_LEASE_SECONDS", "0")


@pytest.fixture
def sellsy(sandbox):
    from tests.integration.outbound.scenario import sellsy_client

    client = sellsy_client(sandbox)
    yield client
    client.close()


def money_of(doc: dict, *keys: str) -> list[Decimal]:
    return [Decimal(doc["amounts"][k]) for k in keys]


def discounts(rows: list[dict]) -> list[tuple | None]:
    return [(r["discount"]["type"], Decimal(r["discount"]["value"])) if r.get("discount") else None for r in rows]


def test_a_discounted_gbp_quote_becomes_an_equal_invoice(aws, sellsy):
    account_id = make_account(CONVERT)
    scenario = make_scenario(sellsy, currency="GBP", discounted=True)
    quote = sellsy.get(f"/estimates/{scenario.estimate_id}")
    assert (
        quote["discount"]["type"] == "percent"
        and quote["amounts"]["total_excl_tax"] != quote["amounts"]["total_raw_excl_tax"]
    )
    intervention = completed(account_id, scenario)

    [outcome] = run_completion(message(account_id, intervention.id), sellsy=sellsy).outcomes

    assert outcome.state == "done", outcome.reason
    [invoice] = invoices_with(sellsy, scenario.company_id, marker(intervention.id, "invoice", 0))
    assert invoice["status"] == "due"
    assert invoice["currency"] == "GBP"
    assert row_summary(invoice["rows"]) == row_summary(quote["rows"])
    assert discounts(invoice["rows"]) == discounts(quote["rows"])
    assert money_of(invoice, "total_raw_excl_tax", "total_excl_tax", "total_incl_tax") == money_of(
        quote, "total_raw_excl_tax", "total_excl_tax", "total"
    )
    assert (invoice["invoicing_address_id"], invoice["delivery_address_id"]) == (
        quote["invoicing_address_id"],
        quote["delivery_address_id"],
    )


@pytest.mark.parametrize(
    "change",
    [{"currency": "EUR"}, {"drop_discount": True}, {"unit_amount_delta": "1.00"}],
    ids=["currency", "global-discount", "row-price"],
)
def test_an_invoice_that_differs_from_its_quote_is_left_as_a_draft_with_a_failed_exchange(aws, sandbox, sellsy, change):
    account_id = make_account(CONVERT)
    scenario = make_scenario(sellsy, currency="GBP", discounted=True)
    intervention = completed(account_id, scenario)
    sandbox.act("perturb-invoices", **change)

    [outcome] = run_completion(message(account_id, intervention.id), sellsy=sellsy).outcomes

    assert (outcome.state, outcome.code) == ("failed", "invoice_differs_from_quote")
    [invoice] = invoices_with(sellsy, scenario.company_id, marker(intervention.id, "invoice", 0))
    assert invoice["status"] == "draft"  # never validated
    assert outcome.sellsy_id == str(invoice["id"])
    fields = {d["field"] for d in outcome.details["differences"]}
    expected = {"currency": "currency", "drop_discount": "discount", "unit_amount_delta": "unit_amount"}[
        next(iter(change))
    ]
    assert any(expected in f for f in fields), fields
    [record] = list_exchanges(account_id, status="failed", field_id=intervention.id)[0]
    assert record.kind == "action_convert_quote" and str(invoice["id"]) in record.reason
    entry = ledger_repo.get(account_id, intervention.id, "invoice#0")
    assert (entry.state, entry.sellsy_id) == ("failed", str(invoice["id"]))
    # A replay checks the same draft again: still different, still one invoice, still a draft.
    [again] = run_completion(message(account_id, intervention.id), sellsy=sellsy).outcomes
    assert again.state == "failed"
    assert [i["status"] for i in invoices_with(sellsy, scenario.company_id, marker(intervention.id, "invoice", 0))] == [
        "draft"
    ]


@pytest.mark.parametrize("status", ["advanced", "partialinvoiced", "invoiced"])
def test_a_quote_already_invoiced_in_part_or_in_full_is_a_named_skip(aws, sandbox, sellsy, status):
    account_id = make_account(CONVERT)
    scenario = make_scenario(sellsy)
    sandbox.act_set_estimate_status(scenario.estimate_id, status)
    intervention = completed(account_id, scenario)

    [outcome] = run_completion(message(account_id, intervention.id), sellsy=sellsy).outcomes

    assert (outcome.state, outcome.code) == ("skipped", "quote_not_converted")
    assert status in outcome.reason
    assert invoices_with(sellsy, scenario.company_id, intervention.id) == []
    records, _ = list_exchanges(account_id, status="skipped", field_id=intervention.id)
    assert [r.kind for r in records] == ["action_convert_quote"]


@pytest.mark.parametrize("lost", ["refused", "cancelled"])
def test_a_flagged_intervention_is_invoiced_only_when_the_completion_says_force(aws, sellsy, lost):
    account_id = make_account(CONVERT)
    scenario = make_scenario(sellsy)
    flags = [flag_for("estimate", lost).model_dump()]
    intervention = completed(account_id, scenario, flags=flags, completion={"fingerprint": "x", "force": False})

    [held] = run_completion(message(account_id, intervention.id), sellsy=sellsy).outcomes
    assert (held.state, held.code) == ("skipped", "intervention_flagged")
    assert lost in held.reason and "force" in held.reason
    assert invoices_with(sellsy, scenario.company_id, intervention.id) == []
    assert ledger_repo.get(account_id, intervention.id, "invoice#0") is None  # nothing claimed

    from bridge.adapters import field_repo
    from bridge.domain.interventions import Intervention

    def force(current: Intervention) -> Intervention:
        data = current.model_dump()
        data["completion"] = {**data["completion"], "force": True}
        return Intervention.model_validate(data)

    field_repo.update_intervention(account_id, intervention.id, force)
    [done] = run_completion(message(account_id, intervention.id), sellsy=sellsy).outcomes
    assert done.state == "done", done.reason
    assert len(invoices_with(sellsy, scenario.company_id, marker(intervention.id, "invoice", 0))) == 1


@contextmanager
def sandbox_state_lock(sandbox: Any) -> Iterator[Any]:
    """The in-process sandbox's state, locked (to take the account's marker field away for one test)."""
    state = sandbox.app.state
    with state.lock:
        yield state


class CrashAfterCreate:
    """The client, except that the first ``POST /invoices`` reaches Sellsy and then the worker dies,
    before anything (ledger id, marker) is recorded: the invoice exists, unmarked."""

    def __init__(self, client):
        self.client, self.crashed = client, False

    def post(self, path, **kwargs):
        answer = self.client.post(path, **kwargs)
        if path == "/invoices" and not self.crashed:
            self.crashed = True
            raise RuntimeError("worker died after Sellsy created the invoice")
        return answer

    def __getattr__(self, name):
        return getattr(self.client, name)


@pytest.mark.parametrize("kind", ["convert_quote", "invoice_from_items"])
def test_an_invoice_left_unmarked_by_a_crash_is_found_again_not_made_twice(aws, sellsy, kind):
    account_id = make_account([{"name": "invoice", "actions": [{"type": kind, "validate": True}]}])
    scenario = make_scenario(sellsy)
    intervention = completed(account_id, scenario)
    crashing = CrashAfterCreate(sellsy)

    with pytest.raises(RuntimeError, match="worker died"):
        run_completion(message(account_id, intervention.id), sellsy=crashing)
    [outcome] = run_completion(message(account_id, intervention.id), sellsy=crashing).outcomes

    assert outcome.state == "done" and outcome.adopted, outcome.reason
    [invoice] = invoices_with(sellsy, scenario.company_id, marker(intervention.id, "invoice", 0))
    assert str(invoice["id"]) == outcome.sellsy_id and invoice["status"] == "due"
    company = [{"type": "company", "id": scenario.company_id}]
    assert len(list(sellsy.iterate("/invoices/search", search=True, filters={"related_objects": company}))) == 1


def test_without_the_marker_field_no_invoice_is_made_and_the_exchange_says_how_to_add_it(aws, sandbox, sellsy):
    account_id = make_account(CONVERT)
    scenario = make_scenario(sellsy)
    intervention = completed(account_id, scenario)
    with sandbox_state_lock(sandbox) as state:
        field = state.custom_fields.pop(5)
    try:
        [outcome] = run_completion(message(account_id, intervention.id), sellsy=sellsy).outcomes
    finally:
        with sandbox_state_lock(sandbox) as state:
            state.custom_fields[5] = field
    assert (outcome.state, outcome.code) == ("failed", "marker_field_missing")
    assert "sellsy-bridge-marker" in outcome.reason and "not shown on PDF" in outcome.reason
    company = [{"type": "company", "id": scenario.company_id}]
    assert list(sellsy.iterate("/invoices/search", search=True, filters={"related_objects": company})) == []


def new_address(sellsy, company_id: int, street: str) -> int:
    body = {
        "name": street,
        "address_line_1": street,
        "postal_code": "69003",
        "city": "Lyon",
        "country_code": "FR",
        "is_invoicing_address": True,
        "is_delivery_address": True,
    }
    return int(sellsy.post(f"/companies/{company_id}/addresses", json=body)["id"])


def test_the_invoice_keeps_the_quotes_own_addresses_after_the_customer_moved(aws, sellsy):
    account_id = make_account(CONVERT)
    scenario = make_scenario(sellsy, address=lambda company_id: new_address(sellsy, company_id, "3 rue des Lilas"))
    quote = sellsy.get(f"/estimates/{scenario.estimate_id}")
    moved = new_address(sellsy, scenario.company_id, "8 avenue Foch")  # the customer's current address now
    assert quote["invoicing_address_id"] and moved != quote["invoicing_address_id"]
    intervention = completed(account_id, scenario)

    [outcome] = run_completion(message(account_id, intervention.id), sellsy=sellsy).outcomes

    assert outcome.state == "done", outcome.reason
    [invoice] = invoices_with(sellsy, scenario.company_id, marker(intervention.id, "invoice", 0))
    assert (invoice["invoicing_address_id"], invoice["delivery_address_id"]) == (
        quote["invoicing_address_id"],
        quote["delivery_address_id"],
    )
