"""The outbound action ledger (F5: each action "exactly once"), in the field table.

One item per (intervention, trigger action): ``pk=A#{account}#LEDGER#{intervention}``,
``sk=ACTION#{trigger}#{index}``. States: ``intent`` (recorded before the Sellsy call) → ``done``
(with the Sellsy id) or ``failed`` (with the reason). Every transition is a conditional write:
- a claim takes a short lease, so two workers never run the same action at once;
- ``done`` is final: nothing moves an action out of it, and a second ``done`` is refused.
An ``intent`` found at claim time means an earlier attempt may have reached Sellsy: the caller must
look for the action's marker before creating anything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from bridge.adapters import dynamo
from bridge.adapters.aws import dynamodb_table
from bridge.settings import get_settings

LedgerState = Literal["intent", "done", "failed"]
DEFAULT_LEASE_SECONDS = 120


class ActionBusy(RuntimeError):
    """Another worker holds this action's lease; retry later (the message goes back to the queue)."""


class AlreadyDone(RuntimeError):
    """The action was completed meanwhile (by a concurrent worker)."""

    def __init__(self, entry: LedgerEntry) -> None:
        super().__init__(f"action {entry.action_key} is already done ({entry.sellsy_type} {entry.sellsy_id})")
        self.entry = entry


@dataclass
class LedgerEntry:
    account_id: str
    intervention_id: str
    action_key: str
    state: LedgerState
    kind: str
    marker: str
    attempts: int = 0
    sellsy_type: str | None = None
    sellsy_id: str | None = None
    reason: str | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    intent_at: str | None = None
    updated_at: str | None = None
    links: dict[str, str] = field(default_factory=dict)

    @property
    def is_done(self) -> bool:
        return self.state == "done"


def partition(account_id: str, intervention_id: str) -> str:
    return dynamo.account_pk(account_id, "LEDGER", intervention_id)


def sort_key(action_key: str) -> str:
    return f"ACTION#{action_key}"


def _key(account_id: str, intervention_id: str, action_key: str) -> dict[str, str]:
    return {"pk": partition(account_id, intervention_id), "sk": sort_key(action_key)}


def _table() -> Any:
    return dynamodb_table(get_settings().field_table)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _from_item(item: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        account_id=str(item["account_id"]),
        intervention_id=str(item["intervention_id"]),
        action_key=str(item["action_key"]),
        state=item["state"],
        kind=str(item.get("kind", "")),
        marker=str(item.get("marker", "")),
        attempts=int(item.get("attempts", 0)),
        sellsy_type=item.get("sellsy_type"),
        sellsy_id=None if item.get("sellsy_id") is None else str(item["sellsy_id"]),
        reason=item.get("reason"),
        progress=dict(item.get("progress") or {}),
        intent_at=item.get("intent_at"),
        updated_at=item.get("updated_at"),
        links={str(k): str(v) for k, v in (item.get("links") or {}).items()},
    )


def get(account_id: str, intervention_id: str, action_key: str) -> LedgerEntry | None:
    item = _table().get_item(Key=_key(account_id, intervention_id, action_key), ConsistentRead=True).get("Item")
    return _from_item(item) if item else None


def list_entries(account_id: str, intervention_id: str) -> list[LedgerEntry]:
    answer = _table().query(
        KeyConditionExpression=Key("pk").eq(partition(account_id, intervention_id)) & Key("sk").begins_with("ACTION#"),
        ConsistentRead=True,
    )
    return [_from_item(item) for item in answer.get("Items", [])]


def claim(
    account_id: str,
    intervention_id: str,
    action_key: str,
    *,
    kind: str,
    marker: str,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
    now: float | None = None,
) -> tuple[LedgerEntry, LedgerState | None]:
    """Record the intent (or re-take it) under a lease; returns the entry and the state found before.

    The previous state tells the caller what to do: None (first attempt, nothing can exist in Sellsy)
    or ``failed`` with no id → create; ``intent`` → an earlier attempt may have created the object:
    search its marker first. Raises ``AlreadyDone`` when the action is done, ``ActionBusy`` when
    another worker holds the lease.
    """
    clock = time.time() if now is None else now
    stamp = _now_iso()
    key = _key(account_id, intervention_id, action_key)
    lease_until = int(clock) + lease_seconds
    previous = get(account_id, intervention_id, action_key)
    if previous is None:
        # First attempt: a conditional create (the simplest condition, atomic everywhere).
        item = {
            **key,
            "state": "intent",
            "lease_until": lease_until,
            "updated_at": stamp,
            "intent_at": stamp,
            "account_id": account_id,
            "intervention_id": intervention_id,
            "action_key": action_key,
            "kind": kind,
            "marker": marker,
            "attempts": 1,
        }
        try:
            _table().put_item(Item=item, ConditionExpression=Attr("pk").not_exists())
        except ClientError as exc:
            if not dynamo.is_conditional_failure(exc):
                raise
            raise _busy_or_done(account_id, intervention_id, action_key) from exc
        return _from_item(item), None
    if previous.is_done:
        raise AlreadyDone(previous)
    try:
        # Re-take an unfinished action whose lease has expired (or was given back).
        _table().update_item(
            Key=key,
            UpdateExpression=(
                "SET #state = :intent, lease_until = :lease, updated_at = :now, marker = :marker, "
                "attempts = attempts + :one"
            ),
            ConditionExpression=(
                Attr("state").eq(previous.state)
                & Attr("attempts").eq(previous.attempts)
                & (Attr("lease_until").not_exists() | Attr("lease_until").lte(int(clock)))
            ),
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":intent": "intent",
                ":lease": lease_until,
                ":now": stamp,
                ":marker": marker,
                ":one": 1,
            },
        )
    except ClientError as exc:
        if not dynamo.is_conditional_failure(exc):
            raise
        raise _busy_or_done(account_id, intervention_id, action_key) from exc
    entry = get(account_id, intervention_id, action_key)
    assert entry is not None  # we just wrote it
    return entry, previous.state


def _busy_or_done(account_id: str, intervention_id: str, action_key: str) -> Exception:
    current = get(account_id, intervention_id, action_key)
    if current is not None and current.is_done:
        return AlreadyDone(current)
    return ActionBusy(f"action {action_key} of {intervention_id} is being run by another worker")


def save_progress(
    account_id: str,
    intervention_id: str,
    action_key: str,
    *,
    sellsy_type: str,
    sellsy_id: str | int,
    progress: dict[str, Any] | None = None,
) -> None:
    """Remember the Sellsy id of an action that has more steps (e.g. create, then validate)."""
    _table().update_item(
        Key=_key(account_id, intervention_id, action_key),
        UpdateExpression="SET sellsy_type = :t, sellsy_id = :id, progress = :p, updated_at = :now",
        ConditionExpression=Attr("state").eq("intent"),
        ExpressionAttributeValues={
            ":t": sellsy_type,
            ":id": str(sellsy_id),
            ":p": progress or {},
            ":now": _now_iso(),
        },
    )


def mark_done(
    account_id: str,
    intervention_id: str,
    action_key: str,
    *,
    sellsy_type: str,
    sellsy_id: str | int,
    links: dict[str, str] | None = None,
    adopted: bool = False,
) -> LedgerEntry:
    """intent → done(sellsy_id). Refused (``AlreadyDone``) if the action is done already."""
    try:
        _table().update_item(
            Key=_key(account_id, intervention_id, action_key),
            UpdateExpression=(
                "SET #state = :done, sellsy_type = :t, sellsy_id = :id, links = :links, adopted = :adopted, "
                "updated_at = :now, done_at = :now REMOVE lease_until, reason"
            ),
            ConditionExpression=Attr("pk").exists() & Attr("state").ne("done"),
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":done": "done",
                ":t": sellsy_type,
                ":id": str(sellsy_id),
                ":links": links or {},
                ":adopted": adopted,
                ":now": _now_iso(),
            },
        )
    except ClientError as exc:
        if not dynamo.is_conditional_failure(exc):
            raise
        current = get(account_id, intervention_id, action_key)
        if current is not None and current.is_done:
            raise AlreadyDone(current) from exc
        raise
    entry = get(account_id, intervention_id, action_key)
    assert entry is not None
    return entry


def mark_failed(account_id: str, intervention_id: str, action_key: str, *, reason: str, code: str) -> None:
    """intent → failed(reason); the lease is released so a replay can try again at once.

    The Sellsy id (if a first step succeeded) is kept: a retry continues from it.
    """
    try:
        _table().update_item(
            Key=_key(account_id, intervention_id, action_key),
            UpdateExpression="SET #state = :failed, reason = :reason, code = :code, updated_at = :now "
            "REMOVE lease_until",
            ConditionExpression=Attr("pk").exists() & Attr("state").ne("done"),
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":failed": "failed",
                ":reason": reason[:1000],
                ":code": code,
                ":now": _now_iso(),
            },
        )
    except ClientError as exc:
        if not dynamo.is_conditional_failure(exc):
            raise


def release(account_id: str, intervention_id: str, action_key: str) -> None:
    """Give the lease back after a transient error (state stays ``intent``: the next try searches first)."""
    try:
        _table().update_item(
            Key=_key(account_id, intervention_id, action_key),
            UpdateExpression="REMOVE lease_until SET updated_at = :now",
            ConditionExpression=Attr("state").eq("intent"),
            ExpressionAttributeValues={":now": _now_iso()},
        )
    except ClientError as exc:
        if not dynamo.is_conditional_failure(exc):
            raise
