"""Quota pacing on a quota shaped unlike our clock (`make bench` part ``quota_sliding``).

The sandbox counts 150 requests a minute in a sliding window and answers its 429s without the
remaining-quota headers. The window is filled first (another client of the same account used it), then
the import runs in its own process. Figures: Sellsy calls, 429 share, and the throughput against the
quota's: a perfect client finishes N calls after 60 s × ceil(N / 150) (each minute frees 150 slots).
"""

from __future__ import annotations

import math
import time
from typing import Any

import httpx

from tests.bench.import_bench import _api_calls, _check, _control, _token, moto_process, run_child, sandbox_process

PER_MINUTE = 150
TARGET_THROUGHPUT = 0.95
TARGET_429_SHARE = 0.01


def fill_window(info: dict[str, Any], calls: int) -> None:
    """Use the whole minute's quota at once, as another client of the account would."""
    headers = {"Authorization": f"Bearer {_token(info)}"}
    with httpx.Client(base_url=info["api_url"], headers=headers, timeout=30) as client:
        for _ in range(calls):
            client.get("/taxes", params={"limit": 1})


def bench_sliding_quota(invoices: int = 330) -> dict[str, Any]:
    with sandbox_process(invoices, None) as info, moto_process() as aws_env:
        _control(info, "POST", "/quotas", json={"per_minute": PER_MINUTE, "mode": "sliding", "headers_on_429": False})
        fill_window(info, PER_MINUTE)
        _control(info, "DELETE", "/calls")
        started = time.monotonic()
        report = run_child(info, aws_env, "bench-quota")
        wall = time.monotonic() - started
        calls, r429 = _api_calls(info)
    served = calls - r429
    perfect = 60.0 * math.ceil(served / PER_MINUTE)
    return {
        "quota": f"{PER_MINUTE}/min, sliding window, 429 without quota headers, window full at start",
        "calls": calls,
        "calls_answered": served,
        "responses_429": r429,
        "share_429": _check(r429 / max(calls, 1), TARGET_429_SHARE),
        "wall_seconds": round(wall, 2),
        "perfect_client_seconds": perfect,
        "throughput_vs_quota": _check(perfect / wall, TARGET_THROUGHPUT, at_most=False),
        "status": report["answer"]["status"],
        "never_failed": _check(1.0 if report["answer"]["status"] == "done" else 0.0, 1.0, at_most=False),
    }
