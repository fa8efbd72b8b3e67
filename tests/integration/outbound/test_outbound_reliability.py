"""Exactly once under real trouble: lost Sellsy answers and 5xx (sandbox faults), concurrent workers."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest

from bridge.adapters import accounts_repo, ledger_repo
from bridge.domain.accounts import AccountSettings
from bridge.domain.triggers import marker
from bridge.flows import accounts as accounts_flow
from bridge.flows.outbound.completion import run_completion
from bridge.sellsy.errors import SellsyError
from tests.integration.outbound.scenario import (
    make_scenario,
    sandbox_comments,
    sandbox_files,
    sandbox_invoices,
    sellsy_client,
    store_intervention,
)

TRIGGER = {
    "name": "job done",
    "actions": [
        {"type": "convert_quote", "validate": True},
        {"type": "upload_report", "target": "estimate"},
        {"type": "upload_report", "target": "opportunity"},
        {"type": "add_comment", "target": "opportunity", "template": "Terminé par {technician}"},
    ],
}


def setup(sellsy: Any) -> tuple[str, Any, str]:
    account_id = f"rel-{uuid.uuid4().hex[:8]}"
    accounts_flow.create_account(
        name="Reliability", account_id=account_id, settings=AccountSettings.model_validate({"triggers": [TRIGGER]})
    )
    accounts_repo.set_status(account_id, "active", None)
    scenario = make_scenario(sellsy)
    intervention = store_intervention(
        account_id, scenario, status="completed", technician="Marc Dubois", completed_at="2026-11-20T15:30:00+00:00"
    )
    return account_id, scenario, intervention.id


def message(account_id: str, intervention_id: str) -> dict[str, Any]:
    return {"kind": "intervention.completed", "account_id": account_id, "payload": {"intervention_id": intervention_id}}


def assert_one_of_each(sandbox: Any, scenario: Any, intervention_id: str) -> None:
    [invoice] = sandbox_invoices(sandbox, marker(intervention_id, "job done", 0))
    assert invoice["status"] == "due"
    name = f"report-{intervention_id}.pdf"
    assert len(sandbox_files(sandbox, "estimate", scenario.estimate_id, name)) == 1
    assert len(sandbox_files(sandbox, "opportunity", scenario.opportunity_id, name)) == 1
    assert len(sandbox_comments(sandbox, "opportunity", scenario.opportunity_id)) == 1


def test_lost_answers_and_5xx_on_writes_never_duplicate(aws, sandbox_factory, monkeypatch):
    monkeypatch.setenv("OUTBOUND_LEASE_SECONDS", "0")
    sandbox = sandbox_factory(seed=12, size=20)
    sellsy = sellsy_client(sandbox)
    account_id, scenario, intervention_id = setup(sellsy)
    sandbox.set_faults(rate_drop_after=0.3, rate_5xx=0.15)
    failures = 0
    for _ in range(60):
        try:
            result = run_completion(message(account_id, intervention_id), sellsy=sellsy)
        except SellsyError:
            failures += 1  # the queue would retry the message
            continue
        if all(o.state == "done" for o in result.outcomes):
            break
    sandbox.clear_faults()
    assert failures > 0, "the faults should have interrupted some attempts"
    assert sandbox.calls()["routes"].get("faults.drop_after", 0) > 0
    assert [o.state for o in result.outcomes] == ["done"] * 4
    assert_one_of_each(sandbox, scenario, intervention_id)
    sellsy.close()


def test_concurrent_workers_on_the_same_completion_create_one_of_each(aws, sandbox, monkeypatch):
    monkeypatch.setenv("OUTBOUND_LEASE_SECONDS", "60")
    sellsy = sellsy_client(sandbox)
    account_id, scenario, intervention_id = setup(sellsy)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        try:
            run_completion(message(account_id, intervention_id), sellsy=sellsy_client(sandbox))
        except Exception as exc:  # a busy action: the queue would retry this copy
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for _ in range(5):  # the retries of the copies that found an action busy
        try:
            result = run_completion(message(account_id, intervention_id), sellsy=sellsy)
            break
        except ledger_repo.ActionBusy:
            time.sleep(0.2)
    assert [o.state for o in result.outcomes] == ["done"] * 4
    assert errors, "the copies that lost the race were told to retry (ActionBusy)"
    assert_one_of_each(sandbox, scenario, intervention_id)
    sellsy.close()


@pytest.fixture(autouse=True)
def _no_leftover_faults(sandbox):
    yield
    sandbox.clear_faults()
