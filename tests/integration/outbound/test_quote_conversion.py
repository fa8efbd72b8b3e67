"""Quote → invoice on real parts (moto server + Sellsy sandbox): the invoice equals the quote, or it is
left as a draft with a failed exchange naming each difference; some quotes are not converted on purpose.

The sandbox copies nothing on a conversion with only ``parent`` (Sellsy's file does not say it copies
anything), so what the invoice carries is what the connector sent. The oracle is the quote's own totals
as Sellsy computed them.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from bridge.adapters import ledger_repo
from bridge.domain.interventions import flag_for
from bridge.domain.triggers import marker
from bridge.flows.exchange_log import list_exchanges
from bridge.flows.outbound.completion import run_completion
from tests.integration.outbound.scenario import invoices_with, make_scenario, row_summary
from tests.integration.outbound.test_completion_flow import completed, make_account, message

CONVERT = [{"name": "invoice", "actions": [{"type": "convert_quote", "validate": True}]}]


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
