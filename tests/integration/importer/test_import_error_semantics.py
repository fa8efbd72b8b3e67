"""The import against the sandbox when Sellsy answers 403 (a scope the token lacks) or 402 (a plan limit).

403: the stream or feature is skipped, the run summary and the account's health name the scope, the rest
of the import runs, and the skipped stream is not swept (its records were not listed, not deleted).
402: the run stops as ``plan_limit_reached`` and resumes later; the account stays active.
"""

from __future__ import annotations

from typing import Any

import pytest

from bridge.adapters import accounts_repo, import_state
from bridge.domain import revenue
from bridge.flows import accounts as account_flows
from bridge.flows.importer.accounts import _note_missing_scopes
from bridge.flows.importer.run import ImportDeps, run_chunk
from tests.fixtures.contract import spec_path
from tests.integration.importer.test_import_flow import stream_records
from tests.integration.importer.test_import_sandbox import client_for, new_account, run_to_end

# The sandbox reads each route's scopes from Sellsy's OpenAPI file.
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not spec_path().exists(), reason="Sellsy OpenAPI file absent")]


@pytest.fixture
def sb(sandbox_factory: Any, aws: Any) -> Any:
    box = sandbox_factory(seed=11, size=60)
    yield box
    box.clear_faults()


def test_missing_accounts_read_skips_units_and_currencies_names_the_scope_and_imports_the_rest(sb, aws):
    account = account_flows.create_account(name="scopes", account_id=new_account()).id
    sb.set_faults(denied_scopes=["accounts.read"])
    answer = run_to_end(account, sb, on_missing_scopes=_note_missing_scopes)

    assert answer["status"] == "done", answer
    summary = import_state.load_run(account, answer["run_id"])["summary"]
    assert summary["missing_scopes"] == {"accounts.read": ["reference:currencies", "reference:units"]}
    assert "accounts.read" in summary["skipped"]["reference:units"]["message"]
    assert len(stream_records(account, revenue.INVOICES)) == len(sb.state("invoices"))
    stored = accounts_repo.require_account(account)
    assert stored.status == "disconnected"  # untouched: create_account leaves it unconnected
    assert [(m.scope, m.features) for m in stored.health.missing_scopes] == [
        ("accounts.read", ["reference:currencies", "reference:units"])
    ]

    sb.clear_faults()  # the scope is granted: the next finished run clears the account's health
    run_to_end(account, sb, on_missing_scopes=_note_missing_scopes)
    assert accounts_repo.require_account(account).health.missing_scopes == []


def test_a_forbidden_stream_is_skipped_and_not_swept(sb, aws):
    account = new_account()
    assert run_to_end(account, sb)["status"] == "done"
    products = stream_records(account, revenue.PRODUCTS)
    assert products

    sb.set_faults(denied_scopes=["items.read"])
    answer = run_to_end(account, sb)
    assert answer["status"] == "done", answer
    assert set(answer["progress"]["skipped"]) == {"products"}
    assert answer["progress"]["skipped"]["products"]["scope"] == "items.read"
    after = stream_records(account, revenue.PRODUCTS)
    assert all("not_seen_since" not in item for item in after.values())  # not listed is not deleted
    assert len(stream_records(account, revenue.INVOICES)) == len(sb.state("invoices"))


def test_402_stops_the_run_for_later_and_never_marks_the_account(sb, aws):
    account = account_flows.create_account(name="plan", account_id=new_account()).id
    reconnects: list[Any] = []
    deps = ImportDeps(
        client=client_for(sb), base_currency="EUR", export_bucket=None, on_reconnect=lambda *a: reconnects.append(a)
    )
    sb.set_faults(plan_limited=["POST /v2/credit-notes/search"])
    answer = run_chunk(account, deps)
    assert answer["status"] == "plan_limit_reached", answer
    assert answer["progress"]["error"]["type"] == "PaymentRequired"
    assert "plan limit" in answer["progress"]["error"]["message"]
    assert reconnects == []
    assert accounts_repo.require_account(account).status != "needs_reconnect"

    sb.clear_faults()  # later, the limit lifted: the same run resumes from its checkpoint
    resumed = run_chunk(account, deps, run_id=answer["run_id"])
    while not resumed["done"]:
        resumed = run_chunk(account, deps, run_id=resumed["run_id"])
    assert resumed["status"] == "done" and resumed["run_id"] == answer["run_id"]
    assert len(stream_records(account, revenue.CREDIT_NOTES)) == len(sb.state("creditnotes"))
