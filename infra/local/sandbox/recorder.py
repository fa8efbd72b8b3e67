"""Keeps a bounded, deduplicated sample of `/v2` exchanges for contract validation.

One sample per (method, route, status, request shape, response shape, query keys): thousands of
identical list calls cost one validation, while every distinct shape is checked.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

MAX_SAMPLES = 4000
MAX_PER_ROUTE_STATUS = 8  # response shapes kept per (method, route, status, request shape)
MAX_BODY_BYTES = 256 * 1024


def shape(value: Any, depth: int = 0) -> Any:
    """A structural fingerprint: keys and JSON types, lists summarised by their first items."""
    if depth > 6:
        return "…"
    if isinstance(value, dict):
        return tuple(sorted((k, shape(v, depth + 1)) for k, v in value.items()))
    if isinstance(value, list):
        return ("list", tuple(sorted({repr(shape(v, depth + 1)) for v in value[:3]})))
    if value is None:
        return "null"
    return type(value).__name__


@dataclass
class Exchange:
    method: str
    path: str
    route: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int
    resp_headers: dict[str, str]
    resp_body: bytes


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: dict[Any, Exchange] = {}
        self.per_route: dict[tuple[Any, ...], int] = {}
        self.seen = 0
        self.dropped = 0

    def record(self, exchange: Exchange, request_json: Any, response_json: Any) -> None:
        key = (
            exchange.method,
            exchange.route,
            exchange.status,
            tuple(sorted(exchange.query)),
            repr(shape(request_json)) if request_json is not None else len(exchange.body) > 0,
            repr(shape(response_json)),
        )
        with self.lock:
            self.seen += 1
            if key in self.samples:
                return
            # every distinct request shape is kept (that is what proves our client's requests conform);
            # response variety is capped per request shape
            route_key = (exchange.method, exchange.route, exchange.status, key[4])
            if len(self.samples) >= MAX_SAMPLES or self.per_route.get(route_key, 0) >= MAX_PER_ROUTE_STATUS:
                self.dropped += 1
                return
            self.per_route[route_key] = self.per_route.get(route_key, 0) + 1
            if len(exchange.body) > MAX_BODY_BYTES:
                exchange.body = exchange.body[:0]
            self.samples[key] = exchange

    def exchanges(self) -> list[Exchange]:
        with self.lock:
            return list(self.samples.values())

    def clear(self) -> None:
        with self.lock:
            self.samples.clear()
            self.per_route.clear()
            self.seen = 0
            self.dropped = 0
