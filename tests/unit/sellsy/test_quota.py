"""Quota governor decisions on an injected clock: reservation, pacing on figures, 429s, pauses, daily reserve."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bridge.sellsy.errors import QuotaReserveReached
from bridge.sellsy.quota import (
    _RAISE_AFTER,
    QuotaGovernor,
    emit_quota_metrics,
    http_date,
    parse_remaining,
    parse_retry_after,
)


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


def room(quota: QuotaGovernor, window: str = "second") -> int:
    """The model's room now, for a window that is limited."""
    value = quota.room(window)
    assert value is not None
    return value


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


def test_an_empty_window_with_figures_is_not_probed_at_the_clock_turn() -> None:
    fake = FakeTime(1_000.2)
    quota = governor(fake)
    quota.record(quota.acquire(), headers(second=0), status=200)
    quota.acquire()
    # Not at 1001.0 (the clock's turn, which may not be the server's): when our request surely left.
    assert fake.now >= 1_001.2 + 0.01


def test_in_flight_requests_count_before_their_answers() -> None:
    fake = FakeTime(1_000.1)
    quota = governor(fake)
    quota.record(quota.acquire(), headers(second=2), status=200)
    pending = [quota.acquire(), quota.acquire()]
    assert fake.sleeps == []
    assert room(quota, "second") == 0

    def answers() -> None:
        for reservation in pending:
            quota.record(reservation, {}, status=200)

    fake.while_sleeping = [answers]
    quota.acquire()  # two in flight used the two slots left: wait
    assert len(fake.sleeps) >= 1


def test_answers_in_any_order_keep_the_lowest_bound() -> None:
    # Three requests in flight together; Sellsy counted them in the order 3, 2, 1 (their figures say so),
    # and the answers arrive in the order 1, 3, 2. Nothing is left, whatever the order of arrival.
    fake = FakeTime(1_000.1)
    quota = governor(fake)
    quota.record(quota.acquire(), headers(second=3), status=200)
    first, second, third = quota.acquire(), quota.acquire(), quota.acquire()
    quota.record(first, headers(second=0), status=200)
    quota.record(third, headers(second=2), status=200)
    assert room(quota, "second") <= 0
    quota.record(second, headers(second=1), status=200)
    assert room(quota, "second") <= 0
    fake.now = 1_001.0  # still inside a window of any shape: no room appears
    assert room(quota, "second") <= 0


def test_a_refill_no_ageing_explains_is_a_turn_and_older_requests_free_nothing_after_it() -> None:
    fake = FakeTime(1_000.2)
    quota = governor(fake)
    for remaining in (9, 8, 7, 6, 5):
        quota.record(quota.acquire(), headers(second=remaining), status=200)
    fake.now = 1_000.9
    for remaining in (4, 3, 2, 1, 0):
        quota.record(quota.acquire(), headers(second=remaining), status=200)
    after_turn = quota.acquire()  # once the first five left any window: 1001.21
    assert fake.now >= 1_001.21
    quota.record(after_turn, headers(second=9), status=200)  # 9 where sliding ageing allows 4: a turn
    fake.now = 1_001.95  # the five sent at 1000.9 left too, but the new window never counted them
    assert room(quota, "second") == 9


def test_a_refill_that_ageing_explains_keeps_crediting_what_the_figure_counted() -> None:
    fake = FakeTime(1_000.2)
    quota = governor(fake)
    for moment, remaining in ((1_000.2, 2), (1_000.6, 1), (1_000.8, 0)):
        fake.now = moment
        quota.record(quota.acquire(), headers(second=remaining), status=200)
    quota.record(quota.acquire(), headers(second=0), status=200)  # once the first left: a sliding window
    assert 1_001.21 <= fake.now < 1_001.3
    fake.now = 1_001.65  # the one of 1000.6 left too, and the last figure had counted it
    assert room(quota, "second") == 1
    fake.now = 1_001.85
    assert room(quota, "second") == 2


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
    assert room(quota, "minute") == 0
    assert room(quota, "second") == 8  # the refused request counted there too


def test_headerless_429_with_no_suspect_blames_the_second_then_the_minute() -> None:
    fake = FakeTime(1_000.4)
    quota = governor(fake)
    quota.record(quota.acquire(), headers(second=9, minute=100), status=200)
    first = quota.acquire()
    quota.record(first, {}, status=429)
    assert room(quota, "second") == 0
    assert room(quota, "minute") == 99  # the refused request counted too
    quota.record(quota.acquire(), {}, status=429)  # a second later: the second was not it
    assert fake.now >= first.sent_at + 1.01
    assert room(quota, "minute") <= 0


def test_a_full_window_met_without_figures_costs_two_429s_then_waits_a_whole_minute() -> None:
    # Another client used the minute's quota; Sellsy refuses without figures: nothing is probed after.
    fake = FakeTime(1_000.4)
    quota = governor(fake)
    quota.record(quota.acquire(), {}, status=429)
    refused = quota.acquire()
    quota.record(refused, {}, status=429)
    answered_at = fake.now
    sent = quota.acquire()
    assert fake.now >= answered_at + 60.25  # whatever the window's shape, it freed everything by then
    quota.record(sent, headers(second=9, minute=149), status=200)
    before = fake.now
    for remaining in range(148, 140, -1):
        quota.record(quota.acquire(), headers(second=9, minute=remaining), status=200)
    assert fake.now == before  # figures again: no more waiting
    assert quota.snapshot()["responses_429"] == 2


def test_without_any_figure_the_limit_is_learned_from_a_429_and_raised_rarely() -> None:
    fake = FakeTime(1_000.4)
    quota = governor(fake)
    for _ in range(12):
        quota.record(quota.acquire(), {}, status=200)
    assert quota.room("second") is None  # the server gives no figures: not limited so far
    quota.record(quota.acquire(), {}, status=429)  # refused after 12 in the same second
    fake.now += 1.02
    assert room(quota, "second") == 11  # paced one below what the window held when it refused
    for _ in range(_RAISE_AFTER):
        quota.record(quota.acquire(), {}, status=200)
        fake.now += 0.1
    fake.now += 1.02
    assert room(quota, "second") == 12  # one more after many clean answers: the only probing


def test_transport_error_ends_the_reservation() -> None:
    fake = FakeTime(1_000.1)
    quota = governor(fake)
    quota.record(quota.acquire(), headers(second=2), status=200)
    lost = quota.acquire()
    assert room(quota, "second") == 1
    quota.record(lost, {}, status=0)
    assert room(quota, "second") == 1  # it may have been counted
    fake.now += 1.02  # both surely left by now
    assert room(quota, "second") == 3


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
