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


def simulate(calls: int, *, workers: int, latency: float = 0.004, seed: int = 1, **quota: Any) -> dict[str, Any]:
    """``calls`` successful requests by ``workers`` threads; returns 429s and wall time (simulated)."""
    now = [START]
    config = SandboxConfig()
    config.quotas.update(quota)
    server = Quotas(config, clock=lambda: now[0])
    governor = QuotaGovernor(clock=lambda: now[0], sleep=lambda _: None, jitter=lambda: 0.0)
    rng = random.Random(seed)
    order = itertools.count()
    events: list[tuple[float, int, str, Any]] = [(START, next(order), "try", None) for _ in range(workers)]
    heapq.heapify(events)
    done = refused = in_progress = 0
    while events and done < calls:
        at, _, kind, data = heapq.heappop(events)
        now[0] = max(now[0], at)
        if kind == "try":
            if done + in_progress >= calls:
                continue
            with governor._lock:  # what acquire() does, without blocking the simulation
                wake = governor._wake_time(now[0], 0)
                reservation = governor._reserve(now[0]) if wake is None else None
            if reservation is None:
                heapq.heappush(events, (max(wake or now[0], now[0]) + 0.001, next(order), "try", None))
                continue
            in_progress += 1
            delay = latency * (0.5 + rng.random())
            heapq.heappush(events, (now[0] + delay / 2, next(order), "arrive", (reservation, delay)))
        elif kind == "arrive":
            reservation, delay = data
            allowed, headers = server.consume()
            heapq.heappush(events, (now[0] + delay / 2, next(order), "answer", (reservation, allowed, headers)))
        else:
            reservation, allowed, headers = data
            in_progress -= 1
            governor.record(reservation, headers, status=200 if allowed else 429)
            if allowed:
                done += 1
            else:
                refused += 1
                governor.pause_after_429(parse_retry_after(headers.get("Retry-After"), now=now[0]))
            heapq.heappush(events, (now[0], next(order), "try", None))
    return {"done": done, "responses_429": refused, "wall": now[0] - START}


SHAPES = {
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
