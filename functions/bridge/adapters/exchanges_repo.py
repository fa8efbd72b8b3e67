"""Exchange records in the exchanges table, and the replay messages of failed ones in S3.

Keys (tenant first, one partition per account and UTC day so a busy account spreads over days):
- ``pk = A#{account}#X#{YYYY-MM-DD}``, ``sk = {exchange_id}``; exchange ids start with their UTC
  timestamp, so ``sk`` order is time order and the id alone locates the partition;
- ``gsi1pk = A#{account}#O#{sellsy_type}#{sellsy_id}``, ``gsi1sk = {exchange_id}``: one object's history;
- ``gsi2pk = A#{account}#XS#{status}``, ``gsi2sk = {exchange_id}``, set on failed and skipped exchanges only
  (a sparse index): a failures-only page or a replay of failures reads only failures, in one query, instead
  of every exchange of the days it walks. One partition per account and outcome is enough: these outcomes
  are a small share of the traffic and an index partition has no size limit;
- ``pk = A#{account}#S#{subject}``, ``sk = LAST_OK``: the id of the latest successful exchange about one
  subject (see ``bridge.flows.exchange_log.subject_of``), so a page of failures learns which ones a later
  success fixed in one BatchGetItem.
Items carry ``expires_at`` (TTL). Replay messages may hold personal data, so they are not in the
item: they go to the reports bucket under ``replay/`` and the item keeps only the key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key

from bridge.adapters import dynamo
from bridge.adapters.aws import client, dynamodb_table
from bridge.settings import get_settings


def _table() -> Any:
    return dynamodb_table(get_settings().exchanges_table)


def day_of(exchange_id: str) -> date:
    """Exchange ids look like ``20261121T101502123456Z-1a2b3c4d``."""
    return datetime.strptime(exchange_id[:8], "%Y%m%d").replace(tzinfo=UTC).date()


def partition(account_id: str, day: date) -> str:
    return dynamo.account_pk(account_id, "X", day.isoformat())


def object_partition(account_id: str, sellsy_type: str, sellsy_id: str) -> str:
    return dynamo.account_pk(account_id, "O", sellsy_type, sellsy_id)


# Outcomes rare enough to be worth an index partition of their own (``ok`` is most of the log: a filter on
# the day partitions keeps most of what it reads).
INDEXED_STATUSES = ("failed", "skipped")


def outcome_partition(account_id: str, status: str) -> str:
    return dynamo.account_pk(account_id, "XS", status)


def backfill_outcome_keys() -> int:
    """Give the failed and skipped exchanges stored before the outcome index existed their index keys; returns
    how many it updated. Run once after the deploy that adds the index (again is harmless)."""
    wanted = Attr("status").is_in(list(INDEXED_STATUSES)) & Attr("gsi2pk").not_exists() & Attr("account_id").exists()
    return dynamo.backfill_index_keys(
        _table(),
        wanted,
        lambda item: {
            "gsi2pk": outcome_partition(str(item["account_id"]), str(item["status"])),
            "gsi2sk": item["sk"],
        },
    )


def put(item: dict[str, Any]) -> None:
    _table().put_item(Item=item)


def put_many(items: list[dict[str, Any]]) -> None:
    """Bulk load (benches, back-fills): BatchWriteItem by 25, leftovers sent again by boto3's batch writer."""
    with _table().batch_writer() as batch:
        for item in items:
            batch.put_item(Item=item)


def get(account_id: str, exchange_id: str) -> dict[str, Any] | None:
    try:
        day = day_of(exchange_id)
    except ValueError:
        return None
    item = _table().get_item(Key={"pk": partition(account_id, day), "sk": exchange_id}).get("Item")
    return dict(item) if item else None


LAST_OK_SK = "LAST_OK"
BATCH_GET_MAX = 100


def success_key(account_id: str, subject: str) -> dict[str, str]:
    return dynamo.item_key(dynamo.account_pk(account_id, "S", subject), LAST_OK_SK)


def note_success(account_id: str, subject: str, exchange_id: str, expires_at: int) -> None:
    """Remember ``exchange_id`` as the subject's latest success unless a later one is already there."""
    from botocore.exceptions import ClientError

    try:
        _table().update_item(
            Key=success_key(account_id, subject),
            UpdateExpression="SET last_ok = :id, expires_at = :exp",
            ConditionExpression=Attr("last_ok").not_exists() | Attr("last_ok").lt(exchange_id),
            ExpressionAttributeValues={":id": exchange_id, ":exp": expires_at},
        )
    except ClientError as exc:
        if not dynamo.is_conditional_failure(exc):
            raise


def last_successes(account_id: str, subjects: list[str]) -> dict[str, str]:
    """Subject → id of its latest successful exchange (subjects without one are absent)."""
    table = _table()
    found: dict[str, str] = {}
    wanted = list(dict.fromkeys(subjects))
    prefix = len(dynamo.account_pk(account_id, "S", ""))
    for start in range(0, len(wanted), BATCH_GET_MAX):
        keys = [success_key(account_id, subject) for subject in wanted[start : start + BATCH_GET_MAX]]
        request: dict[str, Any] = {table.name: {"Keys": keys, "ProjectionExpression": "pk, last_ok"}}
        while request:
            answer = table.meta.client.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(table.name, []):
                found[str(item["pk"])[prefix:]] = str(item["last_ok"])
            request = answer.get("UnprocessedKeys") or {}
    return found


# Health figures kept beside the log at record time, so an account's health is two small reads rather
# than a scan of its exchanges: the latest delivery, and failures counted per minute.
LAST_WEBHOOK_SK = "LAST_WEBHOOK"
FAILURE_COUNT_TTL = timedelta(days=2)


def _health_pk(account_id: str, kind: str) -> str:
    return dynamo.account_pk(account_id, "H", kind)


def note_webhook(account_id: str, delivery: dict[str, Any], expires_at: int) -> None:
    """Remember ``delivery`` (exchange_id, at, sellsy_type, sellsy_id) unless a later one is already there."""
    from botocore.exceptions import ClientError

    given = {k: v for k, v in {**delivery, "expires_at": expires_at}.items() if v is not None}
    try:
        _table().update_item(
            Key=dynamo.item_key(_health_pk(account_id, "W"), LAST_WEBHOOK_SK),
            UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in given),
            ConditionExpression=Attr("exchange_id").not_exists() | Attr("exchange_id").lt(delivery["exchange_id"]),
            ExpressionAttributeNames={f"#{k}": k for k in given},  # "at" is a reserved word
            ExpressionAttributeValues={f":{k}": v for k, v in given.items()},
        )
    except ClientError as exc:
        if not dynamo.is_conditional_failure(exc):
            raise


def last_webhook(account_id: str) -> dict[str, Any] | None:
    item = _table().get_item(Key=dynamo.item_key(_health_pk(account_id, "W"), LAST_WEBHOOK_SK)).get("Item")
    if not item:
        return None
    return {k: item.get(k) for k in ("exchange_id", "at", "sellsy_type", "sellsy_id")}


def count_failure(account_id: str, at: datetime) -> None:
    """One more failed exchange, counted in its hour and in its minute (the minutes make the window exact)."""
    moment = at.astimezone(UTC)
    expires = int((moment + FAILURE_COUNT_TTL).timestamp())
    for sk in (f"H#{moment:%Y%m%dT%H}", f"M#{moment:%Y%m%dT%H%M}"):
        _table().update_item(
            Key=dynamo.item_key(_health_pk(account_id, "F"), sk),
            UpdateExpression="ADD failures :one SET expires_at = :expires",
            ExpressionAttributeValues={":one": 1, ":expires": expires},
        )


def failures_since(account_id: str, since: datetime) -> int:
    """Failed exchanges recorded from the minute of ``since`` on: the whole hours after it (at most 24 items
    a day) plus the minutes of its own hour from it on (at most 60)."""
    start = since.astimezone(UTC).replace(second=0, microsecond=0)
    hour = start.replace(minute=0)
    pk = Key("pk").eq(_health_pk(account_id, "F"))
    ranges = (
        Key("sk").between(f"H#{hour + timedelta(hours=1):%Y%m%dT%H}", "H#~"),
        Key("sk").between(f"M#{start:%Y%m%dT%H%M}", f"M#{hour:%Y%m%dT%H}59"),
    )
    total = 0
    for sk_range in ranges:
        kwargs: dict[str, Any] = {"KeyConditionExpression": pk & sk_range, "ProjectionExpression": "failures"}
        total += sum(int(i.get("failures", 0)) for items, _ in dynamo.pages(_table().query, kwargs) for i in items)
    return total


def put_replay_message(key: str, message: dict[str, Any]) -> None:
    client("s3").put_object(
        Bucket=get_settings().reports_bucket,
        Key=key,
        Body=json.dumps(message, separators=(",", ":"), default=str).encode(),
        ContentType="application/json",
        ServerSideEncryption="AES256",
    )


def get_replay_message(key: str) -> dict[str, Any] | None:
    s3 = client("s3")
    try:
        body = s3.get_object(Bucket=get_settings().reports_bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    message = json.loads(body)
    return message if isinstance(message, dict) else None


# --- listing, newest first -----------------------------------------------------------------------


def encode_cursor(value: dict[str, str]) -> str:
    return dynamo.encode_cursor(value)


def decode_cursor(cursor: str) -> dict[str, str]:
    value = dynamo.decode_cursor(cursor, lambda value: isinstance(value.get("after"), str))
    return {str(k): str(v) for k, v in value.items()}


READ_PAGE = 200  # items an unfiltered listing reads per query at most: the largest page asked for (API, bulk replay)


def filtered_read(limit: int) -> int:
    """Items a filtered listing reads per query: a filter drops items after they are read, so read more than
    the page holds, but not so many that a filter keeping most items sends back far more than the page."""
    return min(max(2 * limit, 100), 400)


# What a list shows of each exchange (and what a bulk replay needs to tell which failures to re-run): not the
# request and response summaries, nor what only an exchange's own page shows (duration, correlation id), nor
# what the key already tells (the account from the partition, the time from the id, the status from an outcome
# partition: ``_known``).
LISTED = (
    "id",
    "direction",
    "kind",
    "status",
    "sellsy_type",
    "sellsy_id",
    "field_id",
    "reason",
    "replay_key",
    "replayed_by",
)


def _known(item: dict[str, Any], account_id: str, status: str | None) -> dict[str, Any]:
    """A listed item with what its key tells filled in (the stored values win)."""
    at = datetime.strptime(str(item["id"])[:21], "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
    known = {"account_id": account_id, "created_at": at.isoformat()}
    if status:
        known["status"] = status
    return {**known, **item}


def _id_floor(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S%f")


def query(
    account_id: str,
    *,
    since: datetime,
    until: datetime,
    limit: int,
    after: str | None = None,
    sellsy_type: str | None = None,
    sellsy_id: str | None = None,
    status: str | None = None,
    filters: ConditionBase | None = None,
    summaries: bool = True,
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to ``limit`` items newest first in [since, until], strictly older than id ``after``.

    Returns the items and the id to resume after (None when there is nothing more). ``summaries=False``
    leaves out the request and response summaries (the heavy part of an item) for a list that shows none.
    One object's history is read from its own index partition, a rare ``status`` from the outcome index,
    anything else from the day partitions.
    """
    low, high = _id_floor(since), _id_floor(until) + "~"  # "~" sorts after any id suffix
    if after is not None:
        high = min(high, after)
    if status and (status not in INDEXED_STATUSES or (sellsy_type and sellsy_id)):
        only = Attr("status").eq(status)
        filters = only if filters is None else only & filters
        status = None
    read: dict[str, Any] = {"Limit": min(READ_PAGE, limit) if filters is None else filtered_read(limit)}
    if not summaries:
        listed = [name for name in LISTED if not (status and name == "status")]  # read from its own partition
        read["ProjectionExpression"] = ", ".join(f"#p{i}" for i in range(len(listed)))
        read["ExpressionAttributeNames"] = {f"#p{i}": name for i, name in enumerate(listed)}
    items: list[dict[str, Any]] = []
    for condition, index in _ranges(account_id, low, high, sellsy_type, sellsy_id, status):
        for item in _paged(condition, filters, read, index=index, exclusive_high=high):
            items.append(_known(item, account_id, status))
            if len(items) == limit:
                return items, str(item["id"])
    return items, None


def _ranges(
    account_id: str,
    low: str,
    high: str,
    sellsy_type: str | None,
    sellsy_id: str | None,
    status: str | None,
) -> Iterator[tuple[ConditionBase, str | None]]:
    """(key condition, index) of each partition to read, newest first."""
    if sellsy_type and sellsy_id:
        gsi = Key("gsi1pk").eq(object_partition(account_id, sellsy_type, sellsy_id))
        yield gsi & Key("gsi1sk").between(low, high), "gsi1"
        return
    if status:
        yield Key("gsi2pk").eq(outcome_partition(account_id, status)) & Key("gsi2sk").between(low, high), "gsi2"
        return
    first = datetime.strptime(low[:8], "%Y%m%d").date()
    day = datetime.strptime(high[:8], "%Y%m%d").date()
    while day >= first:
        yield Key("pk").eq(partition(account_id, day)) & Key("sk").between(low, high), None
        day -= timedelta(days=1)


def _paged(
    condition: ConditionBase,
    filters: ConditionBase | None,
    read: dict[str, Any],
    *,
    index: str | None,
    exclusive_high: str,
) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {"KeyConditionExpression": condition, "ScanIndexForward": False, **read}
    if index:
        kwargs["IndexName"] = index
    # "between" is inclusive; the resume id itself must not come back.
    exclude = Attr("sk").ne(exclusive_high)
    kwargs["FilterExpression"] = exclude if filters is None else exclude & filters
    for items, _last in dynamo.pages(_table().query, kwargs):
        yield from items


def claim_replay(account_id: str, exchange_id: str, delivery_id: str) -> str | None:
    """Mark the exchange as replayed by ``delivery_id``, once: returns None when this call claimed it, else the
    delivery id of the replay that claimed it first (conditional write, so two requests at once cannot both win)."""
    from botocore.exceptions import ClientError

    key = {"pk": partition(account_id, day_of(exchange_id)), "sk": exchange_id}
    try:
        _table().update_item(
            Key=key,
            UpdateExpression="SET replay_delivery_id = :d",
            ExpressionAttributeValues={":d": delivery_id},
            ConditionExpression=Attr("pk").exists() & Attr("replay_delivery_id").not_exists(),
        )
    except ClientError as exc:
        if not dynamo.is_conditional_failure(exc):
            raise
        item = _table().get_item(Key=key, ConsistentRead=True).get("Item") or {}
        return str(item.get("replay_delivery_id") or "")
    return None


def add_replayed_by(account_id: str, exchange_id: str, new_exchange_id: str) -> None:
    _table().update_item(
        Key={"pk": partition(account_id, day_of(exchange_id)), "sk": exchange_id},
        UpdateExpression="ADD replayed_by :new",
        ExpressionAttributeValues={":new": {new_exchange_id}},
        ConditionExpression=Attr("pk").exists(),
    )
