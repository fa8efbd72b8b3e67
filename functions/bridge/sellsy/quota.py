"""Client-side pacing on Sellsy's shared request quota.

Sellsy counts every request (failed ones too) per account in per-second, per-minute, per-day and
per-month windows and answers ``X-Quota-Remaining-By-<Window>`` on every response; a request made while
any window is empty gets a 429. One governor per account per execution environment is shared by all
threads: a slot is reserved before sending, so requests in flight count even before their answer
tells us the new remaining figure.

Model: fixed windows aligned on the clock (as the headers' names suggest). Sellsy may count our
concurrent requests in any order, so the lowest ``remaining`` answered in the current window is the
state after the latest request Sellsy counted among the answered ones; every request still unanswered
may be counted after it. Room left = lowest remaining - requests in flight. A request still in
flight when a window turns may be counted in the new window (it left late, or the server was slow),
so it is counted in both, and its answer (ambiguous) keeps its slot used until the window turns.
Before the first answer of a window, the limit learned from earlier windows (lowest remaining +
answered requests) minus the requests sent so far is used.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.sellsy.errors import QuotaReserveReached

# Longer than any request can take (timeouts): a reservation older than this is forgotten.
_STALE_SECONDS = 120.0
# Safety added after a window turns before sending again (clock granularity, server rounding).
_TURN_MARGIN_SECONDS = 0.01

HEADER_PREFIX = "x-quota-remaining-by-"


@dataclass
class _Window:
    name: str
    length: float  # seconds covered by one key; for day/month only how long an observation is trusted
    paced: bool  # True: wait for the next window; False (day, month): reaching zero stops the run
    key: int = -1
    sent: int = 0  # reservations counted in this window (including carried ones)
    answered: int = 0  # answers with a figure for requests reserved in this window
    carried_answered: int = 0  # carried requests answered here: maybe counted after the lowest figure
    lowest: int | None = None  # lowest remaining answered in this window
    limit_guess: int | None = None
    in_flight: dict[int, float] = field(default_factory=dict)  # reservation id -> reserved at

    def roll(self, now: float) -> None:
        key = int(now // self.length)
        if key != self.key:
            # A reservation never ended (a bug, a killed thread) must not shrink the quota for ever.
            for stale in [rid for rid, at in self.in_flight.items() if now - at > _STALE_SECONDS]:
                del self.in_flight[stale]
            self.key, self.sent, self.answered, self.lowest = key, len(self.in_flight), 0, None
            self.carried_answered = 0

    def available(self) -> int | None:
        if self.lowest is not None:
            return self.lowest - len(self.in_flight) - self.carried_answered
        return None if self.limit_guess is None else self.limit_guess - self.sent

    def next_turn(self) -> float:
        return (self.key + 1) * self.length


@dataclass(frozen=True)
class Reservation:
    """Which window and rank a request was counted in, to read its answer's headers correctly."""

    id: int
    slots: tuple[tuple[str, int], ...]  # (window name, window key)


@dataclass
class QuotaStats:
    calls: int = 0
    responses_429: int = 0
    waited_seconds: float = 0.0
    remaining: dict[str, int | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "responses_429": self.responses_429,
            "waited_seconds": round(self.waited_seconds, 3),
            "remaining_by_day": self.remaining.get("day"),
            "remaining": dict(self.remaining),
        }


class QuotaGovernor:
    """Thread-safe pacing for one Sellsy account in one process."""

    # Day and month windows are not aligned on our clock (Sellsy's timezone): their figures are
    # re-learned every 10 minutes instead, so a warm process notices the new day.
    WINDOWS: tuple[tuple[str, float, bool], ...] = (
        ("second", 1.0, True),
        ("minute", 60.0, True),
        ("day", 600.0, False),
        ("month", 600.0, False),
    )

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] | None = None,
        reporter: Callable[[dict[str, Any]], None] | None = None,
        report_every: float = 60.0,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter or (lambda: random.uniform(0.0, 0.05))
        self._lock = threading.Lock()
        self._windows = {name: _Window(name, length, paced) for name, length, paced in self.WINDOWS}
        self._pause_until = 0.0
        self._ids = itertools.count(1)
        self.stats = QuotaStats()
        # Told what Sellsy answered (a snapshot) on the first answer with quota headers, then at most once
        # every `report_every` seconds: metrics and log lines at a bounded rate, however busy the account.
        self._reporter = reporter
        self._report_every = report_every
        self._next_report = float("-inf")

    # -- before a request -------------------------------------------------------------------------
    def acquire(self, *, daily_reserve: int = 0) -> Reservation:
        """Block until every window has room, then count the request; raise when the reserve is hit."""
        while True:
            with self._lock:
                now = self._clock()
                wake = self._wake_time(now, daily_reserve)
                if wake is None:
                    return self._reserve(now)
            delay = max(wake - now, 0.0) + _TURN_MARGIN_SECONDS
            self.stats.waited_seconds += delay
            self._sleep(delay)

    def _wake_time(self, now: float, daily_reserve: int) -> float | None:
        for window in self._windows.values():
            window.roll(now)
        for name in ("day", "month"):
            left = self._windows[name].available()
            if left is not None and left <= (daily_reserve if name == "day" else 0):
                raise QuotaReserveReached(
                    f"Sellsy quota by {name} has {left} calls left (reserve {daily_reserve}): stopping",
                    details={"window": name, "remaining": left, "reserve": daily_reserve},
                )
        wake = self._pause_until if self._pause_until > now else None
        for window in self._windows.values():
            left = window.available()
            if window.paced and left is not None and left <= 0:
                wake = max(wake or 0.0, window.next_turn())
        return wake

    def _reserve(self, now: float) -> Reservation:
        reservation_id = next(self._ids)
        slots = []
        for window in self._windows.values():
            window.sent += 1
            window.in_flight[reservation_id] = now
            slots.append((window.name, window.key))
        self.stats.calls += 1
        return Reservation(reservation_id, tuple(slots))

    # -- after an answer --------------------------------------------------------------------------
    def record(self, reservation: Reservation, headers: Mapping[str, str], *, status: int) -> None:
        """Learn from an answer's quota headers (any status: failed calls count too).

        Also called without headers when no answer came (transport error), to end the reservation.
        """
        remaining = parse_remaining(headers)
        report: dict[str, Any] | None = None
        with self._lock:
            now = self._clock()
            if remaining and self._reporter is not None and now >= self._next_report:
                self._next_report = now + self._report_every
                report = {}  # filled below, once this answer's figures are in
            if status == 429:
                self.stats.responses_429 += 1
            for name, key in reservation.slots:
                window = self._windows[name]
                window.roll(now)  # before forgetting the request: if the window turned, it was carried
                if window.in_flight.pop(reservation.id, None) is not None and key != window.key:
                    # Its figure may be about the old window or this one: keep its slot used here.
                    window.carried_answered += 1
                value = remaining.get(name)
                if value is None:
                    continue
                self.stats.remaining[name] = value
                if key != window.key:
                    continue
                window.lowest = value if window.lowest is None else min(window.lowest, value)
                window.answered += 1
                window.limit_guess = max(window.limit_guess or 0, window.lowest + window.answered)
            if report is not None:
                report = self.stats.as_dict()
        if report is not None and self._reporter is not None:
            self._reporter(report)  # outside the lock; a reporter never raises (see bridge.sellsy.factory)

    def pause_after_429(self, retry_after: float | None) -> None:
        """Hold every thread: ``Retry-After`` when given, else until the second turns; plus jitter."""
        with self._lock:
            now = self._clock()
            if retry_after is not None:
                until = now + retry_after
            else:
                second = self._windows["second"]
                second.roll(now)
                second.lowest = 0  # nothing left in this second
                until = second.next_turn()
            self._pause_until = max(self._pause_until, until + self._jitter())

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self.stats.as_dict()


def parse_remaining(headers: Mapping[str, str]) -> dict[str, int]:
    """``X-Quota-Remaining-By-Second: 4`` -> ``{"second": 4}`` (case-insensitive; junk ignored)."""
    found: dict[str, int] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower.startswith(HEADER_PREFIX):
            try:
                found[lower[len(HEADER_PREFIX) :]] = int(str(value).strip())
            except ValueError:
                continue
    return found


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta form only; dates are ignored)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def emit_quota_metrics(metrics: Any, snapshot: Mapping[str, Any], *, stream: str | None = None) -> None:
    """Put quota figures into Powertools ``metrics`` (EMF): calls and 429s (since the last report), remaining
    by day. Called by the reporter a governor is given (``bridge.sellsy.factory``), at its bounded rate."""
    from aws_lambda_powertools.metrics import MetricUnit

    if stream:
        metrics.add_dimension(name="stream", value=stream)
    metrics.add_metric(name="SellsyCalls", unit=MetricUnit.Count, value=int(snapshot.get("calls") or 0))
    metrics.add_metric(name="Sellsy429", unit=MetricUnit.Count, value=int(snapshot.get("responses_429") or 0))
    remaining = snapshot.get("remaining_by_day")
    if remaining is not None:
        metrics.add_metric(name="SellsyQuotaRemainingByDay", unit=MetricUnit.Count, value=int(remaining))
