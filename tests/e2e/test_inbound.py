"""End to end on the embedded default: Sellsy sandbox → webhook → queue → worker → field API.

Every test drives the sandbox as a user would (``/_sandbox/act``) or creates its own Sellsy objects
through the sandbox's API, then reads the result through our authenticated HTTP API only.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

import bridge.handlers.api
import bridge.handlers.webhook
import bridge.handlers.worker  # noqa: F401  (loaded before the gateway/pump threads import them concurrently)
from bridge.adapters import field_repo
from bridge.domain.accounts import AccountSettings
from bridge.flows import accounts as account_flows
from tests.fixtures.polling import wait_for

RULES = [
    {"custom_field": "annual-contract", "equals": True, "tag": "annual-contract", "recurrence": "P1Y"},
    {"custom_field": "site-code", "attribute": "site_code"},
]


class Sellsy:
    """The sandbox's Sellsy API, as a user of Sellsy would drive it (not our client)."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.http = httpx.Client(
            base_url=sandbox.api_url, headers={"Authorization": f"Bearer {sandbox.access_token()}"}, timeout=30
        )

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params or None)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: Any) -> Any:
        response = self.http.post(path, json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    def put(self, path: str, body: Any) -> Any:
        response = self.http.put(path, json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    def new_estimate(self, company_id: int, *, subject: str, note: str = "", **extra: Any) -> dict[str, Any]:
        body = {
            "related": [{"type": "company", "id": company_id}],
            "subject": subject,
            "note": note,
            "rows": [
                {"type": "single", "unit_amount": "120.00", "quantity": "2", "tax_id": 1, "description": "Pose"},
                {"type": "comment", "text": "Accès par la cour"},
                {"type": "single", "unit_amount": "35.50", "quantity": "1.5", "tax_id": 1, "description": "Joint"},
            ],
            **extra,
        }
        created: dict[str, Any] = self.post("/estimates", body)
        return created


@pytest.fixture(scope="module")
def sellsy(stack: Any) -> Iterator[Sellsy]:
    client = Sellsy(stack.sandbox)
    yield client
    client.http.close()


def _connect(stack: Any, *, register: bool, **settings: Any) -> str:
    account_id = f"in-{uuid.uuid4().hex[:10]}"
    account_flows.create_account(
        name="Inbound e2e",
        account_id=account_id,
        settings=AccountSettings.model_validate({"custom_field_rules": RULES, **settings}),
        webhook_signing_key=f"key-{uuid.uuid4().hex}",
    )
    account_flows.connect_client_credentials(
        account_id, client_id=stack.sandbox.client_id, client_secret=stack.sandbox.client_secret
    )
    if register:
        account_flows.register_webhook(account_id, endpoint_url=f"{stack.api_url}/webhooks/sellsy/{account_id}")
    return account_id


@pytest.fixture(scope="module")
def account_id(stack: Any, sellsy: Sellsy) -> Iterator[str]:
    """An active account whose Sellsy webhook points at the local gateway (removed afterwards)."""
    account_id = _connect(stack, register=True, sync_direction="both")
    yield account_id
    from bridge.adapters import accounts_repo

    webhook_id = accounts_repo.require_account(account_id).sellsy_webhook_id
    if webhook_id:
        sellsy.http.delete(f"/webhooks/{webhook_id}")


def _when_found(path: str, api: httpx.Client) -> httpx.Response:
    """The answer for `path` once it is 200 (the worker made the record), or the last one after the wait."""
    found = wait_for(lambda: (answer := api.get(path)).status_code == 200 and answer)
    return found or api.get(path)


def test_accepted_estimate_becomes_a_complete_intervention(
    stack: Any, api: httpx.Client, sellsy: Sellsy, account_id: str
) -> None:
    company = sellsy.get("/companies/3", **{"embed[]": ["delivery_address"]})
    estimate = sellsy.new_estimate(3, subject="Remplacement chaudière", note="Prévoir 2 techniciens", owner_id=2)
    estimate_id = estimate["id"]
    document_address_id = estimate["delivery_address_id"]
    sellsy.post(
        "/comments",
        {"description": "Client absent le mardi", "related": [{"type": "estimate", "id": estimate_id}]},
    )
    sellsy.put(f"/estimates/{estimate_id}/custom-fields", [{"id": 1, "value": True}, {"id": 3, "value": "SITE-42"}])
    # The customer moves after the quote was made: the quote's own copy of the address must win.
    new_address = sellsy.post(
        "/companies/3/addresses",
        {
            "name": "Nouveau dépôt",
            "address_line_1": "9 rue Neuve",
            "postal_code": "69001",
            "city": "Lyon",
            "country_code": "FR",
            "is_delivery_address": True,
        },
    )
    assert new_address["id"] != document_address_id

    stack.sandbox.act_set_estimate_status(estimate_id, "accepted")
    response = _when_found(f"/accounts/{account_id}/interventions/est-{estimate_id}", api)
    assert response.status_code == 200, response.text
    iv = response.json()

    current = sellsy.get(f"/estimates/{estimate_id}", **{"embed[]": ["contact", "delivery_address"]})
    staff = sellsy.get(f"/staffs/{current['owner']['id']}")
    contact = current["_embed"]["contact"]
    address = current["_embed"]["delivery_address"]
    assert iv["status"] == "new" and iv["source_type"] == "estimate" and iv["source_id"] == estimate_id
    assert iv["sales_rep"]["name"] == f"{staff['firstname']} {staff['lastname']}"
    assert Decimal(iv["amount_excl_tax"]) == Decimal(current["amounts"]["total_excl_tax"]) == Decimal("293.25")
    assert iv["subject"] == "Remplacement chaudière"
    assert iv["number"] == current["number"]
    quantity = lambda r: Decimal(r["quantity"]) if r.get("quantity") else None  # noqa: E731
    assert [(r["type"], r["description"], quantity(r)) for r in iv["rows"]] == [
        ("single", "Pose", Decimal("2")),
        ("comment", "Accès par la cour", None),
        ("single", "Joint", Decimal("1.5")),
    ]
    assert [(r["description"], quantity(r)) for r in iv["rows"] if r["type"] != "comment"] == [
        (r["description"], Decimal(r["quantity"])) for r in current["rows"] if r["type"] != "comment"
    ]
    assert iv["public_note"] == "Prévoir 2 techniciens"
    assert [n["text"] for n in iv["private_notes"]] == ["Client absent le mardi"]
    assert iv["contact"]["name"] == f"{contact['first_name']} {contact['last_name']}"
    assert iv["contact"]["phone"] == contact["phone_number"]
    assert iv["contact"]["email"] == contact["email"]
    assert iv["address"]["id"] == document_address_id == address["id"]
    assert iv["address"]["origin"] == "document"
    assert iv["address"]["city"] == address["city"] and iv["address"]["postal_code"] == address["postal_code"]
    assert iv["address"]["lines"][0] == address["address_line_1"]
    assert iv["custom_fields"]["annual-contract"] is True and iv["custom_fields"]["site-code"] == "SITE-42"
    assert iv["attributes"] == {"site_code": "SITE-42"}
    assert iv["tags"] == ["annual-contract"] and iv["recurrence"] == "P1Y"
    assert iv["deep_link"] == f"https://www.sellsy.com/?_f=estimateOverview&id={estimate_id}"
    assert iv["customer_id"] == "company-3" and iv["customer_name"] == company["name"]

    customer = api.get(f"/accounts/{account_id}/customers/company-3").json()
    assert "annual-contract" in customer["tags"]
    listed = api.get(f"/accounts/{account_id}/interventions", params={"status": "new", "limit": 200}).json()
    assert f"est-{estimate_id}" in [i["id"] for i in listed["items"]]


def test_won_opportunity_becomes_an_intervention(
    stack: Any, api: httpx.Client, sellsy: Sellsy, account_id: str
) -> None:
    opportunity = sellsy.post(
        "/opportunities",
        {
            "name": "Contrat entretien toiture",
            "amount": "1800.00",
            "related": [{"type": "company", "id": 4}],
            "pipeline": 1,
            "step": 1,
            "owner_id": 3,
        },
    )
    opp_id = opportunity["id"]
    sellsy.post("/comments", {"description": "Nacelle à prévoir", "related": [{"type": "opportunity", "id": opp_id}]})
    stack.sandbox.act_set_opportunity_status(opp_id, "won")
    response = _when_found(f"/accounts/{account_id}/interventions/opp-{opp_id}", api)
    assert response.status_code == 200, response.text
    iv = response.json()
    staff = sellsy.get("/staffs/3")
    company = sellsy.get("/companies/4", **{"embed[]": ["main_contact", "delivery_address"]})
    assert iv["source_type"] == "opportunity" and iv["opportunity_id"] == opp_id
    assert iv["subject"] == "Contrat entretien toiture"
    assert Decimal(iv["amount_excl_tax"]) == Decimal("1800.00")
    assert iv["sales_rep"]["name"] == f"{staff['firstname']} {staff['lastname']}"
    assert [n["text"] for n in iv["private_notes"]] == ["Nacelle à prévoir"]
    assert iv["number"] == sellsy.get(f"/opportunities/{opp_id}")["number"]
    assert iv["contact"]["email"] == company["_embed"]["main_contact"]["email"]
    assert iv["address"]["id"] == company["_embed"]["delivery_address"]["id"]
    assert iv["deep_link"] == f"https://www.sellsy.com/?_f=prospection_opportunity&action=overview&oid={opp_id}"


def test_refused_quote_flags_its_intervention(stack: Any, api: httpx.Client, sellsy: Sellsy, account_id: str) -> None:
    estimate_id = sellsy.new_estimate(5, subject="Quote to refuse")["id"]
    stack.sandbox.act_set_estimate_status(estimate_id, "accepted")
    response = _when_found(f"/accounts/{account_id}/interventions/est-{estimate_id}", api)
    assert response.status_code == 200 and response.json()["flags"] == []
    stack.sandbox.act_set_estimate_status(estimate_id, "refused")
    path = f"/accounts/{account_id}/interventions/est-{estimate_id}"
    iv = wait_for(lambda: (found := api.get(path).json())["flags"] and found) or api.get(path).json()
    assert [f["code"] for f in iv["flags"]] == ["estimate_refused"]
    assert iv["status"] == "new"  # flagged, never deleted or changed


def test_customer_edit_in_sellsy_updates_the_field_side(
    stack: Any, api: httpx.Client, sellsy: Sellsy, account_id: str
) -> None:
    stack.sandbox.act_edit("company", 6, name="Toitures Martin & Fils")
    path = f"/accounts/{account_id}/customers/company-6"
    renamed = wait_for(lambda: (r := api.get(path)).status_code == 200 and r.json()["name"] == "Toitures Martin & Fils")
    customer = api.get(path).json()
    assert renamed, customer
    company = sellsy.get("/companies/6", **{"embed[]": ["main_contact", "delivery_address"]})
    assert customer["main_contact"]["id"] == company["main_contact_id"]
    assert customer["address"]["id"] == company["delivery_address_id"]


def test_annual_contract_schedules_the_next_intervention(
    stack: Any, api: httpx.Client, sellsy: Sellsy, account_id: str
) -> None:
    from bridge.flows.inbound.recurrence import schedule_next

    estimate_id = sellsy.new_estimate(7, subject="Entretien annuel")["id"]
    sellsy.put(f"/estimates/{estimate_id}/custom-fields", [{"id": 1, "value": True}])
    stack.sandbox.act_set_estimate_status(estimate_id, "accepted")
    response = _when_found(f"/accounts/{account_id}/interventions/est-{estimate_id}", api)
    assert response.status_code == 200
    assert "annual-contract" in api.get(f"/accounts/{account_id}/customers/company-7").json()["tags"]

    def complete(iv: Any) -> Any:
        iv.status, iv.completed_at = "completed", "2026-03-15T10:00:00+00:00"
        return iv

    field_repo.update_intervention(account_id, f"est-{estimate_id}", complete)
    first = schedule_next(account_id, f"est-{estimate_id}")
    again = schedule_next(account_id, f"est-{estimate_id}")  # a retried completion schedules nothing new
    assert first is not None and again is not None and first.id == again.id == f"est-{estimate_id}-r1"
    follow_up = api.get(f"/accounts/{account_id}/interventions/est-{estimate_id}-r1").json()
    assert follow_up["status"] == "new" and follow_up["due_date"] == "2027-03-15"
    assert follow_up["parent_id"] == f"est-{estimate_id}" and follow_up["customer_id"] == "company-7"


def _puts(sandbox: Any) -> int:
    return sum(n for route, n in sandbox.calls()["routes"].items() if route.startswith("PUT /v2/"))


def test_field_edit_pushed_to_sellsy_does_not_bounce_back(
    stack: Any, api: httpx.Client, sellsy: Sellsy, account_id: str
) -> None:
    from bridge.flows import exchange_log

    stack.sandbox.act_edit("company", 10, note="synced for the echo test")
    reached = wait_for(lambda: api.get(f"/accounts/{account_id}/customers/company-10").status_code == 200)
    assert reached, "customer never reached the field side"
    assert stack.pump.wait_idle(timeout=30)
    contact_id = api.get(f"/accounts/{account_id}/customers/company-10").json()["main_contact"]["id"]
    puts_before = _puts(stack.sandbox)

    answer = api.patch(
        f"/accounts/{account_id}/customers/company-10", json={"main_contact": {"phone": "+33 4 72 00 00 10"}}
    )
    assert answer.status_code == 202, answer.text
    time.sleep(0.5)  # the push's own webhook is emitted by the sandbox after the write
    assert stack.pump.wait_idle(timeout=30)
    assert stack.sandbox.wait_webhooks_idle(timeout=10)
    assert stack.pump.wait_idle(timeout=30)

    assert sellsy.get(f"/contacts/{contact_id}")["phone_number"] == "+33 4 72 00 00 10"
    assert _puts(stack.sandbox) - puts_before == 1, "our write bounced back to Sellsy"
    customer = api.get(f"/accounts/{account_id}/customers/company-10").json()
    assert customer["main_contact"]["phone"] == "+33 4 72 00 00 10"
    inbound = exchange_log.list_exchanges(account_id, direction="inbound", field_id="company-10", limit=20)[0]
    latest = inbound[0]
    assert (latest.kind, latest.status) == ("echo_suppressed", "skipped"), [(e.kind, e.reason) for e in inbound]
    assert "our own write" in (latest.reason or "")


def test_field_api_answers_clear_errors(stack: Any, api: httpx.Client, account_id: str) -> None:
    base = f"/accounts/{account_id}"
    cases = [
        (api.get(f"{base}/interventions", params={"cursor": "garbage"}), 400),
        (api.get(f"{base}/interventions", params={"status": "exploded"}), 422),
        (api.get(f"{base}/interventions", params={"limit": 0}), 422),
        (api.get(f"{base}/interventions/est-999999999"), 404),
        (api.get(f"{base}/customers/company-999999999"), 404),
        (api.get("/accounts/no-such-account/interventions"), 404),
        (httpx.get(f"{stack.api_url}{base}/interventions", timeout=10), 401),
        (httpx.get(f"{stack.api_url}{base}/customers/company-3", headers={"Authorization": "Bearer x"}), 401),
    ]
    for response, status in cases:
        assert response.status_code == status, (str(response.request.url), response.text)
        assert response.json()["error"]["message"]
