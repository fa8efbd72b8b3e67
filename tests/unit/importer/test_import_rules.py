"""The import flow's rules at unit speed: an in-memory Sellsy and in-memory repositories (``memory_repos``).

Checkpoints and crashes (a crash at any page, then a resume, ends identical to a clean run), short chunks,
reruns that fetch only what changed, locked fields, deletions. The same behaviours are proven end to end
over real HTTP against the Sellsy sandbox and moto in tests/integration/importer/test_import_sandbox.py.
"""

from __future__ import annotations

import random
import uuid

import pytest

from bridge.adapters import records_repo
from bridge.domain import revenue
from bridge.flows.importer.run import ImportDeps, run_chunk
from tests.integration.importer.fake_sellsy import FakeSellsy
from tests.integration.importer.test_import_flow import Crash, data_of, prices_turn, run_to_end


@pytest.fixture
def account_id(memory_repos) -> str:
    return f"t{uuid.uuid4().hex[:8]}"


def test_crash_at_random_pages_ends_identical_to_a_clean_run(memory_repos):
    clean = f"c{uuid.uuid4().hex[:8]}"
    run_to_end(clean, FakeSellsy(invoices=201, credit_notes=5), None)
    reference = data_of(clean)
    rng = random.Random(11)
    for attempt in range(5):
        account = f"k{attempt}{uuid.uuid4().hex[:6]}"
        sellsy = FakeSellsy(invoices=201, credit_notes=5)
        phase_pages = [("invoices", rng.randint(1, 3)), ("products", 1), ("credit_notes", 1), ("sweep:invoices", 1)]
        target = phase_pages[attempt % len(phase_pages)]
        crashed = []

        def crash(name: str, page: int, target=target, crashed=crashed) -> None:
            if (name, page) == target and not crashed:
                crashed.append(target)
                raise Crash(f"injected at {name} page {page}")

        deps = ImportDeps(client=sellsy, base_currency="EUR", export_bucket=None, on_page=crash)
        with pytest.raises(Crash):
            for _ in range(100):
                run_chunk(account, deps)
        answer = run_to_end(account, sellsy, None)
        assert crashed and answer["status"] == "done"
        assert data_of(account) == reference, f"attempt {attempt} crashed at {target}"
        counters = answer["progress"]["counters"]
        assert counters["invoices"]["created"] == 201 and counters["invoices"].get("updated", 0) == 0


def test_rerun_after_one_percent_change_calls_only_what_is_needed(account_id):
    sellsy = FakeSellsy(invoices=500, credit_notes=10, items=30)
    run_to_end(account_id, sellsy, None)
    first_calls = sellsy.quota.stats.calls
    changed = sellsy.mutate_invoices(0.01)
    sellsy.route_calls.clear()
    before = sellsy.quota.stats.calls
    answer = run_to_end(account_id, sellsy, None)
    calls = sellsy.quota.stats.calls - before
    # prices are re-read only for the items whose weekly turn it is (nothing else changed)
    due = len([i for i in sellsy.items.values() if not i["is_archived"] and prices_turn(i["id"])])
    minimum = 4 + 1 + 1 + 1 + due + 5 + len(changed) + 1  # refs, customers x2, items, prices, lists, details, CNs
    assert sellsy.route_calls["GET /invoices/{id}"] == len(changed)
    assert "GET /credit-notes/{id}" not in sellsy.route_calls
    assert calls <= minimum, sellsy.route_calls
    assert first_calls >= 10 * calls
    counters = answer["progress"]["counters"]["invoices"]
    assert (counters["updated"], counters["unchanged"], counters.get("created", 0)) == (
        len(changed),
        500 - len(changed),
        0,
    )


def test_locked_fields_survive_a_resync_that_changes_them(account_id):
    sellsy = FakeSellsy(invoices=50, credit_notes=2)
    run_to_end(account_id, sellsy, None)
    records_repo.patch_fields(account_id, revenue.INVOICE_LINES, "1-1001", {"description": "kept by hand"})
    records_repo.patch_fields(account_id, revenue.INVOICES, "1", {"status": "disputed"})
    sellsy.invoices[1]["status"] = "paid"
    sellsy.invoices[1]["rows"][0]["description"] = "changed in Sellsy"
    answer = run_to_end(account_id, sellsy, None)
    line = records_repo.get_record(account_id, revenue.INVOICE_LINES, "1-1001")
    invoice = records_repo.get_record(account_id, revenue.INVOICES, "1")
    assert line["data"]["description"] == "kept by hand" and line["locked_fields"] == ["description"]
    assert invoice["data"]["status"] == "disputed" and invoice["locked_fields"] == ["status"]
    assert answer["progress"]["counters"]["invoices"]["locked_skipped"] == 1
    assert answer["progress"]["counters"]["invoice_lines"]["locked_skipped"] == 1


def test_document_deleted_in_sellsy_stays_and_is_marked(account_id):
    sellsy = FakeSellsy(invoices=120, credit_notes=3)
    run_to_end(account_id, sellsy, None)
    del sellsy.invoices[42]
    answer = run_to_end(account_id, sellsy, None)
    gone = records_repo.get_record(account_id, revenue.INVOICES, "42")
    assert gone is not None and gone["not_seen_since"]
    assert records_repo.get_record(account_id, revenue.INVOICES, "41").get("not_seen_since") is None
    assert answer["progress"]["counters"]["invoices"]["not_seen"] == 1


def test_short_chunks_resume_from_checkpoints_with_the_same_result(memory_repos):
    whole, chunked = f"w{uuid.uuid4().hex[:8]}", f"s{uuid.uuid4().hex[:8]}"
    run_to_end(whole, FakeSellsy(invoices=130), None)
    sellsy = FakeSellsy(invoices=130)
    deps = ImportDeps(client=sellsy, base_currency="EUR", export_bucket=None)
    answers = []
    run_id = None
    while True:
        left = [3]  # each chunk may do 2 pages, then its "time" is up

        def remaining(left=left) -> int:
            left[0] -= 1
            return 100_000 if left[0] > 0 else 0

        answer = run_chunk(chunked, deps, run_id=run_id, remaining_ms=remaining, margin_ms=1)
        run_id = answer["run_id"]
        answers.append(answer)
        if answer["done"]:
            break
    assert len(answers) > 5 and answers[-1]["status"] == "done"
    assert data_of(chunked) == data_of(whole)
    assert sellsy.route_calls["GET /invoices/{id}"] == 130  # no detail fetched twice across chunks


def test_document_deleted_between_list_and_detail_does_not_fail_the_run(account_id):
    sellsy = FakeSellsy(invoices=30, credit_notes=1)
    sellsy.vanished.add(7)
    answer = run_to_end(account_id, sellsy, None)
    assert answer["status"] == "done"
    assert records_repo.get_record(account_id, revenue.INVOICES, "7") is None
    assert records_repo.get_record(account_id, revenue.INVOICES, "8") is not None
