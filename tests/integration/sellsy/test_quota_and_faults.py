"""Pacing on a shared quota and recovery from injected faults, against the sandbox over loopback HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from bridge.sellsy.errors import SellsyUnavailable, WriteOutcomeUnknown
from bridge.sellsy.resources import SellsyApi
from infra.local.sandbox import QuotaConfig, Sandbox, SandboxConfig
from tests.integration.sellsy.helpers import local_client, request_violations


@pytest.mark.slow
def test_four_threads_share_a_10_per_second_quota_without_a_429(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory(SandboxConfig(seed=31, size=40, quotas=QuotaConfig(per_second=10)))
    client = local_client(sb)  # one client per execution environment, shared by the threads
    calls_per_thread = 15
    results: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work(offset: int) -> None:
        try:
            barrier.wait()
            for n in range(calls_per_thread):
                company_id = 1 + (offset * calls_per_thread + n) % 12
                results.append(client.get(f"/companies/{company_id}")["id"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert len(results) == 4 * calls_per_thread
    calls = sb.calls()
    assert calls["429"] == 0
    assert calls["total"] == 4 * calls_per_thread  # no retry was needed
    snapshot = client.quota.snapshot()
    assert snapshot["responses_429"] == 0
    assert snapshot["calls"] == 4 * calls_per_thread
    assert request_violations(sb) == []


def test_daily_reserve_stops_cleanly(sandbox_factory: Callable[..., Sandbox]) -> None:
    from bridge.sellsy.errors import QuotaReserveReached

    sb = sandbox_factory(SandboxConfig(seed=32, size=20, quotas=QuotaConfig(per_day=8)))
    importer = local_client(sb, daily_reserve=3)
    done = 0
    with pytest.raises(QuotaReserveReached):
        for company_id in range(1, 12):
            importer.get(f"/companies/{company_id}")
            done += 1
    assert done == 5  # 8 a day, 3 kept for real-time flows
    assert sb.calls()["429"] == 0
    # A real-time client of the same account (same governor, no reserve) may use what is left.
    realtime = local_client(sb, quota=importer.quota)
    assert realtime.get("/companies/1")["id"] == 1


def _ids(client_pages: object) -> list[int]:
    return [item["id"] for page in client_pages for item in page.items]  # type: ignore[attr-defined]


@pytest.mark.slow
def test_reads_recover_from_5xx_429_and_dropped_connections(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory(seed=33, size=150)
    client = local_client(sb, max_retries=8)
    slim = ["id", "status"]  # small pages: the point is the retries, not the payload
    paid_or_due = {"status": ["paid", "due"]}
    clean_seek = _ids(client.iter_pages("/invoices", search=False, fields=slim))
    clean_search = _ids(client.iter_pages("/invoices/search", search=True, filters=paid_or_due, fields=slim))
    sb.set_faults(rate_5xx=0.2, rate_429=0.1, rate_drop=0.1)

    for _ in range(2):
        assert _ids(client.iter_pages("/invoices", search=False, fields=slim)) == clean_seek
        assert _ids(client.iter_pages("/invoices", search=False, offset=0, fields=slim)) == clean_seek
        faulty = client.iter_pages("/invoices/search", search=True, filters=paid_or_due, fields=slim)
        assert _ids(faulty) == clean_search
    for invoice_id in clean_seek[:8]:
        assert client.get(f"/invoices/{invoice_id}")["id"] == invoice_id

    routes = sb.calls()["routes"]
    assert routes.get("faults.5xx", 0) > 0
    assert routes.get("faults.429", 0) > 0
    assert routes.get("faults.drop", 0) > 0
    assert client.quota.snapshot()["responses_429"] > 0
    sb.clear_faults()
    assert request_violations(sb) == []


def _create_once(api: SellsyApi, marker: str, estimate_id: int, stats: dict[str, int]) -> int:
    """What the action ledger does: look for the marker before (re)creating, never re-send blindly."""
    for _ in range(20):
        try:
            existing = [
                comment.id
                for comment in api.search_comments(related_type="estimate", related_id=estimate_id)
                if marker in (comment.description or "")
            ]
        except SellsyUnavailable:
            continue
        if existing:
            return existing[0]
        try:
            return api.create_comment(
                f"Intervention terminée {marker}", related_type="estimate", related_id=estimate_id
            ).id
        except WriteOutcomeUnknown:
            stats["unknown"] += 1
    raise AssertionError(f"could not create {marker}")


def _upload_once(api: SellsyApi, name: str, estimate_id: int, stats: dict[str, int]) -> int:
    for _ in range(20):
        try:
            existing = [file.id for file in api.list_files("estimate", estimate_id) if file.name == name]
        except SellsyUnavailable:
            continue
        if existing:
            return existing[0]
        try:
            return api.upload_file("estimate", estimate_id, filename=name, content=b"%PDF-1.4 rapport").id
        except WriteOutcomeUnknown:
            stats["unknown"] += 1
    raise AssertionError(f"could not upload {name}")


@pytest.mark.slow
def test_writes_under_faults_are_never_duplicated(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory(seed=34, size=40)
    api = SellsyApi(local_client(sb, max_retries=8))
    estimate_id = 4
    # drop_after: Sellsy performs the write, then the answer is lost (the worst case for duplicates).
    sb.set_faults(rate_5xx=0.15, rate_429=0.1, rate_drop=0.1, rate_drop_after=0.3)
    stats = {"unknown": 0}
    markers = [f"[bridge:test-{n}]" for n in range(10)]
    comment_ids = {marker: _create_once(api, marker, estimate_id, stats) for marker in markers}
    names = [f"rapport-{n}.pdf" for n in range(4)]
    file_ids = {name: _upload_once(api, name, estimate_id, stats) for name in names}
    sb.clear_faults()

    assert stats["unknown"] > 0  # the faults did hit writes
    comments = api.search_comments(related_type="estimate", related_id=estimate_id)
    for marker in markers:
        matching = [c.id for c in comments if marker in (c.description or "")]
        assert matching == [comment_ids[marker]], marker
    files = api.list_files("estimate", estimate_id)
    for name in names:
        assert [f.id for f in files if f.name == name] == [file_ids[name]], name
    assert sb.calls()["routes"].get("faults.drop_after", 0) > 0
    assert request_violations(sb) == []
