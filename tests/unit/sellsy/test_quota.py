"""Quota governor with a fake clock: reservation, pacing on headers, 429 pauses, daily reserve."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bridge.sellsy.errors import QuotaReserveReached
from bridge.sellsy.quota import QuotaGovernor, emit_quota_metrics, http_date, parse_remaining, parse_retry_after


class FakeTime:
    def __init__(self, start: float = 1_000.2) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self.while_sleeping: list[Callable[[], None]] = []  # what other threads do meanwhile

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        while self.while_sleeping:  # answers that arrive while this thread waits (before the turn)
            self.while_sleeping.pop()()
        self.now += seconds


def headers(second: int, minute: int = 500, day: int = 10_000) -> dict[str, str]:
    return {
        "X-Quota-Remaining-By-Second": str(second),
        "X-Quota-Remaining-By-Minute": str(minute),
        "X-Quota-Remaining-By-Day": str(day),
    }


def governor(fake: FakeTime) -> QuotaGovernor:
    return QuotaGovernor(clock=fake.clock, sleep=fake.sleep, jitter=lambda: 0.0)


def test_parse_headers_is_case_insensitive_and_ignores_junk() -> None:
    parsed = parse_remaining({"x-quota-remaining-by-second": "3", "X-QUOTA-REMAINING-BY-DAY": "abc", "Other": "1"})
    assert parsed == {"second": 3}
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


def test_retry_after_in_both_forms() -> None:
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("7") == 7.0
    now = 1_445_412_470.0  # 2015-10-21 07:27:50 UTC
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 10.0
    assert parse_retry_after(http_date(now + 3), now=now) == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now=now) == 0.0  # in the past: go now


def test_no_wait_while_the_window_has_room() -> None:
    fake = FakeTime()
    quota = governor(fake)
    for remaining in (9, 8, 7):
        reservation = quota.acquire()
        quota.record(reservation, headers(remaining), status=200)
    assert fake.sleeps == []
    assert quota.snapshot()["calls"] == 3


def test_one_request_at_a_time_until_a_figure_is_known() -> None:
    fake = FakeTime(1_000.2)
    quota = governor(fake)
    first = quota.acquire()
    fake.while_sleeping = [lambda: quota.record(first, headers(second=9), status=200)]
    quota.acquire()  # waits for the first answer, then goes
    assert len(fake.sleeps) == 1


def test_empty_window_waits_for_the_clock_turn_probe_then_learns_alignment() -> None:
    fake = FakeTime(1_000.2)
    quota = governor(fake)
    quota.record(quota.acquire(), headers(second=0), status=200)
    probe = quota.acquire()
    assert 1_001.0 <= fake.now < 1_001.2  # one probe just after the clock's turn
    quota.record(probe, headers(second=9), status=200)  # the window refilled: fixed and aligned
    assert quota._paced["second"].aligned is True


def test_a_probe_that_meets_a_full_window_stops_probing_and_waits_for_own_requests_to_age() -> None:
    fake = FakeTime(1_000.2)
    quota = governor(fake)
    sent = [quota.acquire() for _ in range(1)]
    quota.record(sent[0], headers(second=5, minute=1), status=200)
    quota.record(quota.acquire(), headers(second=5, minute=0), status=200)  # sent at 1000.2
    probe = quota.acquire()  # at the clock's minute turn
    assert 1_020.0 <= fake.now < 1_020.2
    quota.record(probe, headers(second=5, minute=0), status=200)  # no refill: sliding or offset window
    assert quota._paced["minute"].aligned is False
    quota.acquire()  # now only the ageing of the requests counted frees room: 60 s after the first
    assert fake.now >= 1_060.2


def test_in_flight_requests_count_before_their_answers() -> None:
    fake = FakeTime(1_000.1)
    quota = governor(fake)
    quota.record(quota.acquire(), headers(second=2), status=200)
    pending = [quota.acquire(), quota.acquire()]
    assert fake.sleeps == []

    def answers() -> None:
        for reservation in pending:
            quota.record(reservation, {}, status=200)

    fake.while_sleeping = [answers]
    quota.acquire()  # two in flight used the two slots left: wait
    assert len(fake.sleeps) >= 1


def test_answers_in_any_order_keep_the_lowest_figure() -> None:
    fake = FakeTime(1_000.1)
    quota = governor(fake)
    first, second, third = quota.acquire(), quota.acquire(), quota.acquire()
    quota.record(second, headers(second=8), status=200)
    quota.record(first, headers(second=9), status=200)  # a late answer of an earlier request: no more room
    assert quota._paced["second"].modeled_room() == 7  # 8 left, the third still in flight
    quota.record(third, headers(second=7), status=200)
    assert quota._paced["second"].modeled_room() == 7


def test_daily_reserve_stops_cleanly() -> None:
    fake = FakeTime()
    quota = governor(fake)
    quota.record(quota.acquire(daily_reserve=100), headers(second=5, day=101), status=200)
    quota.acquire(daily_reserve=100)  # 101 left after the first answer: one more call fits
    with pytest.raises(QuotaReserveReached) as caught:
        quota.acquire(daily_reserve=100)
    assert caught.value.details["window"] == "day"
    # Callers without a reserve (real-time flows) may still use what is left.
    quota.acquire(daily_reserve=0)


def test_empty_day_window_raises_even_without_reserve() -> None:
    fake = FakeTime()
    quota = governor(fake)
    quota.record(quota.acquire(), headers(second=5, day=0), status=200)
    with pytest.raises(QuotaReserveReached):
        quota.acquire()


def test_429_with_retry_after_pauses_every_caller() -> None:
    fake = FakeTime(1_000.0)
    quota = governor(fake)
    reservation = quota.acquire()
    quota.record(reservation, {}, status=429)
    quota.pause_after_429(3.0)
    quota.acquire()
    assert fake.now >= 1_003.0
    assert quota.snapshot()["responses_429"] == 1


def test_headerless_429_blames_the_nearly_empty_window() -> None:
    fake = FakeTime(1_000.4)
    quota = governor(fake)
    quota.record(quota.acquire(), headers(second=9, minute=2), status=200)
    refused = quota.acquire()
    quota.record(refused, {}, status=429)
    minute = quota._paced["minute"]
    assert minute.known is not None and minute.known.remaining == 0
    assert quota._paced["second"].known.remaining == 9  # type: ignore[union-attr]


def test_headerless_429_with_no_suspect_blames_the_second_then_the_minute() -> None:
    fake = FakeTime(1_000.4)
    quota = governor(fake)
    quota.record(quota.acquire(), headers(second=9, minute=100), status=200)
    quota.record(quota.acquire(), {}, status=429)
    assert quota._paced["second"].known.remaining == 0  # type: ignore[union-attr]
    assert quota._paced["minute"].known.remaining == 100  # type: ignore[union-attr]
    quota.record(quota.acquire(), {}, status=429)
    assert quota._paced["minute"].known.remaining == 0  # type: ignore[union-attr]


def test_transport_error_ends_the_reservation() -> None:
    fake = FakeTime(1_000.1)
    quota = governor(fake)
    quota.record(quota.acquire(), headers(second=5), status=200)
    lost = quota.acquire()
    quota.record(lost, {}, status=0)
    assert quota._paced["second"].in_flight == {}


def test_stats_report_remaining_by_day() -> None:
    fake = FakeTime()
    quota = governor(fake)
    quota.record(quota.acquire(), headers(second=5, day=4321), status=200)
    snapshot = quota.snapshot()
    assert snapshot["remaining_by_day"] == 4321
    assert snapshot["calls"] == 1


def test_quota_figures_become_metrics() -> None:
    from aws_lambda_powertools import Metrics

    fake = FakeTime()
    quota = governor(fake)
    quota.record(quota.acquire(), headers(second=5, day=777), status=200)
    quota.record(quota.acquire(), headers(second=4, day=776), status=429)
    metrics = Metrics(namespace="Test", service="test")
    emit_quota_metrics(metrics, quota.snapshot())
    emitted: dict[str, Any] = dict(metrics.serialize_metric_set())
    assert emitted["SellsyCalls"] == [2.0]
    assert emitted["Sellsy429"] == [1.0]
    assert emitted["SellsyQuotaRemainingByDay"] == [776.0]
    metrics.clear_metrics()
