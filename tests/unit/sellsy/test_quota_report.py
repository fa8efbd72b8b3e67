"""The quota Sellsy answers reaches operators at a bounded rate: EMF metrics, a log line, the stored figures."""

from __future__ import annotations

import json
from typing import Any

from bridge.sellsy.quota import QuotaGovernor
from bridge.sellsy.quota_report import QuotaReporter
from tests.unit.sellsy.test_quota import FakeTime, headers


def test_the_governor_reports_on_the_first_answer_then_at_most_once_a_minute() -> None:
    fake = FakeTime()
    reports: list[dict[str, Any]] = []
    governor = QuotaGovernor(clock=fake.clock, sleep=fake.sleep, jitter=lambda: 0.0, reporter=reports.append)
    for step in range(150):  # one answer every second for 150 s
        governor.record(governor.acquire(), headers(second=5, day=9_000 - step), status=200)
        fake.now += 1.0
    governor.record(governor.acquire(), {}, status=0)  # no answer, no headers: nothing to report
    assert [r["calls"] for r in reports] == [1, 61, 121]
    assert [r["remaining_by_day"] for r in reports] == [9_000, 8_940, 8_880]


def test_a_report_is_metrics_a_log_line_with_the_saved_query_fields_and_the_stored_figures(capfd, log_lines) -> None:
    stored: dict[str, Any] = {}
    reporter = QuotaReporter("acme", store=lambda account_id, figures: stored.update({account_id: figures}))
    reporter({"calls": 10, "responses_429": 1, "remaining": {"second": 4, "minute": 200, "day": 9_000}})
    reporter({"calls": 25, "responses_429": 1, "remaining": {"day": 8_985}})

    lines = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith("{")]
    emf = [line for line in lines if "_aws" in line]
    assert [(m["SellsyCalls"], m["Sellsy429"], m["SellsyQuotaRemainingByDay"]) for m in emf] == [
        ([10.0], [1.0], [9_000.0]),
        ([15.0], [0.0], [8_985.0]),  # calls since the previous report, not since the process started
    ]
    assert all(m["service"] == "sellsy-bridge" and m["account_id"] == "acme" for m in emf)
    logged = log_lines.named("sellsy quota")
    assert [(line["account_id"], line["quota_remaining_day"]) for line in logged] == [("acme", 9_000), ("acme", 8_985)]
    assert stored["acme"]["remaining"] == {"day": 8_985}


def test_a_failing_store_never_fails_the_call_it_follows() -> None:
    def broken(account_id: str, figures: dict[str, Any]) -> None:
        raise RuntimeError("table unreachable")

    QuotaReporter("acme", store=broken)({"calls": 1, "remaining": {"day": 1}})  # logged, not raised
