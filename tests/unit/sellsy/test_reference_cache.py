"""Reference data kept a few minutes per client: read once, read again after the TTL, failures not kept."""

from __future__ import annotations

import pytest

from bridge.sellsy.reference_cache import ReferenceCache, cached


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_value_is_read_once_per_ttl_and_per_key() -> None:
    clock = Clock()
    cache = ReferenceCache(ttl=600, clock=clock)
    reads: list[str] = []

    def load(key: str) -> str:
        reads.append(key)
        return key.upper()

    assert cache.get("staff-1", lambda: load("staff-1")) == "STAFF-1"
    assert cache.get("staff-1", lambda: load("staff-1")) == "STAFF-1"
    assert cache.get("staff-2", lambda: load("staff-2")) == "STAFF-2"
    clock.now = 601
    cache.get("staff-1", lambda: load("staff-1"))
    assert reads == ["staff-1", "staff-2", "staff-1"]


def test_a_failed_read_is_not_kept() -> None:
    cache = ReferenceCache(clock=Clock())

    def fail() -> str:
        raise RuntimeError("Sellsy unavailable")

    with pytest.raises(RuntimeError):
        cache.get("marker", fail)
    assert cache.get("marker", lambda: "found") == "found"


def test_clients_without_a_cache_read_every_time() -> None:
    reads = []
    for _ in range(2):
        cached(object(), "k", lambda: reads.append(1))
    assert len(reads) == 2
