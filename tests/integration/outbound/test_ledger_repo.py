"""The action ledger on DynamoDB (moto server): conditional transitions, leases, final ``done``."""

from __future__ import annotations

import threading
import uuid

import pytest

from bridge.adapters import ledger_repo


@pytest.fixture
def itv(aws):
    return f"itv-{uuid.uuid4().hex[:8]}"


def test_first_claim_then_done_is_final(itv):
    entry, previous = ledger_repo.claim("acc1", itv, "t#0", kind="add_comment", marker="[m]", now=1000)
    assert previous is None
    assert (entry.state, entry.attempts, entry.marker) == ("intent", 1, "[m]")
    done = ledger_repo.mark_done("acc1", itv, "t#0", sellsy_type="comment", sellsy_id=55, links={"x": "y"})
    assert (done.state, done.sellsy_id, done.links) == ("done", "55", {"x": "y"})
    with pytest.raises(ledger_repo.AlreadyDone) as caught:
        ledger_repo.claim("acc1", itv, "t#0", kind="add_comment", marker="[m]", now=5000)
    assert caught.value.entry.sellsy_id == "55"
    with pytest.raises(ledger_repo.AlreadyDone):
        ledger_repo.mark_done("acc1", itv, "t#0", sellsy_type="comment", sellsy_id=56)
    assert ledger_repo.get("acc1", itv, "t#0").sellsy_id == "55"


def test_lease_blocks_a_second_worker_until_it_expires(itv):
    ledger_repo.claim("acc1", itv, "t#1", kind="upload_report", marker="m", lease_seconds=60, now=1000)
    with pytest.raises(ledger_repo.ActionBusy):
        ledger_repo.claim("acc1", itv, "t#1", kind="upload_report", marker="m", now=1030)
    entry, previous = ledger_repo.claim("acc1", itv, "t#1", kind="upload_report", marker="m", now=1060)
    assert previous == "intent"  # the caller must search for the marker before creating
    assert entry.attempts == 2


def test_release_and_failed_free_the_action_at_once(itv):
    ledger_repo.claim("acc1", itv, "t#2", kind="convert_quote", marker="m", lease_seconds=600, now=1000)
    ledger_repo.release("acc1", itv, "t#2")
    _, previous = ledger_repo.claim("acc1", itv, "t#2", kind="convert_quote", marker="m", now=1001)
    assert previous == "intent"
    ledger_repo.mark_failed("acc1", itv, "t#2", reason="no SKU X", code="unknown_sku")
    failed = ledger_repo.get("acc1", itv, "t#2")
    assert (failed.state, failed.reason) == ("failed", "no SKU X")
    _, previous = ledger_repo.claim("acc1", itv, "t#2", kind="convert_quote", marker="m", now=1002)
    assert previous == "failed"


def test_progress_keeps_the_sellsy_id_and_entries_are_tenant_scoped(itv):
    ledger_repo.claim("acc1", itv, "t#3", kind="convert_quote", marker="m", now=1000)
    ledger_repo.save_progress("acc1", itv, "t#3", sellsy_type="invoice", sellsy_id=900)
    assert ledger_repo.get("acc1", itv, "t#3").sellsy_id == "900"
    assert ledger_repo.get("acc2", itv, "t#3") is None
    ledger_repo.claim("acc1", itv, "t#4", kind="add_comment", marker="m2", now=1000)
    assert sorted(e.action_key for e in ledger_repo.list_entries("acc1", itv)) == ["t#3", "t#4"]
    assert ledger_repo.list_entries("acc2", itv) == []


def _race(claim_once, workers: int = 4) -> int:
    wins: list[int] = []
    start = threading.Barrier(workers)

    def worker() -> None:
        start.wait()
        try:
            claim_once()
            wins.append(1)
        except ledger_repo.ActionBusy:
            pass

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(wins)


def test_concurrent_claims_have_exactly_one_winner(aws):
    for _ in range(8):
        itv = f"itv-{uuid.uuid4().hex[:8]}"
        assert _race(lambda itv=itv: ledger_repo.claim("acc1", itv, "t#0", kind="k", marker="m")) == 1
        # The same when several workers re-take an expired lease at once.
        ledger_repo.release("acc1", itv, "t#0")
        assert _race(lambda itv=itv: ledger_repo.claim("acc1", itv, "t#0", kind="k", marker="m")) == 1
