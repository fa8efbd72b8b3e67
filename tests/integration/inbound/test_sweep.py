"""The reconciliation sweep against moto + the Sellsy sandbox, with no webhook registered: what no delivery
brought, the sweep repairs, exactly once (twice in a row, and beside a late delivery)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

import bridge.handlers.api
import bridge.handlers.webhook  # noqa: F401  (loaded before the gateway/pump threads import them concurrently)
from bridge.adapters import accounts_repo, field_repo
from bridge.domain.accounts import AccountSettings
from bridge.flows import accounts as account_flows
from bridge.flows import exchange_log
from bridge.flows.inbound import sweep
from tests.integration.inbound.test_worker import _message, _run


@pytest.fixture()
def sellsy(stack: Any) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {stack.sandbox.access_token()}"}
    with httpx.Client(base_url=stack.sandbox.api_url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture()
def account_id(stack: Any) -> str:
    """Connected to Sellsy, but its webhook was never registered: no delivery reaches it."""
    account_id = f"sw-{uuid.uuid4().hex[:10]}"
    account_flows.create_account(
        name="Sweep", account_id=account_id, settings=AccountSettings.model_validate({"sync_direction": "both"})
    )
    account_flows.connect_client_credentials(
        account_id, client_id=stack.sandbox.client_id, client_secret=stack.sandbox.client_secret
    )
    return account_id


def _accepted_quote(stack: Any, sellsy: httpx.Client, company_id: int) -> int:
    body = {
        "related": [{"type": "company", "id": company_id}],
        "subject": f"Sweep {uuid.uuid4().hex[:6]}",
        "rows": [{"type": "single", "unit_amount": "90.00", "quantity": "1", "tax_id": 1, "description": "Pose"}],
    }
    created = sellsy.post("/estimates", json=body)
    assert created.status_code == 201, created.text
    estimate_id = int(created.json()["id"])
    stack.sandbox.act_set_estimate_status(estimate_id, "accepted")
    return estimate_id


def _recovered(account_id: str) -> list[Any]:
    return exchange_log.list_exchanges(account_id, limit=500, kind="recovered_by_sweep")[0]


def test_a_quote_accepted_while_unregistered_gets_its_intervention_from_the_sweep_once(
    stack: Any, sellsy: httpx.Client, account_id: str
) -> None:
    estimate_id = _accepted_quote(stack, sellsy, 3)
    assert field_repo.get_intervention(account_id, f"est-{estimate_id}") is None  # nothing was delivered

    first = sweep.sweep_account(account_id, mode="hourly")
    assert first["status"] == "ok"
    assert {"sellsy_type": "estimate", "sellsy_id": estimate_id, "repair": "intervention_created"} in first["repaired"]
    intervention = field_repo.get_intervention(account_id, f"est-{estimate_id}")
    assert intervention is not None and intervention.estimate_id == estimate_id

    second = sweep.sweep_account(account_id, mode="nightly")
    assert second["status"] == "ok"
    assert all(r["sellsy_id"] != estimate_id for r in second["repaired"])
    records = [r for r in _recovered(account_id) if r.sellsy_id == str(estimate_id)]
    assert len(records) == 1
    assert records[0].field_id == f"est-{estimate_id}"
    assert "accepted" in (records[0].reason or "") and "no intervention" in (records[0].reason or "")


def _late_delivery(account_id: str, estimate_id: int) -> dict[str, Any]:
    return _run(_message(account_id, "estimate", estimate_id))


def test_a_sweep_beside_a_late_delivery_makes_one_intervention(
    stack: Any, sellsy: httpx.Client, account_id: str
) -> None:
    estimate_ids = [_accepted_quote(stack, sellsy, company) for company in (4, 5, 7)]
    start = threading.Barrier(2)
    answers: list[Any] = []

    def deliver_late() -> None:
        start.wait()
        answers.extend(_late_delivery(account_id, estimate_id) for estimate_id in estimate_ids)

    def run_sweep() -> None:
        start.wait()
        answers.append(sweep.sweep_account(account_id, mode="nightly"))

    threads = [threading.Thread(target=deliver_late), threading.Thread(target=run_sweep)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == 4

    for estimate_id in estimate_ids:
        assert field_repo.get_intervention(account_id, f"est-{estimate_id}") is not None
        history = exchange_log.list_exchanges(
            account_id, limit=200, sellsy_type="estimate", sellsy_id=str(estimate_id)
        )[0]
        creations = [e for e in history if e.kind in ("intervention_created", "recovered_by_sweep")]
        assert len(creations) == 1, [(e.kind, e.reason) for e in history]


def test_customers_changed_since_the_last_sweep_are_brought_up_to_date(
    stack: Any, sellsy: httpx.Client, account_id: str
) -> None:
    sweep.sweep_account(account_id, mode="hourly")  # sets the watermark
    company = sellsy.post("/companies", json={"type": "client", "name": "Balayage SARL"}).json()
    repaired = sweep.sweep_account(account_id, mode="hourly")["repaired"]
    assert {"sellsy_type": "company", "sellsy_id": company["id"], "repair": "customer_created"} in repaired
    assert sellsy.put(f"/companies/{company['id']}", json={"name": "Balayage & Fils"}).status_code == 200
    repaired = sweep.sweep_account(account_id, mode="hourly")["repaired"]
    assert {"sellsy_type": "company", "sellsy_id": company["id"], "repair": "customer_updated"} in repaired
    customer = field_repo.get_customer(account_id, f"company-{company['id']}")
    assert customer is not None and customer.name == "Balayage & Fils"
    again = sweep.sweep_account(account_id, mode="hourly")["repaired"]
    assert all(r["sellsy_id"] != company["id"] for r in again if r["sellsy_type"] == "company")  # nothing left to do
    reasons = [r.reason or "" for r in _recovered(account_id) if r.sellsy_id == str(company["id"])]
    assert len(reasons) == 2 and all("field side was behind" in reason for reason in reasons)


def test_a_won_opportunity_without_intervention_is_repaired_and_old_quotes_are_left_alone(
    stack: Any, sellsy: httpx.Client, account_id: str
) -> None:
    body = {"name": "Entretien annuel", "amount": "900.00", "related": [{"type": "company", "id": 6}], "pipeline": 1,
            "step": 1, "owner_id": 3}  # fmt: skip
    opportunity = sellsy.post("/opportunities", json=body).json()
    stack.sandbox.act_set_opportunity_status(opportunity["id"], "won")
    result = sweep.sweep_account(account_id, mode="hourly")
    assert {"sellsy_type": "opportunity", "sellsy_id": opportunity["id"], "repair": "intervention_created"} in result[
        "repaired"
    ]
    # The sweep turns no quote accepted before the account existed (the seeded ones) into an intervention.
    # (A webhook about one may still do so: other tests on this shared stack accept old quotes meanwhile.)
    seeded = sellsy.post("/estimates/search", json={"filters": {"status": ["accepted"]}}, params={"limit": 100})
    # The sweep's floor is the account's creation time in whole seconds (as in the file's examples): a quote
    # another test made in that second may be swept, one made before it never is.
    joined = accounts_repo.require_account(account_id).created_at.replace(microsecond=0)
    old = [e["id"] for e in seeded.json()["data"] if datetime.fromisoformat(e["created"]) < joined]
    assert old, "the sandbox seeds accepted quotes dated before the account"
    swept = [r["sellsy_id"] for r in result["repaired"] if r["sellsy_type"] == "estimate"]
    assert not set(swept) & set(old)
