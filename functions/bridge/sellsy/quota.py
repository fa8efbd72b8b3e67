"""Client-side pacing on Sellsy's shared request quota.

Sellsy limits requests per account per second, minute, day and/or month, counts every request (failed
ones too), answers ``X-Quota-Remaining-By-<Window>`` and refuses with 429 as soon as one window is empty.
It does not say where its windows start, whether they are fixed or sliding, nor that a 429 carries the
headers or a ``Retry-After``. So the governor assumes none of it; while Sellsy answers figures it
never sends a request its model says may be refused (no probing), for any window shape, as long as
the account's other clients leave the windows alone:

- **Second and minute (paced).** Each answered figure F of a request Q bounds the room now:
  F + (ours Q counted that have surely left any window since) - (ours that may not be in F and are
  still in a window). "Surely left": answered more than a window ago (a sliding window frees a request
  one window after counting it, a fixed one earlier). Answers come in any order, so the room is the
  lowest bound over the figures still informative; the figure counted last is always among them, and
  every answer with a figure is in it. A figure is dropped once a request sent after its answer has
  answered too.
- **Turns.** A refill (a figure higher than its predecessor less what surely came between) frees our
  older requests of any further credit when it may be a fixed window's turn: when no ageing of ours
  explains it, or when the window came back as full as a fresh fixed window would. A partial refill is
  a sliding window's ageing, and credits go on. This only ever lowers the room.
- **429 without figures.** It is taken as a figure 0 on the windows the model thought nearly empty;
  when none was, the second first, then the minute on a second 429 in a row. The refused request
  itself (counted too) then frees its slot one window later, and the next answer has figures again.
- **No figures at all** (a server that sends none): unlimited until a 429, then paced on the number of
  ours the window held when it refused (one less), raised by one after every ``_RAISE_AFTER`` answers
  without a 429: the only probing, at most about one 429 in ``_RAISE_AFTER`` calls.
- ``Retry-After`` (seconds or an HTTP date) pauses every thread, then one request goes first.
- **Day and month** are not paced: reaching the account's reserve stops the run cleanly. Their figures
  are re-learned every 10 minutes (Sellsy's timezone decides where a day starts).

One governor per account per execution environment is shared by all threads.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from bridge.sellsy.errors import QuotaReserveReached

# Longer than any request can take (timeouts): an unanswered reservation older than this is forgotten.
_STALE_SECONDS = 120.0
# A header-less 429 blames the windows with at most this many slots left in the model.
_NEARLY_EMPTY = 3
# Without any figure from the server, the learned limit is raised by one after this many clean answers.
_RAISE_AFTER = 200

HEADER_PREFIX = "x-quota-remaining-by-"


@dataclass
class _Send:
    rid: int
    sent_at: float
    sent_seq: int  # order of events: clocks cannot order what happens within one tick
    answered_at: float | None = None  # None: in flight
    answered_seq: int | None = None
    figured: bool = False  # its answer had a figure for this window

    def answered_before(self, seq: int) -> bool:
        return self.answered_seq is not None and self.answered_seq < seq


@dataclass(frozen=True)
class _Figure:
    """What one answer said: ``remaining`` slots after its request was counted (between send and answer)."""

    rid: int
    remaining: int
    sent_at: float
    answered_at: float
    sent_seq: int
    answered_seq: int


class _Paced:
    """A per-second or per-minute limit, whatever Sellsy's window shape (fixed, offset or sliding)."""

    def __init__(self, name: str, length: float, margin: float) -> None:
        self.name = name
        self.length = length
        self.margin = margin  # server rounding: a request is held this much longer than the window
        self.events = itertools.count()
        self.sends: dict[int, _Send] = {}  # ours, by reservation id (ascending: dicts keep insertion order)
        self.in_flight = 0  # of ``sends``: not answered yet
        self.unfigured = 0  # of ``sends``: answered without a figure for this window
        self.figures: list[_Figure] = []  # the figures still informative (see the module's notes)
        self.turn_after = float("-inf")  # ours sent before this free nothing: a turn came after them
        self.peak = 0  # highest figure + 1: the limit is at least this
        self.metered = False  # the server answered a figure for this window at least once
        self.answers_without_figure = 0
        self.learned: int | None = None  # limit learned from 429s when the server gives no figures
        self.clean_answers = 0
        self.fresh_from: float | None = None  # after a Retry-After pause: one request first, then figures

    # -- the model --------------------------------------------------------------------------------
    def _left_by(self, send: _Send, now: float) -> bool:
        return send.answered_at is not None and send.answered_at + self.length + self.margin <= now

    def _bound(self, figure: _Figure, now: float) -> int:
        credits = unsure = 0
        oldest_counted = figure.answered_at - self.length  # sent after this: surely still counted by it
        for send in self.sends.values():
            left = self._left_by(send, now)
            # Every answer with a figure counts as counted by this one: true of the figure counted last,
            # which is never dropped, and the room is the lowest bound, so it is never more than that one's.
            counted = send.rid == figure.rid or send.figured
            if counted:
                if left and send.sent_at >= self.turn_after and send.sent_at > oldest_counted:
                    credits += 1
            elif not left:
                unsure += 1
        return figure.remaining + credits - unsure

    def _own_in_window(self, now: float) -> int:
        return sum(1 for send in self.sends.values() if not self._left_by(send, now))

    def room(self, now: float) -> int | None:
        """Requests that may leave now; None: not limited (no figure and no 429 so far)."""
        if self.fresh_from is not None and now >= self.fresh_from:
            return 1 - self.in_flight  # after a pause the server said to take: one request, then figures
        if self.figures:
            # Every bound is at least this (no credit, every request without a figure unsure): far from
            # empty, the exact bounds (a pass over ours per figure) are not needed.
            lowest = min(figure.remaining for figure in self.figures) - self.in_flight - self.unfigured
            if lowest > _NEARLY_EMPTY:
                return lowest
            return min(self._bound(figure, now) for figure in self.figures)
        if self.learned is not None:
            return self.learned - self._own_in_window(now)
        if self.metered or self.answers_without_figure < 3:
            return 1 - self.in_flight  # no figure yet: one at a time until one answers
        return None

    def wake(self, now: float) -> float:
        """When room may appear without an answer: the next of ours to leave the window."""
        candidates = [now + self.length]
        for send in self.sends.values():
            if send.answered_at is not None:
                leaves = send.answered_at + self.length + self.margin
                if leaves > now:
                    candidates.append(leaves)
        if self.fresh_from is not None and self.fresh_from > now:
            candidates.append(self.fresh_from)
        return min(candidates)

    def trim(self, now: float) -> None:
        """Forget ours that no figure can count any more, and reservations that never answered."""
        horizon = min((figure.sent_at for figure in self.figures), default=now) - self.length - self.margin
        while self.sends:  # oldest first; one still needed keeps the younger ones (a later pass takes them)
            send = next(iter(self.sends.values()))
            if not self._forgettable(send, now, horizon):
                return
            del self.sends[send.rid]
            if send.answered_at is None:
                self.in_flight -= 1
            elif not send.figured:
                self.unfigured -= 1

    def _forgettable(self, send: _Send, now: float, horizon: float) -> bool:
        if send.answered_at is None:
            return now - send.sent_at > _STALE_SECONDS
        return self._left_by(send, now) and send.answered_at < horizon

    def reserve(self, rid: int, now: float) -> None:
        self.sends[rid] = _Send(rid, now, next(self.events))
        self.in_flight += 1

    def _answered(self, send: _Send, now: float, *, figured: bool) -> None:
        if send.answered_at is None:
            self.in_flight -= 1
            send.answered_at, send.answered_seq = now, next(self.events)
            send.figured = figured
            if not figured:
                self.unfigured += 1
        elif figured and not send.figured:
            send.figured = True
            self.unfigured -= 1

    # -- answers ----------------------------------------------------------------------------------
    def learn(self, rid: int, remaining: int | None, now: float) -> None:
        send = self.sends.get(rid)
        if send is None:
            return  # forgotten (stale): its answer tells nothing reliable
        self._answered(send, now, figured=remaining is not None)
        if self.fresh_from is not None and send.sent_at >= self.fresh_from:
            self.fresh_from = None  # the first answer since the pause: the model holds again
        if remaining is None:
            if not self.metered:
                self.answers_without_figure += 1
                self._clean_answer()
            return
        self.metered, self.learned = True, None
        figure = _Figure(rid, remaining, send.sent_at, now, send.sent_seq, int(send.answered_seq or 0))
        self.peak = max(self.peak, remaining + 1)
        dominated = [old for old in self.figures if old.answered_seq < figure.sent_seq]
        if any(self._turned(old, figure) for old in dominated):
            self.turn_after = figure.sent_at
        self.figures = [old for old in self.figures if old not in dominated] + [figure]

    def _turned(self, old: _Figure, new: _Figure) -> bool:
        """Whether a fixed window may have turned between two figures, ``new`` counted after ``old``.

        A refill (``new`` higher than ``old`` less what surely came between) is a turn if no ageing of
        ours explains it, and may be one if the window came back as full as a fixed window would (the
        limit less ours that may be in the new window). Only a partial refill, which a fixed window does
        not give (unless another client used it), is taken as a sliding window's ageing.
        """
        if new.remaining < old.remaining:
            return False  # no refill: at least ``new`` itself came between
        if new.remaining >= self.peak - 1:
            return True  # as full as ever seen: a fresh window, whatever came between
        left = between = may_be_after = 0
        for send in self.sends.values():
            if send.sent_seq < old.answered_seq and send.sent_at + self.length - self.margin <= new.answered_at:
                left += 1
            if send.rid == new.rid or (send.sent_seq > old.answered_seq and send.answered_before(new.sent_seq)):
                between += 1
            if send.rid != old.rid and not send.answered_before(old.sent_seq):
                may_be_after += 1
        if new.remaining <= old.remaining - between:
            return False  # no refill
        return new.remaining > old.remaining + left - between or new.remaining >= self.peak - may_be_after

    def refused(self, rid: int, now: float) -> None:
        """A 429 without figures blamed on this window: nothing was left when it was counted."""
        if self.metered:
            self.learn(rid, 0, now)
            return
        send = self.sends.get(rid)
        held = self._own_in_window(now) - 1  # ours the window held when it refused this one
        if send is not None:
            self._answered(send, now, figured=False)
        self.learned = max(1, min(held, self.learned if self.learned is not None else held) - 1)
        self.clean_answers = 0

    def _clean_answer(self) -> None:
        if self.learned is None:
            return
        self.clean_answers += 1
        if self.clean_answers >= _RAISE_AFTER:
            self.learned, self.clean_answers = self.learned + 1, 0

    def nearly_empty(self, now: float) -> bool:
        """Whether the model had this window close to empty (a window it knows nothing of is not)."""
        if not self.figures and self.learned is None:
            return False
        room = self.room(now)
        return room is not None and room <= _NEARLY_EMPTY


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
        wake: float | None = None
        for window in self._paced.values():
            window.trim(now)
            room = window.room(now)
            if room is not None and room <= 0:
                wake = max(wake or 0.0, window.wake(now))
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
            if status == 429:
                self.stats.responses_429 += 1
            blamed = self._blame_429(now) if status == 429 and not remaining else ()
            for name, window in self._paced.items():
                if name in blamed:
                    window.refused(reservation.id, now)
                else:
                    window.learn(reservation.id, remaining.get(name), now)
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

    def _blame_429(self, now: float) -> tuple[str, ...]:
        """Which windows a 429 without figures is about (see the module's notes). A window blamed for
        the previous 429 in a row had its wait: blaming it again would wait for ever on the wrong one."""
        self._headerless_429_in_a_row += 1
        suspects = tuple(
            name for name, window in self._paced.items() if window.nearly_empty(now) and name not in self._last_blamed
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

    def now(self) -> float:
        """The governor's clock (a ``Retry-After`` date is read against it)."""
        return self._clock()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self.stats.as_dict()

    def room(self, window: str) -> int | None:
        """What the model lets leave now in ``window`` ("second" or "minute"); None: not limited."""
        with self._lock:
            now = self._clock()
            paced = self._paced[window]
            paced.trim(now)
            return paced.room(now)


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
