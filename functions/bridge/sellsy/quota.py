"""Client-side pacing on Sellsy's shared request quota.

Sellsy counts every request (failed ones too) per account in per-second, per-minute, per-day and
per-month windows and answers ``X-Quota-Remaining-By-<Window>`` on every response; a request made while
any window is empty gets a 429. One governor per account per execution environment is shared by all
threads: a slot is reserved before sending, so requests in flight count even before their answer
tells us the new remaining figure.

Model: fixed windows aligned on the clock (as the headers' names suggest). For each window we keep
``sent`` (requests this process reserved in the current window) and ``anchor`` = min over answers of
``remaining + seq`` where ``seq`` is the request's rank in the window: the remaining capacity is then
``anchor - sent``. The largest anchor seen is remembered as the window's limit for the next windows.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.sellsy.errors import QuotaReserveReached

# A request sent this close to a window boundary may be counted by Sellsy in the next window.
_EDGE_SECONDS = 0.05
# Safety added after a window turns before sending again (clock granularity, server rounding).
_TURN_MARGIN_SECONDS = 0.01

HEADER_PREFIX = "x-quota-remaining-by-"


@dataclass
class _Window:
    name: str
    length: float  # seconds covered by one key; for day/month only how long an observation is trusted
    paced: bool  # True: wait for the next window; False (day, month): reaching zero stops the run
    key: int = -1
    sent: int = 0
    carry: int = 0  # reservations made at the edge of the previous window, counted here too
    anchor: int | None = None
    limit_guess: int | None = None
    last_remaining: int | None = None

    def roll(self, now: float) -> None:
        key = int(now // self.length)
        if key != self.key:
            carried = self.carry if key == self.key + 1 else 0
            self.key, self.sent, self.carry, self.anchor = key, carried, 0, None

    def available(self) -> int | None:
        base = self.anchor if self.anchor is not None else self.limit_guess
        return None if base is None else base - self.sent

    def next_turn(self) -> float:
        return (self.key + 1) * self.length


@dataclass(frozen=True)
class Reservation:
    """Which window and rank a request was counted in, to read its answer's headers correctly."""

    slots: tuple[tuple[str, int, int], ...]  # (window name, window key, seq within window)


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
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter or (lambda: random.uniform(0.0, 0.05))
        self._lock = threading.Lock()
        self._windows = {name: _Window(name, length, paced) for name, length, paced in self.WINDOWS}
        self._pause_until = 0.0
        self.stats = QuotaStats()

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
        slots = []
        for window in self._windows.values():
            window.sent += 1
            slots.append((window.name, window.key, window.sent))
            if window.paced and window.next_turn() - now < _EDGE_SECONDS:
                window.carry += 1
        self.stats.calls += 1
        return Reservation(tuple(slots))

    # -- after an answer --------------------------------------------------------------------------
    def record(self, reservation: Reservation, headers: Mapping[str, str], *, status: int) -> None:
        """Learn from an answer's quota headers (any status: failed calls count too)."""
        remaining = parse_remaining(headers)
        with self._lock:
            if status == 429:
                self.stats.responses_429 += 1
            for name, key, seq in reservation.slots:
                window = self._windows[name]
                value = remaining.get(name)
                if value is None:
                    continue
                window.last_remaining = value
                self.stats.remaining[name] = value
                if key != window.key:
                    continue  # the window turned while the request was in flight
                anchor = value + seq
                window.anchor = anchor if window.anchor is None else min(window.anchor, anchor)
                window.limit_guess = max(window.limit_guess or 0, anchor)

    def pause_after_429(self, retry_after: float | None) -> None:
        """Hold every thread: ``Retry-After`` when given, else until the second turns; plus jitter."""
        with self._lock:
            now = self._clock()
            if retry_after is not None:
                until = now + retry_after
            else:
                second = self._windows["second"]
                second.roll(now)
                second.anchor = second.sent  # nothing left in this second
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
