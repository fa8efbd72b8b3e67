"""The import against the Sellsy sandbox (real HTTP) and the moto server: issue #5's acceptance checks.

The clean import of the sandbox (seed 5, size 210: three pages of invoices, for the crash test to aim at
page 3) is made once per session by the ``reference_import`` fixture (tests/fixtures/imports.py): the tests
check it, compare with it, or start from a copy of what it stored instead of importing again.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest

from bridge.adapters import records_repo
from bridge.domain import revenue
from bridge.domain.currency import BaseCurrencyConverter
from bridge.flows.importer.run import ImportDeps, run_chunk
from tests.fixtures.imports import import_to_end, sandbox_client, v2_calls
from tests.integration.importer.test_import_flow import Crash, data_of, prices_turn

pytestmark = pytest.mark.slow  # long: scheduled first (tests/fixtures/ordering.py)


def client_for(sb: Any) -> Any:
    return sandbox_client(sb)


def run_to_end(account_id: str, sb: Any, bucket: str | None = None, **kw: Any) -> dict[str, Any]:
    return import_to_end(account_id, client_for(sb), bucket, **kw)


def new_account() -> str:
    return f"sb{uuid.uuid4().hex[:8]}"


def api_calls(sb: Any) -> dict[str, int]:
    return v2_calls(sb)


def test_full_import_equals_sandbox_data_through_the_mapping(reference_import):
    ref = reference_import  # a clean import of this sandbox into a new account, exports on
    answer = ref.answer
    assert answer["status"] == "done", answer
    state = ref.fresh_sandbox().state()
    converter = BaseCurrencyConverter("EUR")
    links = {link["credit_note_id"]: link["invoice_ids"] for link in state["credit_note_links"]}

    for kind, stream, docs in (
        ("invoice", revenue.INVOICES, state["invoices"]),
        ("credit_note", revenue.CREDIT_NOTES, state["creditnotes"]),
    ):
        stored_docs = ref.records[stream]
        stored_lines = ref.records[revenue.LINE_STREAM[stream]]
        expected_lines = set()
        for doc in docs:
            key, data, lines = revenue.map_document(kind, doc, converter, links.get(doc["id"], []))
            stored = stored_docs[key]["data"]
            for name, value in data.items():
                if name == "original_deposit_invoice_ids":
                    continue  # read through embed[]=deposits, which the state snapshot leaves out
                assert revenue.stable_hash(stored[name]) == revenue.stable_hash(value), (stream, key, name)
            for line_key, line in lines:
                expected_lines.add(line_key)
                stored_line = stored_lines[line_key]["data"]
                for name, value in line.items():
                    assert revenue.stable_hash(stored_line[name]) == revenue.stable_hash(value), (
                        line_key,
                        name,
                        stored_line[name],
                        value,
                    )
                assert stored_line["fx_rate_date"] and stored_line["fx_source"]
            if kind == "credit_note":
                assert stored["amount_excl_tax"] <= 0
                assert [int(i) for i in stored["original_invoice_ids"]] == sorted(links[doc["id"]])
        assert set(stored_docs) == {str(d["id"]) for d in docs}
        assert set(stored_lines) == expected_lines

    products = ref.records[revenue.PRODUCTS]
    live = {
        str(i["id"]): i
        for i in state["items"]
        if not i.get("is_archived") and i.get("type") in revenue.PRODUCT_ITEM_TYPES
    }
    assert set(products) == set(live)
    assert any(i.get("is_archived") for i in state["items"]), "seed should hold archived items"
    for key, item in live.items():
        expected = revenue.MAPPINGS[revenue.PRODUCTS].map({"item": item})
        assert revenue.stable_hash(products[key]["data"]) == revenue.stable_hash(expected)
    customers = ref.records[revenue.CUSTOMERS]
    assert len(customers) == len(state["companies"]) + len(state["individuals"])
    assert len(ref.records[revenue.PRICES]) >= len(live)

    summary = answer["progress"]
    assert summary["calls_429"] == 0
    assert len(ref.export_keys) == len(revenue.STREAMS) + 1  # + reconciliation.json


def test_five_crashes_at_random_pages_end_identical_to_a_clean_run(reference_import):
    sb = reference_import.fresh_sandbox()
    reference = reference_import.data  # the clean run
    rng = random.Random(2026)
    candidates = [
        ("customers:company", 1),
        ("products", 1),
        ("invoices", 1),
        ("invoices", 2),
        ("invoices", 3),
        ("credit_notes", 1),
        ("sweep:invoices", 1),
        ("reference", 1),
    ]
    # One run through five crashes (each at a different page, each firing once): it resumes from its
    # checkpoint after every one, so each crash is recovered from and they also meet one another's leftovers.
    targets = rng.sample(candidates, 5)
    fired: list[tuple[str, int]] = []

    def crash(name: str, page: int) -> None:
        if (name, page) in targets and (name, page) not in fired:
            fired.append((name, page))
            raise Crash(f"injected at {(name, page)}")

    account = new_account()
    answer: dict[str, Any] = {}
    for _ in range(len(targets) + 1):
        try:
            answer = run_to_end(account, sb, on_page=crash)
            break
        except Crash:
            continue
    assert sorted(fired) == sorted(targets) and answer.get("status") == "done", (fired, answer)
    assert data_of(account) == reference, f"crashes at {fired}"


def test_rerun_after_one_percent_change_makes_only_the_needed_calls(reference_import):
    sb = reference_import.fresh_sandbox()
    account = reference_import.restore()  # as the clean run left it
    first = sum(reference_import.calls.values())  # what the clean run called
    changed = sb.act_mutate(0.01, "invoice", salt=1)
    sb.reset_calls()
    run_to_end(account, sb)
    calls = api_calls(sb)
    state = sb.state()
    products = [i for i in state["items"] if not i.get("is_archived") and i.get("type") in ("product", "service")]
    pages = lambda n: max(1, -(-n // 100))  # noqa: E731
    minimum = (
        4  # taxes, units, currencies, rate categories
        + 2  # customers changed since the watermark (one page each)
        + pages(len(products))
        + len([i for i in products if prices_turn(i["id"])])  # items + the prices whose weekly turn it is
        + pages(len(state["invoices"]))
        + len(changed)
        + pages(len(state["creditnotes"]))
    )
    total = sum(calls.values())
    assert total <= minimum, calls
    assert first >= 10 * total, (first, total)


def test_locked_fields_survive_a_resync_that_changes_them(reference_import):
    sb = reference_import.fresh_sandbox()
    account = reference_import.restore()  # as the clean run left it
    invoice = next(d for d in sb.state()["invoices"] if d["status"] == "due")
    records_repo.patch_fields(account, revenue.INVOICES, str(invoice["id"]), {"status": "disputed"})
    sb.act_edit_invoice(invoice["id"], status="paid", amount="999.99")
    answer = run_to_end(account, sb)
    stored = records_repo.get_record(account, revenue.INVOICES, str(invoice["id"]))
    assert stored["data"]["status"] == "disputed" and stored["locked_fields"] == ["status"]
    fresh = next(d for d in sb.state()["invoices"] if d["id"] == invoice["id"])
    assert revenue.stable_hash(stored["data"]["amount_excl_tax"]) == revenue.stable_hash(
        revenue.dec(fresh["amounts"]["total_excl_tax"])
    )  # unlocked fields follow Sellsy
    assert answer["progress"]["counters"]["invoices"]["updated"] >= 1


def test_document_deleted_in_sellsy_stays_and_is_marked(reference_import):
    sb = reference_import.fresh_sandbox()
    account = reference_import.restore()  # as the clean run left it
    victim = sb.state()["invoices"][3]["id"]
    sb.act_delete_document("invoice", victim)
    answer = run_to_end(account, sb)
    kept = records_repo.get_record(account, revenue.INVOICES, str(victim))
    assert (
        kept is not None
        and kept["not_seen_since"] == answer["run_id"][:4] + "-" + answer["run_id"][4:6] + "-" + answer["run_id"][6:8]
    )
    assert answer["progress"]["counters"]["invoices"]["not_seen"] == 1


def test_daily_reserve_stops_cleanly_and_the_next_run_resumes(reference_import):
    sb = reference_import.fresh_sandbox()
    account = new_account()
    sb.set_quotas(per_day=60)
    client = sandbox_client(sb, daily_reserve=10)
    deps = ImportDeps(client=client, base_currency="EUR", export_bucket=None)
    answer = run_chunk(account, deps)
    assert answer["done"] and answer["status"] == "quota_reserve_reached", answer
    sb.set_quotas(per_day=None)
    resumed = run_to_end(account, sb)
    assert resumed["run_id"] == answer["run_id"] and resumed["status"] == "done"
    assert data_of(account) == reference_import.data  # the clean run


def test_revoked_token_stops_cleanly_as_needs_reconnect(sandbox_factory, aws):
    sb = sandbox_factory(seed=5, size=10)  # its own: every token it issued is revoked
    account = new_account()
    reconnect: list[tuple[str, str]] = []
    deps = ImportDeps(
        client=client_for(sb),
        base_currency="EUR",
        export_bucket=None,
        on_reconnect=lambda acc, reason: reconnect.append((acc, reason)),
    )
    sb.expire_tokens()  # the pasted token no longer works: a 401 the client cannot renew
    answer = run_chunk(account, deps)
    assert answer["done"] and answer["status"] == "needs_reconnect", answer
    assert reconnect and reconnect[0][0] == account
    assert answer["progress"]["error"]["type"] == "NeedsReconnect"
