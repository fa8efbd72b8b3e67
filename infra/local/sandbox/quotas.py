"""Sellsy's request quotas as the sandbox plays them: per second, minute, day and month; every call counts.

Fixed windows are cut on the clock, shifted by ``offset_seconds`` (a server whose windows do not start
where ours do); sliding windows count the calls of the last second or minute. A 429 answers as soon as
one window is empty, with or without the remaining-quota headers, and with ``Retry-After`` in seconds or
as an HTTP date when asked (see ``QuotaConfig``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from infra.local.sandbox.config import SandboxConfig

UNLIMITED_REMAINING = 1_000_000
QUOTA_HEADERS = (
    ("per_second", "X-Quota-Remaining-By-Second"),
    ("per_minute", "X-Quota-Remaining-By-Minute"),
    ("per_day", "X-Quota-Remaining-By-Day"),
    ("per_month", "X-Quota-Remaining-By-Month"),
)
SLIDING_LENGTHS = {"per_second": 1.0, "per_minute": 60.0}


class Quotas:
    def __init__(self, config: SandboxConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config.quotas
        self.clock = clock
        self.lock = threading.Lock()
        self.used: dict[str, tuple[Any, int]] = {}  # fixed windows: name -> (window key, calls)
        self.recent: dict[str, deque[float]] = {name: deque() for name in SLIDING_LENGTHS}

    def clear(self) -> None:
        with self.lock:
            self.used.clear()
            for calls in self.recent.values():
                calls.clear()

    def _sliding(self, name: str) -> bool:
        return self.config.mode == "sliding" and name in SLIDING_LENGTHS

    def _keys(self, now: float) -> dict[str, Any]:
        shifted = now - self.config.offset_seconds
        moment = datetime.fromtimestamp(shifted, UTC)
        return {
            "per_second": int(shifted // 1),
            "per_minute": int(shifted // 60),
            "per_day": moment.date(),
            "per_month": (moment.year, moment.month),
        }

    def _used(self, name: str, now: float, keys: dict[str, Any]) -> int:
        if self._sliding(name):
            calls = self.recent[name]
            while calls and calls[0] <= now - SLIDING_LENGTHS[name]:
                calls.popleft()
            return len(calls)
        key, used = self.used.get(name, (None, 0))
        return used if key == keys[name] else 0

    def consume(self) -> tuple[bool, dict[str, str]]:
        """Count one request; False when any window was already empty (the call still counts).

        The headers are those of the answer; on a refusal they follow ``headers_on_429`` and
        ``retry_after``.
        """
        with self.lock:
            now = self.clock()
            keys = self._keys(now)
            allowed, full, headers = True, [], {}
            for name, header in QUOTA_HEADERS:
                limit = getattr(self.config, name)
                used = self._used(name, now, keys)
                if limit is not None and used >= limit:
                    allowed = False
                    full.append(name)
                if self._sliding(name):
                    self.recent[name].append(now)
                else:
                    self.used[name] = (keys[name], used + 1)
                headers[header] = str(UNLIMITED_REMAINING if limit is None else max(0, limit - used - 1))
            if allowed:
                return True, headers
            refusal = headers if self.config.headers_on_429 else {}
            if self.config.retry_after:
                refusal = {**refusal, "Retry-After": self._retry_after(full, now)}
            return False, refusal

    def _retry_after(self, full: list[str], now: float) -> str:
        """When every full window has room again, in the configured form."""
        free_at = now
        for name in full:
            limit = int(getattr(self.config, name))
            if self._sliding(name):
                calls = self.recent[name]
                # Room again once the calls beyond limit - 1 have aged out.
                free_at = max(free_at, calls[len(calls) - limit] + SLIDING_LENGTHS[name])
            elif name == "per_second":
                free_at = max(free_at, self._next_turn(now, 1.0))
            elif name == "per_minute":
                free_at = max(free_at, self._next_turn(now, 60.0))
            else:  # day or month: an hour is as good a hint as any
                free_at = max(free_at, now + 3600)
        if self.config.retry_after == "date":
            return datetime.fromtimestamp(math.ceil(free_at), UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
        return str(max(1, math.ceil(free_at - now)))

    def _next_turn(self, now: float, length: float) -> float:
        offset = self.config.offset_seconds
        return (math.floor((now - offset) / length) + 1) * length + offset

    def peek(self) -> dict[str, str]:
        """The remaining-quota headers without counting a call (for answers to unauthenticated calls)."""
        usage = self.usage()
        return {
            header: str(
                UNLIMITED_REMAINING
                if usage[name]["limit"] is None
                else max(0, int(usage[name]["limit"] or 0) - int(usage[name]["used"] or 0))
            )
            for name, header in QUOTA_HEADERS
        }

    def usage(self) -> dict[str, dict[str, int | None]]:
        with self.lock:
            now = self.clock()
            keys = self._keys(now)
            return {
                name: {"limit": getattr(self.config, name), "used": self._used(name, now, keys)}
                for name, _ in QUOTA_HEADERS
            }

    def settings(self) -> dict[str, Any]:
        cfg = self.config
        return {
            "mode": cfg.mode,
            "offset_seconds": cfg.offset_seconds,
            "headers_on_429": cfg.headers_on_429,
            "retry_after": cfg.retry_after,
        }
