"""Client-side pacing on Sellsy's shared request quota.

Sellsy limits requests per account per second, minute, day and/or month, counts every request (failed
ones too), answers ``X-Quota-Remaining-By-<Window>`` and refuses with 429 as soon as one window is empty.
It does not say where its windows start, whether they are fixed or sliding, nor that a 429 carries the
headers or a ``Retry-After``. So the governor assumes none of it:

- **Second and minute (paced).** The latest answered figure is the server's room when that request was
  counted. From then on, each request we send uses one slot, and each request of ours that the figure
  counted frees one once it is older than the window: a sliding window frees exactly these, a fixed
  window frees all of them at its turn, which comes earlier. Requests sent before the last turn seen
  (a jump of the figure) free nothing: a fixed window that already ended counted them. Room = latest
  figure + ours aged out since - ours sent since. This is never too generous for any window shape.
- **Turns.** A fixed window aligned on the clock (what the header names suggest) frees more at once:
  when a window is blocked, one probe request is sent just after the clock's turn. If its answer shows
  the jump, the alignment is confirmed and used; if not (sliding or offset windows), it is not probed
  again. Without any figure (first call, after a pause) one request at a time is sent until one answers.
- **429.** Its headers, when present, are figures like any other. A header-less 429 marks the windows the
  model thought nearly empty as empty; when none was, the second first, then the minute on a second 429
  in a row. ``Retry-After`` (seconds or an HTTP date) pauses every thread, then one probe goes first.
- **Day and month** are not paced: reaching the account's reserve stops the run cleanly. Their figures
  are re-learned every 10 minutes (Sellsy's timezone decides where a day starts).

One governor per account per execution environment is shared by all threads.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from bridge.sellsy.errors import QuotaReserveReached

# Longer than any request can take (timeouts): a reservation older than this is forgotten.
_STALE_SECONDS = 120.0
# Sent after a clock turn so the probe lands in the new window (clock granularity, server rounding).
_TURN_MARGIN_SECONDS = 0.01
# A header-less 429 blames the windows with at most this many slots left in the model.
_NEARLY_EMPTY = 3

HEADER_PREFIX = "x-quota-remaining-by-"


@dataclass
class _Known:
    """The latest answered figure of a paced window."""

    id: int  # reservation it answered
    remaining: int
    sent_at: float
    blamed: bool = False  # no figure: a 429 without headers was put on this window


class _Paced:
    """A per-second or per-minute limit, whatever Sellsy's window shape (fixed, offset or sliding)."""

    def __init__(self, name: str, length: float, base_margin: float) -> None:
        self.name = name
        self.length = length
        self.base_margin = base_margin  # seconds an aged request is still held (arrival skew)
        self.sends: deque[tuple[int, float]] = deque()  # (reservation id, sent at), oldest first, ids dense
        self.in_flight: dict[int, float] = {}
        self.known: _Known | None = None
        self.aged = 0  # requests counted in ``known`` that have aged out since
        self.aligned: bool | None = None  # None: not known yet (probed when blocked); False: never probe
        self.probe: int | None = None  # reservation id of the clock-turn probe in flight
        self.fresh_from: float | None = None  # after a pause: figures sent before this are stale
        self.unmetered = 0  # answers without a figure while none is known
        self.delays: dict[int, float] = {}  # reservation id -> its round trip, once answered
        self.window_start: float | None = None  # send time of the first answer after the last seen turn
        self.peak = 0  # highest figure seen + 1: about the limit

    def margin(self, latency: float) -> float:
        return min(max(self.base_margin, latency), self.length / 4)

    def _counted_in_known(self, rid: int, sent_at: float) -> bool:
        """Whether the latest figure surely counts this request, so its ageing out may free a slot.

        Requests older than the last turn seen (a jump of the figure) belong to a fixed window that
        already ended: their ageing frees nothing.
        """
        known = self.known
        if known is None or rid > known.id or sent_at <= known.sent_at - self.length + self.base_margin:
            return False
        return self.window_start is None or sent_at >= self.window_start

    def _frees_at(self, rid: int, sent_at: float, latency: float) -> float:
        """When a request surely left a sliding window: its own round trip bounds when it was counted."""
        delay = self.delays.get(rid)
        return sent_at + self.length + self.base_margin + (latency if delay is None else delay)

    def trim(self, now: float, latency: float) -> None:
        while self.sends and self.sends[0][0] not in self.in_flight:
            rid, sent_at = self.sends[0]
            if self._frees_at(rid, sent_at, latency) > now:
                break
            self.sends.popleft()
            self.delays.pop(rid, None)
            if self._counted_in_known(rid, sent_at):
                self.aged += 1
        for stale in [rid for rid, at in self.in_flight.items() if now - at > _STALE_SECONDS]:
            del self.in_flight[stale]

    def modeled_room(self) -> int:
        """Latest figure + ours aged out since - ours sent since - ours in flight that it may not count."""
        known = self.known
        assert known is not None
        sent_since = 0
        if self.sends:
            newest, oldest = self.sends[-1][0], self.sends[0][0]
            sent_since = max(newest - max(known.id, oldest - 1), 0)
        unsure = sum(1 for rid in self.in_flight if rid <= known.id)
        return known.remaining + self.aged - sent_since - unsure

    def room(self, now: float) -> int | None:
        """Requests that may leave now; None: this window is not metered (no figure ever answered)."""
        if self.known is None and self.unmetered >= 3:
            return None
        if self.known is None or (self.fresh_from is not None and now >= self.fresh_from):
            return 1 - len(self.in_flight)  # no figure to trust: one at a time until an answer
        room = self.modeled_room()
        # A window blamed for a header-less 429 is not probed: the probe would most likely be refused too.
        probing = self.aligned is not False and self.probe is None and not self.known.blamed
        if room <= 0 and probing and now >= self.clock_turn():
            return 1 - len(self.in_flight)  # may be a fresh fixed window: one probe
        return room

    def clock_turn(self) -> float:
        assert self.known is not None
        return (self.known.sent_at // self.length + 1) * self.length + _TURN_MARGIN_SECONDS

    def wake(self, now: float, latency: float) -> float:
        """When room may appear without an answer: the next own request ageing out, or the clock turn."""
        candidates = [now + self.length]
        if self.known is not None:
            oldest = next((rid for rid, at in self.sends if self._counted_in_known(rid, at)), None)
            if oldest is not None:
                sent_at = next(at for rid, at in self.sends if rid == oldest)
                candidates.append(self._frees_at(oldest, sent_at, latency))
            if self.aligned is not False and self.probe is None and not self.known.blamed:
                candidates.append(self.clock_turn())
        if self.fresh_from is not None and self.fresh_from > now:
            candidates.append(self.fresh_from)
        return max(min(candidates), now)

    def reserve(self, rid: int, now: float) -> None:
        paused = self.fresh_from is not None and now >= self.fresh_from
        if self.known is not None and self.probe is None and not paused and self.modeled_room() <= 0:
            self.probe = rid  # sent on the clock-turn allowance: its answer tells whether the turn is real
        self.sends.append((rid, now))
        self.in_flight[rid] = now

    def _ageing_by(self, moment: float, latency: float) -> int:
        """At most how many requests of the latest figure a sliding window has freed by ``moment``."""
        known = self.known
        if known is None:
            return 0
        since = known.sent_at - self.length - self.margin(latency)  # maybe still counted by the figure
        return sum(
            1
            for rid, at in self.sends
            if since < at <= moment - self.length
            and rid <= known.id
            and (self.window_start is None or at >= self.window_start)
        )

    def learn(self, rid: int, sent_at: float, remaining: int | None, now: float, latency: float) -> None:
        self.in_flight.pop(rid, None)
        self.delays[rid] = max(now - sent_at, 0.0)
        was_probe = self.probe == rid
        if was_probe:
            self.probe = None
        if remaining is None:
            if self.known is None:
                self.unmetered += 1
            return
        self.peak = max(self.peak, remaining + 1)
        known = self.known
        if known is None or rid > known.id:
            if known is not None:
                without_turn = known.remaining + self.aged + self._ageing_by(now, latency) - (rid - known.id)
                # A turn refills a fixed window at once; a sliding window refills gradually.
                jumped = remaining > without_turn + max(2, remaining // 10) and 2 * remaining >= self.peak
                if jumped:
                    self.window_start = sent_at  # a fixed window turned before this request
                if was_probe:
                    self.aligned = jumped
            self.known, self.aged = _Known(rid, remaining, sent_at), 0
            if self.fresh_from is not None and sent_at >= self.fresh_from:
                self.fresh_from = None
        else:
            if was_probe:
                self.aligned = False
            if remaining < known.remaining:
                known.remaining = remaining  # an older request answered later: keep the lower figure

    def refused(self, rid: int, sent_at: float, now: float, latency: float) -> None:
        """A 429 blamed on this window: nothing was left when the request was counted."""
        self.learn(rid, sent_at, 0, now, latency)
        if self.known is not None and self.known.id == rid:
            self.known.blamed = True

    def nearly_empty(self) -> bool:
        return self.known is not None and self.modeled_room() <= _NEARLY_EMPTY


@dataclass
class _Budget:
    """Day or month: figures trusted for 10 minutes; not paced, reaching the reserve stops the caller."""

    name: str
    length: float = 600.0
    key: int = -1
    lowest: int | None = None
    in_flight: dict[int, float] = field(default_factory=dict)

    def roll(self, now: float) -> None:
        key = int(now // self.length)
        if key != self.key:
            self.key, self.lowest = key, None
            for stale in [rid for rid, at in self.in_flight.items() if now - at > _STALE_SECONDS]:
                del self.in_flight[stale]

    def available(self) -> int | None:
        return None if self.lowest is None else self.lowest - len(self.in_flight)


@dataclass(frozen=True)
class Reservation:
    """One request counted by the governor, to read its answer's headers correctly."""

    id: int
    sent_at: float


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
    """Thread-safe pacing for one Sellsy account in one process.

    ``sleep`` is for tests with a fake clock; by default a waiting thread also wakes when an answer
    arrives (an answer may open room before any time-based event).
    """

    PACED: tuple[tuple[str, float, float], ...] = (("second", 1.0, 0.01), ("minute", 60.0, 0.25))
    BUDGETS = ("day", "month")

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        jitter: Callable[[], float] | None = None,
        reporter: Callable[[dict[str, Any]], None] | None = None,
        report_every: float = 60.0,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter or (lambda: random.uniform(0.0, 0.05))
        self._lock = threading.Lock()
        self._answered = threading.Condition(self._lock)
        self._paced = {name: _Paced(name, length, margin) for name, length, margin in self.PACED}
        self._budgets = {name: _Budget(name) for name in self.BUDGETS}
        self._pause_until = 0.0
        self._ids = itertools.count(1)
        self._latencies: deque[float] = deque(maxlen=50)
        self._headerless_429_in_a_row = 0
        self._last_blamed: tuple[str, ...] = ()
        self.stats = QuotaStats()
        # Told what Sellsy answered (a snapshot) on the first answer with quota headers, then at most once
        # every `report_every` seconds: metrics and log lines at a bounded rate, however busy the account.
        self._reporter = reporter
        self._report_every = report_every
        self._next_report = float("-inf")

    # -- before a request -------------------------------------------------------------------------
    def acquire(self, *, daily_reserve: int = 0) -> Reservation:
        """Block until every window has room, then count the request; raise when the reserve is hit."""
        with self._lock:
            while True:
                now = self._clock()
                wake = self._wake_time(now, daily_reserve)
                if wake is None:
                    return self._reserve(now)
                delay = max(wake - now, 0.0) + 0.001
                if self._sleep is None:
                    self._answered.wait(delay)
                else:
                    self._lock.release()
                    try:
                        self._sleep(delay)
                    finally:
                        self._lock.acquire()
                self.stats.waited_seconds += max(self._clock() - now, 0.0)

    def _latency(self) -> float:
        return max(self._latencies, default=0.0)

    def _wake_time(self, now: float, daily_reserve: int) -> float | None:
        for name, budget in self._budgets.items():
            budget.roll(now)
            left = budget.available()
            if left is not None and left <= (daily_reserve if name == "day" else 0):
                raise QuotaReserveReached(
                    f"Sellsy quota by {name} has {left} calls left (reserve {daily_reserve}): stopping",
                    details={"window": name, "remaining": left, "reserve": daily_reserve},
                )
        if self._pause_until > now:
            return self._pause_until
        latency = self._latency()
        wake: float | None = None
        for window in self._paced.values():
            window.trim(now, latency)
            room = window.room(now)
            if room is not None and room <= 0:
                wake = max(wake or 0.0, window.wake(now, latency))
        return wake

    def _reserve(self, now: float) -> Reservation:
        rid = next(self._ids)
        for window in self._paced.values():
            window.reserve(rid, now)
        for budget in self._budgets.values():
            budget.in_flight[rid] = now
        self.stats.calls += 1
        return Reservation(rid, now)

    # -- after an answer --------------------------------------------------------------------------
    def record(self, reservation: Reservation, headers: Mapping[str, str], *, status: int) -> None:
        """Learn from an answer's quota headers (any status: failed calls count too).

        Also called without headers when no answer came (transport error), to end the reservation.
        """
        remaining = parse_remaining(headers)
        report: dict[str, Any] | None = None
        with self._answered:
            now = self._clock()
            due = bool(remaining) and self._reporter is not None and now >= self._next_report
            if due:
                self._next_report = now + self._report_every
            self._latencies.append(max(now - reservation.sent_at, 0.0))
            latency = self._latency()
            if status == 429:
                self.stats.responses_429 += 1
            blamed = self._blame_429() if status == 429 and not remaining else ()
            for name, window in self._paced.items():
                if name in blamed:
                    window.refused(reservation.id, reservation.sent_at, now, latency)
                else:
                    window.learn(reservation.id, reservation.sent_at, remaining.get(name), now, latency)
            if status != 429:
                self._headerless_429_in_a_row, self._last_blamed = 0, ()
            for name, budget in self._budgets.items():
                budget.roll(now)
                budget.in_flight.pop(reservation.id, None)
                value = remaining.get(name)
                if value is not None:
                    budget.lowest = value if budget.lowest is None else min(budget.lowest, value)
            for name, value in remaining.items():
                self.stats.remaining[name] = value
            if due:
                report = self.stats.as_dict()
            self._answered.notify_all()
        if report is not None and self._reporter is not None:
            self._reporter(report)  # outside the lock; a reporter never raises (see bridge.sellsy.factory)

    def _blame_429(self) -> tuple[str, ...]:
        """Which windows a 429 without figures is about (see the module's notes). A window blamed for
        the previous 429 in a row had its wait: blaming it again would wait for ever on the wrong one."""
        self._headerless_429_in_a_row += 1
        suspects = tuple(
            name for name, window in self._paced.items() if window.nearly_empty() and name not in self._last_blamed
        )
        if not suspects:
            suspects = ("second",) if self._headerless_429_in_a_row == 1 else tuple(self._paced)
        self._last_blamed = suspects
        return suspects

    def pause_after_429(self, retry_after: float | None) -> None:
        """Hold every thread for ``Retry-After`` (plus jitter); then one request goes first."""
        if retry_after is None:
            return  # the figures (or the blame) recorded with the 429 pace what follows
        with self._lock:
            until = self._clock() + retry_after + self._jitter()
            self._pause_until = max(self._pause_until, until)
            for window in self._paced.values():
                window.fresh_from = self._pause_until

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


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(moment.timestamp() - current, 0.0)


def http_date(moment: float) -> str:
    """``Retry-After`` in its date form, for a moment given as a Unix time."""
    return datetime.fromtimestamp(moment, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


def emit_quota_metrics(metrics: Any, snapshot: Mapping[str, Any], *, stream: str | None = None) -> None:
    """Put a run's quota figures into Powertools ``metrics`` (EMF): calls, 429s, remaining by day."""
    from aws_lambda_powertools.metrics import MetricUnit

    if stream:
        metrics.add_dimension(name="stream", value=stream)
    metrics.add_metric(name="SellsyCalls", unit=MetricUnit.Count, value=int(snapshot.get("calls") or 0))
    metrics.add_metric(name="Sellsy429", unit=MetricUnit.Count, value=int(snapshot.get("responses_429") or 0))
    remaining = snapshot.get("remaining_by_day")
    if remaining is not None:
        metrics.add_metric(name="SellsyQuotaRemainingByDay", unit=MetricUnit.Count, value=int(remaining))
