"""A prospect's accepted quote, end to end: intervention, completion, and the invoice Sellsy only accepts for
a client, so the prospect is converted first (``POST /companies/{id}/convert``, register C2) when the
account allows it, and the completion says why it stopped when it does not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bridge.domain.triggers import marker
from tests.e2e.test_outbound import accepted_quote, complete, connect, settle
from tests.integration.outbound.scenario import make_scenario, sandbox_invoices, sellsy_client

pytestmark = pytest.mark.e2e

INVOICE_TRIGGER = {"name": "invoice", "when": {"has_estimate": True}, "actions": [{"type": "convert_quote"}]}


@pytest.fixture(scope="module")
def sellsy(stack: Any) -> Iterator[Any]:
    client = sellsy_client(stack.sandbox)
    yield client
    client.close()


def _prospect_quote(stack: Any, api: httpx.Client, sellsy: Any, account_id: str, monkeypatch: Any) -> Any:
    import tests.e2e.test_outbound as outbound

    monkeypatch.setattr(outbound, "make_scenario", lambda client: make_scenario(client, customer_type="prospect"))
    return accepted_quote(stack, api, sellsy, account_id)


def test_a_prospect_is_converted_then_invoiced(
    stack: Any, api: httpx.Client, sellsy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id = connect(stack, [INVOICE_TRIGGER], convert_prospects=True)
    scenario, intervention = _prospect_quote(stack, api, sellsy, account_id, monkeypatch)
    assert sellsy.get(f"/companies/{scenario.company_id}")["type"] == "prospect"

    assert complete(api, account_id, intervention["id"]).status_code == 202
    settle(stack)
    [invoice] = sandbox_invoices(stack.sandbox, marker(intervention["id"], "invoice", 0))
    assert invoice["parent"] == {"id": scenario.estimate_id, "type": "estimate"}
    assert sellsy.get(f"/companies/{scenario.company_id}")["type"] == "client"


def test_without_permission_to_convert_the_completion_names_the_prospect(
    stack: Any, api: httpx.Client, sellsy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id = connect(stack, [INVOICE_TRIGGER], convert_prospects=False)
    scenario, intervention = _prospect_quote(stack, api, sellsy, account_id, monkeypatch)

    assert complete(api, account_id, intervention["id"]).status_code == 202
    settle(stack)
    assert sandbox_invoices(stack.sandbox, marker(intervention["id"], "invoice", 0)) == []
    assert sellsy.get(f"/companies/{scenario.company_id}")["type"] == "prospect"
    failed = api.get(f"/accounts/{account_id}/exchanges", params={"status": "failed"}).json()["items"]
    assert any("prospect" in (e.get("reason") or "") for e in failed), failed
