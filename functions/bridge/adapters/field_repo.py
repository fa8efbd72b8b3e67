"""Field-side store in FieldTable: interventions, field customers and the echo memory (per account).

Keys (every key starts with the tenant):
- intervention: ``pk = A#{acc}#INT#{id}``, ``sk = INTERVENTION``; listed by status through ``gsi1``
  (``gsi1pk = A#{acc}#INTSTATUS#{status}``, ``gsi1sk = {created_at}#{id}``). One item per partition;
  a status partition of one account stays small (interventions are human-scale), so no shard suffix.
  The interventions of one field customer, by status, through ``gsi2`` (``gsi2pk =
  A#{acc}#INTCUS#{customer_id}#{status}``, same ``gsi2sk`` as ``gsi1sk``): a customer's page reads only
  that customer's interventions.
- field customer: ``pk = A#{acc}#CUS#{customer_id}``, ``sk = CUSTOMER``; found from its main contact
  through ``gsi1`` (``gsi1pk = A#{acc}#CONTACT#{contact_id}``).
- echo memory: ``pk = A#{acc}#ECHO#{sellsy_type}#{sellsy_id}``, ``sk = ECHO``, TTL ``expires_at``.

Writes are conditional: creation only if absent (exactly one intervention per source, whatever the
concurrency), updates only if the version read is still current (optimistic locking).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.exceptions import ClientError

from bridge.adapters import dynamo
from bridge.adapters.aws import dynamodb_table
from bridge.domain import echo
from bridge.domain.interventions import CUSTOMER_ID, STATUSES, FieldCustomer, Intervention, utcnow_iso
from bridge.settings import get_settings

INTERVENTION_SK = "INTERVENTION"
CUSTOMER_SK = "CUSTOMER"
ECHO_SK = "ECHO"
ECHO_TTL_SECONDS = 7 * 24 * 3600
_KEYS = ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "expires_at", "item_type")
MAX_LIST_LIMIT = 200


class StaleWrite(Exception):
    """Someone else updated the record since it was read."""


def _table() -> Any:
    return dynamodb_table(get_settings().field_table)


def _to_dynamo(data: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB refuses floats and empty strings in keys; a JSON round trip turns floats into Decimal."""
    cleaned: dict[str, Any] = json.loads(json.dumps(data, default=str), parse_float=Decimal)
    return cleaned


def _from_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return {k: plain(v) for k, v in item.items() if k not in _KEYS}


# --- interventions -----------------------------------------------------------------------------


def intervention_pk(account_id: str, intervention_id: str) -> str:
    return dynamo.account_pk(account_id, "INT", intervention_id)


def _status_pk(account_id: str, status: str) -> str:
    return dynamo.account_pk(account_id, "INTSTATUS", status)


def _customer_status_pk(account_id: str, customer_id: str, status: str) -> str:
    return dynamo.account_pk(account_id, "INTCUS", customer_id, status)


def _index_keys(intervention: Intervention) -> dict[str, str]:
    """The intervention's table and index keys (all follow from what it holds)."""
    listed_at = f"{intervention.created_at}#{intervention.id}"
    keys = {
        "pk": intervention_pk(intervention.account_id, intervention.id),
        "sk": INTERVENTION_SK,
        "gsi1pk": _status_pk(intervention.account_id, intervention.status),
        "gsi1sk": listed_at,
    }
    if intervention.customer_id:
        keys["gsi2pk"] = _customer_status_pk(intervention.account_id, intervention.customer_id, intervention.status)
        keys["gsi2sk"] = listed_at
    return keys


def _intervention_item(intervention: Intervention) -> dict[str, Any]:
    item = _to_dynamo(intervention.model_dump(mode="json"))
    item.update(_index_keys(intervention), item_type="intervention")
    return item


def backfill_customer_keys() -> int:
    """Give the interventions stored before the customer index existed their index keys; returns how many it
    updated. Run once after the deploy that adds the index (again is harmless)."""

    def keys_of(item: dict[str, Any]) -> dict[str, Any] | None:
        keys = _index_keys(Intervention.model_validate(_from_dynamo(item)))
        return {"gsi2pk": keys["gsi2pk"], "gsi2sk": keys["gsi2sk"]} if "gsi2pk" in keys else None

    wanted = Attr("item_type").eq("intervention") & Attr("customer_id").exists() & Attr("gsi2pk").not_exists()
    return dynamo.backfill_index_keys(_table(), wanted, keys_of)


def create_intervention(intervention: Intervention) -> bool:
    """Store a new intervention; False (and nothing written) when one with the same id exists."""
    try:
        _table().put_item(Item=_intervention_item(intervention), ConditionExpression="attribute_not_exists(pk)")
    except ClientError as exc:
        if dynamo.is_conditional_failure(exc):
            return False
        raise
    return True


def put_many_interventions(interventions: list[Intervention]) -> None:
    """Bulk load (benches, migrations): unconditional writes, by 25 per BatchWriteItem."""
    with _table().batch_writer() as batch:
        for intervention in interventions:
            batch.put_item(Item=_intervention_item(intervention))


def get_intervention(account_id: str, intervention_id: str, *, consistent: bool = True) -> Intervention | None:
    item = (
        _table()
        .get_item(
            Key={"pk": intervention_pk(account_id, intervention_id), "sk": INTERVENTION_SK},
            ConsistentRead=consistent,
        )
        .get("Item")
    )
    return Intervention.model_validate(_from_dynamo(item)) if item else None


def put_intervention(intervention: Intervention, *, expected_version: int) -> Intervention:
    """Replace the record if it is still at ``expected_version``; the stored copy gets version + 1."""
    stored = intervention.model_copy(update={"version": expected_version + 1, "updated_at": utcnow_iso()})
    try:
        _table().put_item(
            Item=_intervention_item(stored),
            ConditionExpression="attribute_exists(pk) AND #v = :v",
            ExpressionAttributeNames={"#v": "version"},
            ExpressionAttributeValues={":v": expected_version},
        )
    except ClientError as exc:
        if dynamo.is_conditional_failure(exc):
            raise StaleWrite(f"intervention {intervention.id} changed since version {expected_version}") from exc
        raise
    return stored


def update_intervention(
    account_id: str,
    intervention_id: str,
    change: Callable[[Intervention], Intervention | None],
    *,
    attempts: int = 8,
) -> Intervention | None:
    """Read, apply ``change`` (return None for "nothing to do"), write conditionally; retry on races.

    Returns the stored intervention (unchanged when ``change`` returned None), None if it doesn't exist.
    """
    for attempt in range(attempts):
        current = get_intervention(account_id, intervention_id)
        if current is None:
            return None
        changed = change(current.model_copy(deep=True))
        if changed is None:
            return current
        try:
            return put_intervention(changed, expected_version=current.version)
        except StaleWrite:
            time.sleep(0.01 * (attempt + 1))
    raise StaleWrite(f"intervention {intervention_id}: too many concurrent updates")


def _valid_cursor(value: dict[str, Any]) -> bool:
    start = value.get("k")
    return value.get("s") in STATUSES and (start is None or isinstance(start, dict))


# What a list shows of an intervention (its keys follow from these, the account from the partition read; a
# summary leaves the other fields at their defaults).
LISTED = (
    "id",
    "status",
    "source_type",
    "source_id",
    "source_status",
    "customer_id",
    "customer_name",
    "subject",
    "number",
    "flags",
    "due_date",
    "created_at",
)
FILTERED_READ = 500  # items read per query when a filter drops some of them
# Queries one filtered page may make: a rare customer name among thousands of interventions gives a short
# page (and a cursor that goes on) instead of a page that reads every intervention of the account.
FILTERED_QUERIES = 2


def _status_key(
    account_id: str, status: str, customer_id: str | None, days: tuple[str, str] | None
) -> tuple[str, ConditionBase]:
    """(index, key condition) of one status's interventions: the customer's own partition when a field
    customer id is given, else the account's; ``days`` narrows the sort key to a range of creation times."""
    if customer_id:
        index, partition = "gsi2", _customer_status_pk(account_id, customer_id, status)
    else:
        index, partition = "gsi1", _status_pk(account_id, status)
    key = Key(f"{index}pk").eq(partition)
    if days:
        key = key & Key(f"{index}sk").between(*days)
    return index, key


def list_interventions(
    account_id: str,
    *,
    status: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    customer: str | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    newest_first: bool = False,
    summary: bool = False,
) -> tuple[list[Intervention], str | None]:
    """One page of interventions and the cursor of the next (None at the end).

    ``summary=True`` reads only what a list shows of each (``LISTED``): rows, notes, contact, address and the
    completion data stay behind.

    Within a status oldest first (``newest_first`` reverses it); without a status, statuses in lifecycle
    order. ``created_from``/``created_to`` (UTC days, both included) narrow the index's key range.
    ``customer``: a field customer id (``company-12``) reads that customer's own index partitions; any other
    text keeps the interventions whose customer name contains it (as written), and such a page reads at most
    ``FILTERED_QUERIES`` × ``FILTERED_READ`` interventions, so it may hold fewer than ``limit`` while its
    cursor goes on. Pass the same filters with the cursor.
    """
    limit = max(1, min(limit, MAX_LIST_LIMIT))
    statuses = [status] if status else list(STATUSES)
    position: dict[str, Any] = dynamo.decode_cursor(cursor, _valid_cursor) if cursor else {"s": statuses[0]}
    if position["s"] not in statuses:
        raise dynamo.BadCursor("cursor does not belong to this status filter")
    low = created_from.isoformat() if created_from else "0"  # key values cannot be empty; "0" sorts first
    high = f"{created_to.isoformat()}~" if created_to else "~"  # "~" sorts after any time of that day
    if low > high:
        return [], None
    customer_id = customer if customer and CUSTOMER_ID.match(customer) else None
    name_part = Attr("customer_name").contains(customer) if customer and not customer_id else None
    results: list[Intervention] = []
    start_key: dict[str, Any] | None = position.get("k")
    budget = [FILTERED_QUERIES]
    for current in statuses[statuses.index(position["s"]) :]:
        if budget[0] <= 0:  # spent on earlier statuses: the next page starts with this one
            return results, dynamo.encode_cursor({"s": current})
        index, key = _status_key(account_id, current, customer_id, (low, high) if created_from or created_to else None)
        request: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": key,
            "ScanIndexForward": not newest_first,
            "Limit": FILTERED_READ if name_part is not None else limit - len(results),
        }
        if name_part is not None:
            request["FilterExpression"] = name_part
        if summary:
            request["ProjectionExpression"] = ", ".join(f"#l{i}" for i in range(len(LISTED)))
            request["ExpressionAttributeNames"] = {f"#l{i}": name for i, name in enumerate(LISTED)}
        start_key = _read_status(account_id, request, results, limit, start_key, budget)
        if len(results) >= limit or (budget[0] <= 0 and start_key):
            if start_key:
                return results, dynamo.encode_cursor({"s": current, "k": start_key})
            following = statuses[statuses.index(current) + 1 :]
            return results, (dynamo.encode_cursor({"s": following[0]}) if following else None)
        start_key = None
    return results, None


def _read_status(
    account_id: str,
    request: dict[str, Any],
    results: list[Intervention],
    limit: int,
    start: dict[str, Any] | None,
    budget: list[int],
) -> dict[str, Any] | None:
    """Append the interventions ``request`` reads to ``results`` up to ``limit``; the key to resume after, if any.
    A filtered read spends one of ``budget``'s queries per page and stops when none is left."""
    filtered = "FilterExpression" in request
    index = request["IndexName"]
    for items, last in dynamo.pages(_table().query, request, start):
        if filtered:
            budget[0] -= 1
        taken = items[: limit - len(results)]
        results.extend(Intervention.model_validate({"account_id": account_id, **_from_dynamo(i)}) for i in taken)
        if len(taken) < len(items):
            # Resume after the last item shown (a filtered read may have looked further than it showed).
            keys = _index_keys(results[-1])
            return {k: keys[k] for k in ("pk", "sk", f"{index}pk", f"{index}sk")}
        if last is None or len(results) >= limit or (filtered and budget[0] <= 0):
            return last
        request["Limit"] = FILTERED_READ if filtered else limit - len(results)
    return None


# --- field customers ---------------------------------------------------------------------------


def customer_pk(account_id: str, customer_id: str) -> str:
    return dynamo.account_pk(account_id, "CUS", customer_id)


def _contact_pk(account_id: str, contact_id: int) -> str:
    return dynamo.account_pk(account_id, "CONTACT", contact_id)


def _customer_item(customer: FieldCustomer) -> dict[str, Any]:
    item = _to_dynamo(customer.model_dump(mode="json"))
    item.update(pk=customer_pk(customer.account_id, customer.id), sk=CUSTOMER_SK, item_type="customer")
    contact_id = customer.main_contact.id if customer.main_contact else None
    if contact_id is not None:
        item.update(gsi1pk=_contact_pk(customer.account_id, contact_id), gsi1sk=f"CUS#{customer.id}")
    return item


def get_customer(account_id: str, customer_id: str) -> FieldCustomer | None:
    item = (
        _table()
        .get_item(Key={"pk": customer_pk(account_id, customer_id), "sk": CUSTOMER_SK}, ConsistentRead=True)
        .get("Item")
    )
    return FieldCustomer.model_validate(_from_dynamo(item)) if item else None


def put_customer(customer: FieldCustomer, *, expected_version: int | None = None) -> FieldCustomer:
    """Create (``expected_version=None``: only if absent) or replace at the expected version."""
    if expected_version is None:
        stored = customer.model_copy(update={"version": 1})
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
    else:
        stored = customer.model_copy(update={"version": expected_version + 1, "updated_at": utcnow_iso()})
        condition = {
            "ConditionExpression": "attribute_exists(pk) AND #v = :v",
            "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": {":v": expected_version},
        }
    try:
        _table().put_item(Item=_customer_item(stored), **condition)
    except ClientError as exc:
        if dynamo.is_conditional_failure(exc):
            raise StaleWrite(f"customer {customer.id} changed concurrently") from exc
        raise
    return stored


def update_customer(
    account_id: str,
    customer_id: str,
    change: Callable[[FieldCustomer | None], FieldCustomer | None],
    *,
    attempts: int = 8,
) -> FieldCustomer | None:
    """Read (None if absent), apply ``change`` (None = nothing to do), write conditionally; retry races."""
    for attempt in range(attempts):
        current = get_customer(account_id, customer_id)
        changed = change(current.model_copy(deep=True) if current else None)
        if changed is None:
            return current
        try:
            return put_customer(changed, expected_version=current.version if current else None)
        except StaleWrite:
            time.sleep(0.01 * (attempt + 1))
    raise StaleWrite(f"customer {customer_id}: too many concurrent updates")


def customers_with_contact(account_id: str, contact_id: int) -> list[FieldCustomer]:
    """Field customers whose main contact is this Sellsy contact."""
    answer = _table().query(
        IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(_contact_pk(account_id, contact_id))
    )
    return [FieldCustomer.model_validate(_from_dynamo(i)) for i in answer.get("Items", [])]


# --- echo memory -------------------------------------------------------------------------------


def _echo_key(account_id: str, sellsy_type: str, sellsy_id: int | str) -> dict[str, str]:
    return dynamo.item_key(dynamo.account_pk(account_id, "ECHO", sellsy_type, sellsy_id), ECHO_SK)


def remember_written(account_id: str, sellsy_type: str, sellsy_id: int | str, values: dict[str, Any]) -> None:
    """Call after writing ``values`` (Sellsy field names, nested allowed) to a Sellsy object.

    Successive writes to the same object add up: each written field keeps the hash of its last value.
    """
    salt = echo.salt_for(account_id, sellsy_type, sellsy_id)
    hashes = echo.written_hashes(salt, values)
    if not hashes:
        return
    names = {f"#f{i}": path for i, path in enumerate(hashes)}
    sets = ", ".join(f"written.{name} = :h{i}" for i, name in enumerate(names))
    values_expr: dict[str, Any] = {f":h{i}": h for i, h in enumerate(hashes.values())}
    values_expr.update({":now": utcnow_iso(), ":exp": int(time.time()) + ECHO_TTL_SECONDS, ":empty": {}})
    table = _table()
    key = _echo_key(account_id, sellsy_type, sellsy_id)
    # Two steps because DynamoDB cannot create a map and set its entries in one SET expression.
    table.update_item(
        Key=key,
        UpdateExpression="SET written = if_not_exists(written, :empty), written_at = :now, expires_at = :exp",
        ExpressionAttributeValues={":empty": {}, ":now": values_expr[":now"], ":exp": values_expr[":exp"]},
    )
    table.update_item(
        Key=key,
        UpdateExpression=f"SET {sets}",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={k: v for k, v in values_expr.items() if k.startswith(":h")},
    )


def is_echo(account_id: str, sellsy_type: str, sellsy_id: int | str, current_values: dict[str, Any]) -> bool:
    """True when every field we last wrote to this object still has the value we wrote."""
    item = _table().get_item(Key=_echo_key(account_id, sellsy_type, sellsy_id), ConsistentRead=True).get("Item")
    if not item or int(item.get("expires_at", 0)) < time.time():
        return False
    salt = echo.salt_for(account_id, sellsy_type, sellsy_id)
    return echo.is_echo_of(salt, item.get("written") or {}, current_values)
