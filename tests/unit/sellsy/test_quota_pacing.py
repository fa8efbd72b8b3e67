"""The quota governor against every window shape the sandbox plays, on a simulated clock.

Workers share one governor and call a server that counts with the sandbox's own quota logic
(``infra.local.sandbox.quotas``): fixed windows aligned on the clock or shifted, sliding windows,
429s with or without figures, ``Retry-After`` in seconds or as a date. Whatever the shape, the
governor must keep the quota's pace (within 5 % of the limit's throughput) with at most 1 % of calls
answered 429.
"""

from __future__ import annotations

import heapq
import itertools
import random
from typing import Any

import pytest

from bridge.sellsy.quota import QuotaGovernor, parse_retry_after
from infra.local.sandbox.config import SandboxConfig
from infra.local.sandbox.quotas import Quotas

START = 1_000_000.37  # not on a second or minute boundary


def simulate(
    calls: int, *, workers: int, latency: float = 0.004, seed: int = 1, used_before: int = 0, **quota: Any
) -> dict[str, Any]:
    """``calls`` successful requests by ``workers`` threads; returns 429s and wall time (simulated).

    ``used_before`` requests of another client of the account were counted just before the start.
    """
    now = [START - 0.5]
    config = SandboxConfig()
    config.quotas.update(quota)
    server = Quotas(config, clock=lambda: now[0])
    for _ in range(used_before):
        server.consume()
    now[0] = START
    governor = QuotaGovernor(clock=lambda: now[0], sleep=lambda _: None, jitter=lambda: 0.0)
    rng = random.Random(seed)
    order = itertools.count()
    # A blocked worker tries again at the governor's wake time, or as soon as an answer arrives (as the
    # governor's condition wakes waiting threads); ``turns`` tells a worker's current try from stale ones.
    turns = dict.fromkeys(range(workers), 0)
    waiting: set[int] = set()
    events: list[tuple[float, int, str, Any]] = [(START, next(order), "try", (w, 0)) for w in range(workers)]
    heapq.heapify(events)
    done = refused = in_progress = 0
    while events and done < calls:
        at, _, kind, data = heapq.heappop(events)
        now[0] = max(now[0], at)
        if kind == "try":
            worker, turn = data
            if turn != turns[worker] or done + in_progress >= calls:
                continue
            with governor._lock:  # what acquire() does, without blocking the simulation
                wake = governor._wake_time(now[0], 0)
                reservation = governor._reserve(now[0]) if wake is None else None
            turns[worker] += 1
            if reservation is None:
                waiting.add(worker)
                retry_at = max(wake or now[0], now[0]) + 0.001
                heapq.heappush(events, (retry_at, next(order), "try", (worker, turns[worker])))
                continue
            waiting.discard(worker)
            in_progress += 1
            delay = latency * (0.5 + rng.random())
            heapq.heappush(events, (now[0] + delay / 2, next(order), "arrive", (worker, reservation, delay)))
        elif kind == "arrive":
            worker, reservation, delay = data
            allowed, headers = server.consume()
            answer = (worker, reservation, allowed, headers)
            heapq.heappush(events, (now[0] + delay / 2, next(order), "answer", answer))
        else:
            worker, reservation, allowed, headers = data
            in_progress -= 1
            governor.record(reservation, headers, status=200 if allowed else 429)
            if allowed:
                done += 1
            else:
                refused += 1
                governor.pause_after_429(parse_retry_after(headers.get("Retry-After"), now=now[0]))
            for woken in [worker, *waiting]:
                turns[woken] += 1
                heapq.heappush(events, (now[0], next(order), "try", (woken, turns[woken])))
            waiting.clear()
    return {"done": done, "responses_429": refused, "wall": now[0] - START}


SHAPES: dict[str, dict[str, Any]] = {
    "fixed, aligned": {},
    "fixed, offset": {"offset_seconds": 0.37},
    "sliding": {"mode": "sliding"},
    "sliding, 429 without figures": {"mode": "sliding", "headers_on_429": False},
    "offset, 429 without figures": {"offset_seconds": 0.61, "headers_on_429": False},
    "sliding, Retry-After date": {"mode": "sliding", "headers_on_429": False, "retry_after": "date"},
    "offset, Retry-After seconds": {"offset_seconds": 0.2, "headers_on_429": False, "retry_after": "seconds"},
}


@pytest.mark.parametrize("workers", [1, 6])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_per_second_limit_is_kept_at_pace_in_every_window_shape(shape: str, workers: int) -> None:
    result = simulate(1000, workers=workers, per_second=50, **SHAPES[shape])
    assert result["done"] == 1000
    assert result["responses_429"] <= 1000 // 100, result
    assert result["wall"] <= 1.05 * 1000 / 50, result


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_per_minute_limit_is_kept_at_pace_in_every_window_shape(shape: str) -> None:
    # From an empty window, 150 go at once (at 10 a second), then 150 a minute: 440 calls take 134 s.
    result = simulate(440, workers=6, per_minute=150, per_second=10, **SHAPES[shape])
    assert result["responses_429"] <= 440 // 100, result
    assert result["wall"] <= 1.05 * 134, result


@pytest.mark.parametrize("workers", [1, 4])
@pytest.mark.parametrize("shape", ["sliding, 429 without figures", "offset, 429 without figures", "fixed, aligned"])
def test_a_minute_used_up_by_another_client_costs_at_most_two_429s(shape: str, workers: int) -> None:
    # The bench's case: 150 a minute, the window full at the start. A perfect client is done with 470
    # calls after 4 minutes (150 more each minute); the governor must keep within 5 % of that.
    result = simulate(470, workers=workers, per_minute=150, used_before=150, **SHAPES[shape])
    assert result["done"] == 470
    assert result["responses_429"] <= 2, result
    assert result["wall"] <= 240 / 0.95, result


@pytest.mark.parametrize("latency", [0.004, 0.03, 0.1])
@pytest.mark.parametrize("seed", range(5))
def test_known_aligned_limits_are_never_exceeded_whatever_the_order_of_answers(latency: float, seed: int) -> None:
    # Four threads, 10 a second, figures on every answer; latencies vary, so answers come in any order.
    result = simulate(60, workers=4, latency=latency, seed=seed, per_second=10)
    assert result["done"] == 60
    assert result["responses_429"] == 0, result
