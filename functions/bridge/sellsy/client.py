"""The one HTTP client for Sellsy API v2: auth, shared quota pacing, retries that never duplicate a write.

Reads (GET and ``POST .../search``) are retried on 5xx and transport errors with capped exponential
backoff. A create or update whose outcome is unknown (5xx, timeout, dropped connection after sending)
raises ``WriteOutcomeUnknown``: the caller's ledger looks for the object before anything is re-sent.
A 429 is never a duplicate risk (Sellsy refused it), so every method waits and tries again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from bridge.observability import logger
from bridge.sellsy.auth import TokenProvider
from bridge.sellsy.errors import (
    InvalidFilter,
    NeedsReconnect,
    PayloadTooLarge,
    RateLimited,
    SellsyError,
    SellsyUnavailable,
    WriteOutcomeUnknown,
    error_from_response,
)
from bridge.sellsy.quota import QuotaGovernor, parse_retry_after
from bridge.sellsy.reference_cache import ReferenceCache
from bridge.sellsy.scopes import template_regex
from bridge.sellsy.search_filters import SEARCH_FILTERS

PAGE_LIMIT = 100  # Sellsy's maximum page size
MAX_UPLOAD_BYTES = 15 * 1024 * 1024  # Sellsy's file size limit
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)

M = TypeVar("M", bound=BaseModel)

# Errors raised before the request left this machine: safe to retry even for writes.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


_SEARCH_ROUTES = [(template_regex(route), route) for route in SEARCH_FILTERS]


def check_filters(path: str, filters: dict[str, Any]) -> None:
    """Refuse filter names the route does not know: Sellsy would ignore them and return everything."""
    route = next((route for regex, route in _SEARCH_ROUTES if regex.match(path)), None)
    if route is None:
        raise InvalidFilter(f"{path} is not a Sellsy search route", path=path)
    unknown = sorted(set(filters) - SEARCH_FILTERS[route])
    if unknown:
        raise InvalidFilter(
            f"unknown filter(s) for {route}: {', '.join(unknown)}",
            details={"unknown": unknown, "allowed": sorted(SEARCH_FILTERS[route])},
            path=path,
        )


def is_read(method: str, path: str) -> bool:
    return method == "GET" or (method == "POST" and path.rstrip("/").endswith("/search"))


@dataclass(frozen=True)
class Page:
    """One page of a list/search; ``next_offset`` (None on the last page) is the checkpoint to resume from."""

    items: list[dict[str, Any]]
    next_offset: str | None
    total: int | None
    offset: str | None = None
    seen: int | None = None  # items listed up to and including this page, when known (a checkpoint keeps it)
    listed_total: int | None = None  # the total the listing's first page answered (a checkpoint keeps it)


class SellsyClient:
    def __init__(
        self,
        api_url: str,
        auth: TokenProvider,
        *,
        transport: httpx.BaseTransport | None = None,
        quota: QuotaGovernor | None = None,
        daily_reserve: int = 0,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 4,
        max_429_waits: int = 6,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.auth = auth
        # A real sleep lets the governor wake waiting threads as soon as an answer opens room.
        self.quota = quota or QuotaGovernor(sleep=None if sleep is time.sleep else sleep)
        self.daily_reserve = daily_reserve
        self.reference = ReferenceCache()  # staff, custom-field definitions: see reference_cache.py
        self.max_retries = max_retries
        self.max_429_waits = max_429_waits
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.api_url,
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": "sellsy-bridge/1.0"},
        )

    def close(self) -> None:
        self._http.close()

    # -- generic verbs ----------------------------------------------------------------------------
    def get(self, path: str, *, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        return self.request("POST", path, json=json, params=params)

    def put(self, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        return self.request("PUT", path, json=json, params=params)

    def patch(self, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        return self.request("PATCH", path, json=json, params=params)

    def delete(self, path: str, *, params: dict[str, Any] | None = None) -> Any:
        return self.request("DELETE", path, params=params)

    # The one retry loop (401 renew, 429 wait, 5xx/transport retry, unknown write outcome) reads as a whole here.
    def request(  # noqa: C901
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Any:
        method = method.upper()
        read = is_read(method, path)
        failures = 0
        waits_429 = 0
        renewed = False
        while True:
            token = self.auth.token()  # before the quota slot: a renewal must not hold a reservation
            reservation = self.quota.acquire(daily_reserve=self.daily_reserve)
            try:
                response = self._http.request(
                    method,
                    path,
                    params=params,
                    json=json,
                    files=files,
                    headers={"Authorization": f"Bearer {token}"},
                )
            except BaseException as exc:
                self.quota.record(reservation, {}, status=0)  # no answer: end the reservation
                if not isinstance(exc, httpx.TransportError):
                    raise
                if not read and not isinstance(exc, _NOT_SENT):
                    raise WriteOutcomeUnknown(
                        f"{method} {path}: connection lost after sending ({type(exc).__name__})",
                        method=method,
                        path=path,
                    ) from exc
                failures += 1
                if failures > self.max_retries:
                    raise SellsyUnavailable(
                        f"{method} {path}: {type(exc).__name__} after {failures} attempts",
                        method=method,
                        path=path,
                    ) from exc
                self._backoff(failures, method, path, type(exc).__name__)
                continue

            self.quota.record(reservation, response.headers, status=response.status_code)
            status = response.status_code
            if status == 429:
                waits_429 += 1
                if waits_429 > self.max_429_waits:
                    raise RateLimited(f"{method} {path}: still 429 after {waits_429} waits", status=429)
                retry_after = parse_retry_after(response.headers.get("Retry-After"), now=self.quota.now())
                self.quota.pause_after_429(retry_after)
                logger.warning("sellsy 429, waiting", extra={"method": method, "path": path, "waits": waits_429})
                continue
            if status == 401:
                if renewed:
                    raise NeedsReconnect(f"{method} {path}: 401 after renewing the token", status=401)
                renewed = True
                self.auth.refresh(token)
                continue
            if status >= 500:
                if not read:
                    raise WriteOutcomeUnknown(
                        f"{method} {path}: Sellsy answered {status}; outcome unknown",
                        status=status,
                        method=method,
                        path=path,
                    )
                failures += 1
                if failures > self.max_retries:
                    raise error_from_response(status, _json_or_none(response), method=method, path=path)
                self._backoff(failures, method, path, str(status))
                continue
            if status >= 400:
                raise error_from_response(status, _json_or_none(response), method=method, path=path)
            return _json_or_none(response)

    def _backoff(self, failures: int, method: str, path: str, reason: str) -> None:
        delay = min(self._backoff_cap, self._backoff_base * 2 ** (failures - 1))
        delay = delay / 2 + random.uniform(0, delay / 2)  # jitter so workers do not retry in step
        logger.info("sellsy read retry", extra={"method": method, "path": path, "reason": reason, "delay": delay})
        self._sleep(delay)

    # -- lists and search -------------------------------------------------------------------------
    def iter_pages(
        self,
        path: str,
        *,
        search: bool,
        filters: dict[str, Any] | None = None,
        embed: Iterable[str] | None = None,
        fields: Iterable[str] | None = None,
        order: str | None = None,
        direction: str | None = None,
        offset: str | int | None = None,
        limit: int = PAGE_LIMIT,
        seen: int | None = None,
        listed_total: int | None = None,
    ) -> Iterator[Page]:
        """Pages of a list (GET) or search (POST) route.

        ``offset=None`` starts a seek pagination (Sellsy's recommended mode, opaque offsets); an integer
        (or digit string) offset uses numeric pagination. Resume by passing a page's ``next_offset``, with
        its ``seen`` and ``listed_total``: knowing the position lets the last full page end on ``total``
        instead of costing one more call that answers an empty page. ``total`` is trusted only while it is
        the one the listing began with: a record deleted behind the position lowers it, and ending on the
        lower figure would leave the last records unread.
        """
        if search:
            check_filters(path, filters or {})
        elif filters:
            raise InvalidFilter("filters need a search route (search=True)", path=path)
        numeric = offset is not None and str(offset).isdigit()
        current = None if offset is None else str(offset)
        position = 0 if offset is None else seen
        while True:
            params = _page_params(limit, current, embed=embed, fields=fields, order=order, direction=direction)
            if search:
                body = self.post(path, params=params, json={"filters": filters or {}})
            else:
                body = self.get(path, params=params)
            items, pagination = _page_parts(body, path)
            total = _int_or_none(pagination.get("total"))
            listed_total = total if listed_total is None else listed_total
            position = None if position is None else position + len(items)
            unchanged_total = total if total == listed_total else None
            next_offset = _next_offset(
                current,
                pagination,
                count=len(items),
                limit=limit,
                numeric=numeric,
                total=unchanged_total,
                seen=position,
            )
            yield Page(
                items=items,
                next_offset=next_offset,
                total=total,
                offset=current,
                seen=position,
                listed_total=listed_total,
            )
            if next_offset is None:
                return
            current = next_offset

    def iterate(self, path: str, *, search: bool, model: type[M] | None = None, **kwargs: Any) -> Iterator[Any]:
        """Items of every page; parsed into ``model`` when given."""
        for page in self.iter_pages(path, search=search, **kwargs):
            for item in page.items:
                yield model.model_validate(item) if model is not None else item

    # -- files ------------------------------------------------------------------------------------
    def upload_file(self, path: str, *, filename: str, content: bytes, content_type: str = "application/pdf") -> Any:
        """Multipart upload (part ``file``); refused before sending above Sellsy's 15 MB limit."""
        if len(content) > MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(
                f"file {filename!r} is {len(content)} bytes; Sellsy accepts at most {MAX_UPLOAD_BYTES}",
                details={"size": len(content), "max": MAX_UPLOAD_BYTES},
                path=path,
            )
        return self.request("POST", path, files={"file": (filename, content, content_type)})


def _json_or_none(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _page_params(
    limit: int,
    offset: str | None,
    *,
    embed: Iterable[str] | None,
    fields: Iterable[str] | None,
    order: str | None,
    direction: str | None,
) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit}
    if offset is not None:
        params["offset"] = offset
    if embed:
        params["embed[]"] = list(embed)
    if fields:
        params["field[]"] = list(fields)
    if order:
        params["order"] = order
    if direction:
        params["direction"] = direction
    return params


def _next_offset(
    current: str | None,
    pagination: dict[str, Any],
    *,
    count: int,
    limit: int,
    numeric: bool,
    total: int | None,
    seen: int | None,
) -> str | None:
    """The offset of the page after this one, None on the last page.

    A short page ends the list; numeric offsets count items; seek offsets come from Sellsy (the same one again
    ends the list too). ``total`` ends it early when the position is known: numeric offsets, or the items seen
    since the start of a seek pagination (``seen``; None when it resumed without its position).
    """
    if count < limit:
        return None
    if numeric:
        following = str(int(current or 0) + count)
    else:
        raw = pagination.get("offset")
        if raw in (None, "") or str(raw) == current:
            return None
        following = str(raw)
    if total is not None:
        reached = int(following) if numeric else seen
        if reached is not None and reached >= total:
            return None
    return following


def _page_parts(body: Any, path: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise SellsyError(f"{path}: answer is not a page (no data list)", path=path)
    pagination = body.get("pagination")
    return body["data"], pagination if isinstance(pagination, dict) else {}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
