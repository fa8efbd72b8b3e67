"""Quota governor with a fake clock: reservation, pacing on headers, 429 pauses, daily reserve."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bridge.sellsy.errors import QuotaReserveReached
from bridge.sellsy.quota import QuotaGovernor, emit_quota_metrics, parse_remaining, parse_retry_after


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
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert parse_retry_after(None) is None


def test_no_wait_while_the_window_has_room() -> None:
    fake = FakeTime()
    quota = governor(fake)
    for remaining in (9, 8, 7):
        reservation = quota.acquire()
        quota.record(reservation, headers(remaining), status=200)
    assert fake.sleeps == []
    assert quota.snapshot()["calls"] == 3


def test_waits_for_the_next_second_when_the_second_window_is_empty() -> None:
    fake = FakeTime(1_000.2)
    quota = governor(fake)
    first = quota.acquire()
    quota.record(first, headers(second=0), status=200)
    quota.acquire()
    assert len(fake.sleeps) == 1
    assert fake.now >= 1_001.0  # woke up in the next second, not before
    assert fake.now < 1_001.2


def test_in_flight_reservations_count_before_their_answers() -> None:
    """Limit 3/s learned from an answer: the 3rd and 4th reservations of the next second must wait."""
    fake = FakeTime(1_000.1)
    quota = governor(fake)
    reservation = quota.acquire()
    quota.record(reservation, headers(second=2), status=200)  # limit = 2 + 1 = 3
    fake.now = 1_001.1  # new second, nothing answered yet
    pending = [quota.acquire(), quota.acquire(), quota.acquire()]
    assert fake.sleeps == []

    def answers() -> None:
        for reservation in pending:
            quota.record(reservation, {}, status=200)

    fake.while_sleeping = [answers]
    quota.acquire()  # 4th in the same second: must wait for the turn
    assert len(fake.sleeps) == 1 and 1_002.0 <= fake.now < 1_002.2


def test_minute_window_empty_waits_for_the_next_minute() -> None:
    fake = FakeTime(1_200.5)  # 20 minutes + 0.5 s
    quota = governor(fake)
    quota.record(quota.acquire(), headers(second=5, minute=0), status=200)
    quota.acquire()
    assert fake.now >= 1_260.0


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


def test_429_without_retry_after_waits_for_the_second_to_turn() -> None:
    fake = FakeTime(1_000.4)
    quota = governor(fake)
    quota.record(quota.acquire(), {}, status=429)
    quota.pause_after_429(None)
    quota.acquire()
    assert 1_001.0 <= fake.now < 1_001.2


def test_answer_from_a_previous_window_does_not_block_the_new_one() -> None:
    fake = FakeTime(1_000.9)
    quota = governor(fake)
    reservation = quota.acquire()
    fake.now = 1_001.1
    quota.record(reservation, headers(second=0), status=200)  # about the old second
    quota.acquire()
    assert fake.sleeps == []


def test_stats_report_remaining_by_day() -> None:
    fake = FakeTime()
    quota = governor(fake)
    quota.record(quota.acquire(), headers(second=5, day=4321), status=200)
    snapshot = quota.snapshot()
    assert snapshot["remaining_by_day"] == 4321
    assert snapshot["calls"] == 1


def test_request_unanswered_when_the_window_turns_counts_in_the_new_one_too() -> None:
    """Sellsy may count a late request in the next second: keep room for it until answers tell."""
    fake = FakeTime(1_000.1)
    quota = governor(fake)
    quota.record(quota.acquire(), headers(second=2), status=200)  # limit 3 per second
    fake.now = 1_000.95
    late = quota.acquire()  # still in flight when the second turns
    fake.now = 1_001.05
    pending = [quota.acquire(), quota.acquire()]
    assert fake.sleeps == []

    def answers() -> None:
        quota.record(late, headers(second=0), status=200)  # ambiguous late answer: ignored
        for reservation in pending:
            quota.record(reservation, {}, status=200)

    fake.while_sleeping = [answers]
    quota.acquire()  # the carried request + 2 new ones fill the limit of 3
    assert len(fake.sleeps) == 1 and 1_002.0 <= fake.now < 1_002.2


def test_room_is_lowest_remaining_minus_requests_in_flight() -> None:
    """Answers may come back in any order: the lowest figure wins, in-flight requests are deducted."""
    fake = FakeTime(1_000.1)
    quota = governor(fake)
    first, second, third = quota.acquire(), quota.acquire(), quota.acquire()
    quota.record(second, headers(second=8), status=200)  # counted 2nd of 10
    quota.record(first, headers(second=9), status=200)  # late answer of the 1st: not more room
    assert quota._windows["second"].available() == 7  # 8 left - 1 in flight (third)
    quota.record(third, headers(second=7), status=200)
    assert quota._windows["second"].available() == 7
    assert quota._windows["second"].limit_guess == 10  # 7 left after 3 answered


def test_transport_error_ends_the_reservation() -> None:
    fake = FakeTime(1_000.1)
    quota = governor(fake)
    quota.record(quota.acquire(), headers(second=2), status=200)
    lost = quota.acquire()
    quota.record(lost, {}, status=0)
    fake.now = 1_001.1
    for _ in range(3):
        quota.acquire()
    assert fake.sleeps == []  # nothing carried: the lost request had ended before the turn


def test_carried_request_answered_in_the_new_window_keeps_its_slot() -> None:
    """The case seen under load: a slow request of the previous second counted in this one."""
    fake = FakeTime(1_000.1)
    quota = governor(fake)
    quota.record(quota.acquire(), headers(second=2), status=200)  # limit 3
    fake.now = 1_000.9
    slow = quota.acquire()
    fake.now = 1_001.1
    fresh = quota.acquire()
    quota.record(fresh, headers(second=1), status=200)  # Sellsy counted `slow` first in this second
    quota.record(slow, headers(second=2), status=200)  # ambiguous figure: ignored, slot kept
    assert quota._windows["second"].available() == 0
    quota.acquire()
    assert len(fake.sleeps) == 1 and fake.now >= 1_002.0


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
