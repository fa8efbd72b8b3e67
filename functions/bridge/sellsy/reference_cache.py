"""Reference data read from Sellsy once per account and execution environment, then kept a few minutes.

Staff (a document's owner), the account's custom-field definitions and the document field that keeps
markers change rarely, and the quota is shared with the nightly import: every read saved here is one
call left for someone's intervention. An entry lives ``ttl`` seconds, so a change in Sellsy shows within
minutes; a failed read is not kept (the next caller tries again).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

DEFAULT_TTL_SECONDS = 600.0


class ReferenceCache:
    def __init__(self, ttl: float = DEFAULT_TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, Any]] = {}

    def get[T](self, key: Hashable, load: Callable[[], T]) -> T:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and now - entry[0] < self.ttl:
                return entry[1]
        value = load()  # outside the lock: a slow read must not hold other keys (a rare double read is fine)
        with self._lock:
            self._entries[key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def cached[T](client: Any, key: Hashable, load: Callable[[], T]) -> T:
    """``load()`` through the client's reference cache; clients without one (test fakes) read every time."""
    cache = getattr(client, "reference", None)
    if not isinstance(cache, ReferenceCache):
        return load()
    return cache.get(key, load)
