"""DynamoDB pieces every repository shares: key builders, the page cursor, conditional-write failures, paged reads.

Keys: every item of an account lives under a partition key starting ``A#{account_id}``; the repositories add their
own segments (``A#{id}#R#{stream}#{shard}``, ``A#{id}#INT#{intervention}``...), built here so the prefix is written
once.

Cursors are what the API hands out as ``next_cursor``: URL-safe base64 of a small JSON object, without padding.
They are opaque to clients; a value this API did not issue (not base64, not JSON, not the expected shape) raises
``BadCursor``, a ``ValueError`` the API answers with 400 ``bad_cursor``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

CONDITIONAL_CHECK_FAILED = "ConditionalCheckFailedException"
_NOT_OURS = "cursor is not a value returned by this API"


class BadCursor(ValueError):
    """A cursor this API did not issue (or that belongs to another listing)."""

    def __init__(self, message: str = _NOT_OURS) -> None:
        super().__init__(message)


# --- keys ----------------------------------------------------------------------------------------


def account_pk(account_id: str, *segments: str | int) -> str:
    """``A#{account_id}``, then ``#segment`` for each segment: the partition key of an account's items."""
    return "#".join(["A", account_id, *(str(segment) for segment in segments)])


def item_key(pk: str, sk: str) -> dict[str, str]:
    return {"pk": pk, "sk": sk}


def is_table_key(value: Any) -> bool:
    """A primary key of our tables as DynamoDB returns it in ``LastEvaluatedKey`` (``pk`` and ``sk`` only)."""
    return isinstance(value, dict) and set(value) == {"pk", "sk"}


# --- conditional writes --------------------------------------------------------------------------


def is_conditional_failure(exc: ClientError) -> bool:
    """The write was refused because its condition did not hold (not a transport or permission error)."""
    return exc.response.get("Error", {}).get("Code") == CONDITIONAL_CHECK_FAILED


# --- cursors -------------------------------------------------------------------------------------


def encode_cursor(value: dict[str, Any]) -> str:
    text = json.dumps(value, separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, valid: Callable[[dict[str, Any]], bool] = lambda _value: True) -> dict[str, Any]:
    """The object ``encode_cursor`` made; ``valid`` checks its shape. Raises ``BadCursor`` otherwise."""
    try:
        value = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
    except (ValueError, TypeError, binascii.Error) as exc:  # binascii.Error and JSONDecodeError are ValueErrors
        raise BadCursor from exc
    if not isinstance(value, dict) or not valid(value):
        raise BadCursor
    return value


# --- paged reads ---------------------------------------------------------------------------------


def pages(
    read: Callable[..., dict[str, Any]], request: dict[str, Any], start: dict[str, Any] | None = None
) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any] | None]]:
    """Pages ``(items, last evaluated key)`` of a Query or Scan (``read`` is ``table.query`` or ``table.scan``).

    Stops after the page DynamoDB marks as the last (no ``LastEvaluatedKey``). ``request`` is read again before
    each call, so a caller may change it between pages (a smaller ``Limit`` once it has nearly enough items).
    """
    while True:
        if start:
            request["ExclusiveStartKey"] = start
        else:
            request.pop("ExclusiveStartKey", None)
        page = read(**request)
        start = page.get("LastEvaluatedKey") or None
        yield list(page.get("Items", [])), start
        if start is None:
            return


# --- back-fills ----------------------------------------------------------------------------------


def backfill_index_keys(table: Any, wanted: Any, keys_of: Callable[[dict[str, Any]], dict[str, Any] | None]) -> int:
    """Scan ``table`` for the items ``wanted`` (a filter condition) keeps and set on each the index key attributes
    ``keys_of`` gives (None: leave it); returns how many it updated. An item gone meanwhile is not recreated, and
    one that has the first of those attributes already (a write since gave them) is left as it is."""
    updated = 0
    for items, _ in pages(table.scan, {"FilterExpression": wanted}):
        for item in items:
            keys = keys_of(item)
            if not keys:
                continue
            try:
                table.update_item(
                    Key={"pk": item["pk"], "sk": item["sk"]},
                    UpdateExpression="SET " + ", ".join(f"{name} = :{name}" for name in keys),
                    ConditionExpression=f"attribute_exists(pk) AND attribute_not_exists({next(iter(keys))})",
                    ExpressionAttributeValues={f":{name}": value for name, value in keys.items()},
                )
            except ClientError as exc:
                if not is_conditional_failure(exc):
                    raise
                continue
            updated += 1
    return updated
