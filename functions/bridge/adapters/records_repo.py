"""Imported revenue records in the records table.

Layout (one item per record; lines are records of their own stream):
    pk = A#{account_id}#R#{stream}#{shard}   (shard = crc32(key) % SHARDS: a big account spreads its
                                               writes and reads over SHARDS partitions per stream)
    sk = {key}                                 (e.g. `1234`, `company-12`, `1234-98765` for a line)
Attributes: `data` (the mapped fields, as one exact JSON text: decimals stay decimals; one string
attribute is several times cheaper to write and read than a map of 20-30 typed values), `f_<field>` copies
of the few fields the API filters on, `hash` (of data), `summary_hash` (documents: what the list
page showed), `line_keys` (documents: their lines, to drop rows removed in Sellsy), `locked_fields`,
`created_run`, `changed_run`, `last_seen_run`, `not_seen_since`, `updated_at`.

Lines live in their own items (not inside the invoice item) so a document with hundreds of rows never
nears DynamoDB's 400 KB item limit, and lines can be browsed and locked like any record. They share
their document's shard number, so the lines of one invoice are in one partition.
"""

from __future__ import annotations

import functools
import json
import operator
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.exceptions import ClientError

from bridge.adapters import dynamo
from bridge.adapters.aws import dynamodb_table
from bridge.adapters.dynamo import BadCursor as BadCursor  # the API catches it from here
from bridge.domain.revenue import stable_hash
from bridge.observability import ContextThreadPool
from bridge.settings import get_settings

SHARDS = 8
BATCH_GET_MAX = 100


class RecordNotFound(LookupError):
    pass


def shard_of(key: str) -> int:
    # Lines (`{doc}-{row}`) take their document's shard so one document's lines share a partition.
    head = key.split("-", 1)[0] if key[:1].isdigit() else key
    return zlib.crc32(head.encode()) % SHARDS


def partition(account_id: str, stream: str, shard: int) -> str:
    return dynamo.account_pk(account_id, "R", stream, shard)


def record_key(account_id: str, stream: str, key: str) -> dict[str, str]:
    return {"pk": partition(account_id, stream, shard_of(key)), "sk": key}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _table() -> Any:
    return dynamodb_table(get_settings().records_table)


FILTER_FIELDS = ("status", "currency", "customer_id", "original_invoice_id", "original_credit_note_id")


def _json_value(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else "null"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_json_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def dumps_data(data: dict[str, Any]) -> str:
    """JSON with Decimals written as numbers, digit for digit (json.dumps would need floats)."""
    return "{" + ",".join(json.dumps(k) + ":" + _json_value(v) for k, v in data.items()) + "}"


def loads_data(text: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(text, parse_float=Decimal)
    return value


def encode(item: dict[str, Any]) -> dict[str, Any]:
    stored = dict(item)
    data = item.get("data")
    if isinstance(data, dict):
        stored["data"] = dumps_data(data)
        for name in FILTER_FIELDS:
            if data.get(name) is not None:
                stored[f"f_{name}"] = data[name]
    return stored


def decode(item: dict[str, Any]) -> dict[str, Any]:
    data = item.get("data")
    if isinstance(data, str):
        item = {**item, "data": loads_data(data)}
    return {k: v for k, v in item.items() if not k.startswith("f_")}


def get_record(account_id: str, stream: str, key: str) -> dict[str, Any] | None:
    item = _table().get_item(Key=record_key(account_id, stream, key), ConsistentRead=True).get("Item")
    return None if item is None else decode(item)


def get_many(account_id: str, stream: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Stored items by key (missing keys absent): BatchGetItem by 100, leftovers asked again."""
    table = _table()
    client = table.meta.client
    found: dict[str, dict[str, Any]] = {}
    wanted = list(dict.fromkeys(keys))
    for start in range(0, len(wanted), BATCH_GET_MAX):
        # The resource's client (de)serialises DynamoDB types itself: plain Python keys and items.
        batch = [record_key(account_id, stream, key) for key in wanted[start : start + BATCH_GET_MAX]]
        request: dict[str, Any] = {table.name: {"Keys": batch, "ConsistentRead": True}}
        while request:
            answer = client.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(table.name, []):
                found[item["sk"]] = decode(item)
            request = answer.get("UnprocessedKeys") or {}
    return found


BATCH_WRITE_MAX = 25
WRITE_THREADS = 4
_write_pool: ContextThreadPool | None = None
_write_pool_lock = threading.Lock()


def _pool() -> ContextThreadPool:
    global _write_pool
    with _write_pool_lock:
        if _write_pool is None:
            _write_pool = ContextThreadPool(max_workers=WRITE_THREADS, thread_name_prefix="records-write")
        return _write_pool


def _write_batch(table_name: str, client: Any, items: list[dict[str, Any]]) -> None:
    request: dict[str, Any] = {table_name: [{"PutRequest": {"Item": encode(i)}} for i in items]}
    for attempt in range(10):
        answer = client.batch_write_item(RequestItems=request)
        request = answer.get("UnprocessedItems") or {}
        if not request:
            return
        time.sleep(min(0.05 * 2**attempt, 2.0))  # throttled: back off before resending what is left
    raise RuntimeError(f"DynamoDB kept {len(request.get(table_name, []))} items unprocessed")


def put_items(items: list[dict[str, Any]]) -> None:
    """Write items (unique keys) in BatchWriteItem calls of 25, several in flight at once; returns when all
    are stored, so callers can order writes (lines before their document)."""
    if not items:
        return
    table = _table()
    batches = [items[i : i + BATCH_WRITE_MAX] for i in range(0, len(items), BATCH_WRITE_MAX)]
    if len(batches) == 1:
        _write_batch(table.name, table.meta.client, batches[0])
        return
    futures = [_pool().submit(_write_batch, table.name, table.meta.client, batch) for batch in batches]
    for future in futures:
        future.result()


def iter_partition(
    account_id: str, stream: str, shard: int, start: dict[str, Any] | None = None, *, bookkeeping_only: bool = False
) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any] | None]]:
    """Pages (items, last evaluated key) of one shard (about 1 MB each); `bookkeeping_only` reads just
    what a sweep needs, which keeps pages small."""
    kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(partition(account_id, stream, shard))}
    if bookkeeping_only:
        kwargs["ProjectionExpression"] = "pk, sk, last_seen_run, not_seen_since"
    for items, last in dynamo.pages(_table().query, kwargs, start):
        yield [decode(i) for i in items], last


def mark_not_seen(account_id: str, stream: str, key: str, since: str) -> dict[str, Any] | None:
    """Deletions are not propagated: the record stays, flagged as absent from Sellsy since `since`.

    Returns the flagged item, or None when it was already flagged (or does not exist)."""
    try:
        answer = _table().update_item(
            Key=record_key(account_id, stream, key),
            UpdateExpression="SET not_seen_since = :since",
            ConditionExpression=Attr("pk").exists() & Attr("not_seen_since").not_exists(),
            ExpressionAttributeValues={":since": since},
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if dynamo.is_conditional_failure(exc):
            return None
        raise
    attributes = answer.get("Attributes")
    return None if attributes is None else decode(attributes)


# --- browsing and manual edits (API) ----------------------------------------------------------------------


def encode_cursor(shard: int, last: dict[str, Any] | None) -> str:
    return dynamo.encode_cursor({"s": shard, "k": last})


def _valid_cursor(value: dict[str, Any]) -> bool:
    shard, last = value.get("s"), value.get("k", "missing")
    in_range = isinstance(shard, int) and not isinstance(shard, bool) and 0 <= shard < SHARDS
    return in_range and (last is None or dynamo.is_table_key(last))


def decode_cursor(cursor: str) -> tuple[int, dict[str, Any] | None]:
    value = dynamo.decode_cursor(cursor, _valid_cursor)
    return int(value["s"]), value["k"]


def browse(
    account_id: str,
    stream: str,
    *,
    limit: int = 50,
    cursor: str | None = None,
    equals: dict[str, Any] | None = None,
    not_seen: bool | None = None,
    locked: bool | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of records of one stream, shard after shard, with an opaque cursor for the next page."""
    shard, last = decode_cursor(cursor) if cursor else (0, None)
    condition = _browse_filter(equals or {}, not_seen=not_seen, locked=locked)
    found: list[dict[str, Any]] = []
    while shard < SHARDS:
        request: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(partition(account_id, stream, shard))}
        if condition is None:
            request["Limit"] = max(limit - len(found), 1)
        else:  # filtered reads drop items after reading them: read more per call than the page needs
            request.update(FilterExpression=condition, Limit=max(limit * 4, 50))
        for items, _last in dynamo.pages(_table().query, request, last):
            for item in items:
                found.append(decode(item))
                if len(found) == limit:
                    return found, encode_cursor(shard, {"pk": item["pk"], "sk": item["sk"]})
            if condition is None:
                request["Limit"] = max(limit - len(found), 1)
        shard, last = shard + 1, None
    return found, None


def _browse_filter(equals: dict[str, Any], *, not_seen: bool | None, locked: bool | None) -> ConditionBase | None:
    terms: list[ConditionBase] = []
    for name, value in equals.items():
        if name not in FILTER_FIELDS:
            raise ValueError(f"records cannot be filtered on {name!r}")
        terms.append(Attr(f"f_{name}").eq(value))
    if not_seen is not None:
        terms.append(Attr("not_seen_since").exists() if not_seen else Attr("not_seen_since").not_exists())
    if locked is not None:
        has_locks = Attr("locked_fields").size().gt(0)
        terms.append(has_locks if locked else Attr("locked_fields").not_exists() | Attr("locked_fields").size().eq(0))
    return functools.reduce(operator.and_, terms) if terms else None


def patch_fields(account_id: str, stream: str, key: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Set fields by hand and lock them: later imports keep these values (issue #5, user rules)."""
    item = get_record(account_id, stream, key)
    if item is None:
        raise RecordNotFound(f"{stream} record {key!r} does not exist")
    data = {**(item.get("data") or {}), **fields}
    new = {
        **item,
        "data": data,
        "hash": stable_hash(data),
        "locked_fields": sorted(set(item.get("locked_fields") or []) | set(fields)),
        "updated_at": now_iso(),
    }
    try:  # conditional on the hash read: an import writing meanwhile is never overwritten blindly
        _table().put_item(Item=encode(new), ConditionExpression=Attr("hash").eq(item.get("hash")))
    except ClientError as exc:
        if dynamo.is_conditional_failure(exc):
            raise RecordConflict(f"{stream} record {key!r} changed meanwhile; retry") from exc
        raise
    return new


class RecordConflict(RuntimeError):
    pass
