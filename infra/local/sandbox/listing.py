"""Sellsy list semantics: limit ≤ 100, seek (opaque) or numeric offsets, order/direction, field[]."""

from __future__ import annotations

import base64
import bisect
import functools
import json
import operator
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from infra.local.sandbox.http import Request, Response, bad_request

MAX_LIMIT = 100
DEFAULT_LIMIT = 25
NUMERIC_OFFSET_CAP = 100_000


def _encode_seek(key: Any) -> str:
    return base64.b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def _decode_seek(token: str) -> Any:
    try:
        return json.loads(base64.b64decode(token.encode(), validate=True))
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("Invalid pagination offset", offset="not an offset returned by a previous page") from exc


def page_params(req: Request) -> tuple[int, str | None]:
    raw_limit = req.arg("limit")
    try:
        limit = DEFAULT_LIMIT if raw_limit in (None, "") else int(raw_limit)
    except ValueError as exc:
        raise bad_request("Invalid limit", limit="must be an integer between 0 and 100") from exc
    if not 0 <= limit <= MAX_LIMIT:
        raise bad_request("Invalid limit", limit="must be an integer between 0 and 100")
    return limit, req.arg("offset")


def paginate(
    req: Request,
    items: Iterable[Any],
    render: Callable[[Any], dict[str, Any]] = lambda x: x,
    sort_key: Callable[[Any], Any] | None = None,
    orders: dict[str, Callable[[Any], Any]] | None = None,
    default_order: str = "id",
) -> Response:
    """Page over `items` (objects or ids), rendering only the page; the sort key must be JSON-able."""
    limit, offset = page_params(req)
    order = req.arg("order") or default_order
    orders = orders or {}
    key_fn = orders.get(order) or sort_key
    direction = (req.arg("direction") or "asc").lower()
    if direction not in ("asc", "desc"):
        raise bad_request("Invalid direction", direction="asc or desc")
    if key_fn is None:
        if order != default_order and order not in orders:
            raise bad_request("Invalid order", order=f"unsupported order field {order!r}")
        key_fn = _id_key
    if key_fn is _id_key or (order == "id" and sort_key is None):  # every "id" order is the object id
        return _paginate_by_id(req, list(items), render, limit, offset, direction == "desc")
    keyed = sorted(
        ((_json_key(key_fn(item)), item) for item in items),
        key=lambda pair: pair[0],
        reverse=direction == "desc",
    )
    total = len(keyed)
    if offset is not None and offset.isdigit():
        start = int(offset)
        end = min(start + limit, NUMERIC_OFFSET_CAP)
        window = keyed[start:end] if start < NUMERIC_OFFSET_CAP else []
        next_offset: Any = start
    else:
        start = 0
        if offset:
            last = _decode_seek(offset)
            last_key = tuple(last) if isinstance(last, list) else last
            start = _bisect_after(keyed, last_key, direction == "desc")
        window = keyed[start : start + limit]
        next_offset = _encode_seek(list(window[-1][0])) if window else (offset or "")
    data = [apply_fields(req, render(item)) for _, item in window]
    return Response.json(
        200,
        {
            "pagination": {"limit": limit, "count": len(data), "total": total, "offset": next_offset},
            "data": data,
        },
    )


def _paginate_by_id(
    req: Request,
    items: list[Any],
    render: Callable[[Any], dict[str, Any]],
    limit: int,
    offset: str | None,
    descending: bool,
) -> Response:
    """Fast path for the default order (50,000 invoices page in well under a millisecond of sorting)."""
    # documents arrive as ascending ids already (DocStore.ids()); objects as dicts in creation order
    ids = items if items and isinstance(items[0], int) else [_id_key(item) for item in items]
    if not (items and isinstance(items[0], int)) and any(map(operator.gt, ids, ids[1:])):
        pairs = sorted(zip(ids, items, strict=True), key=operator.itemgetter(0))
        ids = [pair[0] for pair in pairs]
        items = [pair[1] for pair in pairs]
    total = len(ids)
    if offset is not None and offset.isdigit():
        start = int(offset)
        end = min(start + limit, NUMERIC_OFFSET_CAP)
        positions = range(start, end) if start < NUMERIC_OFFSET_CAP else range(0)
        next_offset: Any = start
    else:
        start = 0
        if offset:
            last = _decode_seek(offset)
            last_id = last[0] if isinstance(last, list) and last else last
            if not isinstance(last_id, int):
                raise bad_request("Invalid pagination offset", offset="not an offset returned by a previous page")
            start = total - bisect.bisect_left(ids, last_id) if descending else bisect.bisect_right(ids, last_id)
        positions = range(start, min(start + limit, total))
        next_offset = None
    picked = [(total - 1 - p) if descending else p for p in positions if p < total]
    window = [items[p] for p in picked]
    if next_offset is None:
        next_offset = _encode_seek([ids[picked[-1]]]) if picked else (offset or "")
    data = [apply_fields(req, render(item)) for item in window]
    return Response.json(
        200,
        {
            "pagination": {"limit": limit, "count": len(data), "total": total, "offset": next_offset},
            "data": data,
        },
    )


def _id_key(item: Any) -> Any:
    return item if isinstance(item, int) else item["id"]


def _json_key(value: Any) -> tuple[Any, ...]:
    if not isinstance(value, tuple):
        value = (value,)
    out = []
    for part in value:
        if isinstance(part, (date, datetime)):
            part = part.isoformat()
        out.append("" if part is None else part)
    return tuple(out)


def _bisect_after(keyed: list[tuple[Any, Any]], last_key: Any, descending: bool) -> int:
    low, high = 0, len(keyed)
    while low < high:
        mid = (low + high) // 2
        key = keyed[mid][0]
        before = key > last_key if descending else key < last_key
        if before or key == last_key:
            low = mid + 1
        else:
            high = mid
    return low


def apply_fields(req: Request, obj: dict[str, Any]) -> dict[str, Any]:
    """`field[]=id&field[]=address.city&field[]=_embed`: keep only the named (dotted) fields."""
    fields = req.args("field") or req.args("fields")
    if not fields:
        return obj
    out: dict[str, Any] = {}
    for path in fields:
        head, _, rest = path.partition(".")
        head = head.removesuffix("[]")
        if head not in obj:
            continue
        if not rest or not isinstance(obj[head], dict):
            out[head] = obj[head]
        else:
            sub = out.setdefault(head, {})
            if isinstance(sub, dict) and rest in obj[head]:
                sub[rest] = obj[head][rest]
    return out


def single(req: Request, obj: dict[str, Any], status: int = 200) -> Response:
    return Response.json(status, apply_fields(req, obj))


def in_range(value: str | None, bounds: Any, *, as_date: bool = False) -> bool:
    """Sellsy date filters: {"start": ..., "end": ...}, inclusive, date or date-time with offset."""
    if not isinstance(bounds, dict):
        return True
    if value is None:
        return False
    moment = _parse(value, as_date)
    start, end = bounds.get("start"), bounds.get("end")
    if start and moment < _parse(start, as_date):
        return False
    return not (end and moment > _parse(end, as_date, end=True))


@functools.lru_cache(maxsize=65_536)  # the same timestamps are compared again and again by searches
def _parse(text: str, as_date: bool, end: bool = False) -> Any:
    try:
        if as_date or len(text) == 10:
            day = date.fromisoformat(text[:10])
            if as_date:
                return day
            clock = "23:59:59" if end else "00:00:00"
            return datetime.fromisoformat(f"{day.isoformat()}T{clock}+00:00")
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise bad_request("Invalid date filter", filters=f"{text!r} is not an ISO 8601 date") from exc
