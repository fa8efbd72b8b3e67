"""Import runs and their checkpoints in the accounts table.

    pk = A#{account_id}, sk = IMPORT#RUN#{run_id}   the run: JSON state (phase, cursor, counters), status
    pk = A#{account_id}, sk = IMPORT#CURRENT        which run is unfinished (a new chunk resumes it)

Every save is conditional on the version read, so two chunks of the same account can never both advance
a checkpoint (the second one fails instead of skipping or duplicating a page).
"""

from __future__ import annotations

import json
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from bridge.adapters import dynamo
from bridge.adapters.aws import dynamodb_table
from bridge.settings import get_settings

RUN_PREFIX = "IMPORT#RUN#"
CURRENT_SK = "IMPORT#CURRENT"


class CheckpointConflict(RuntimeError):
    """Another chunk saved this run since it was loaded: this chunk must stop without writing."""


def _table() -> Any:
    return dynamodb_table(get_settings().accounts_table)


def _pk(account_id: str) -> str:
    return dynamo.account_pk(account_id)


def load_run(account_id: str, run_id: str) -> dict[str, Any] | None:
    item = _table().get_item(Key={"pk": _pk(account_id), "sk": RUN_PREFIX + run_id}, ConsistentRead=True).get("Item")
    return None if item is None else _state(item)


def _state(item: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(item["state"])
    state["version"] = int(item["version"])
    return state


def save_run(state: dict[str, Any]) -> dict[str, Any]:
    """Write the run if nobody else did since `state["version"]`; returns the state with its new version."""
    version = int(state.get("version", 0))
    body = {k: v for k, v in state.items() if k != "version"}
    item = {
        "pk": _pk(state["account_id"]),
        "sk": RUN_PREFIX + state["run_id"],
        "state": json.dumps(body, separators=(",", ":"), default=str),
        "status": state["status"],
        "started_at": state["started_at"],
        "version": version + 1,
    }
    condition = Attr("version").eq(version) if version else Attr("pk").not_exists()
    try:
        _table().put_item(Item=item, ConditionExpression=condition)
    except ClientError as exc:
        if dynamo.is_conditional_failure(exc):
            raise CheckpointConflict(f"run {state['run_id']} was advanced by another chunk") from exc
        raise
    return {**state, "version": version + 1}


def current_run_id(account_id: str) -> str | None:
    item = _table().get_item(Key={"pk": _pk(account_id), "sk": CURRENT_SK}, ConsistentRead=True).get("Item")
    return None if item is None else str(item["run_id"])


def set_current_run(account_id: str, run_id: str | None) -> None:
    key = {"pk": _pk(account_id), "sk": CURRENT_SK}
    if run_id is None:
        _table().delete_item(Key=key)
    else:
        _table().put_item(Item={**key, "run_id": run_id})


def claim_current_run(account_id: str, run_id: str) -> str:
    """Make `run_id` the account's current run unless another one is unfinished; returns the current one."""
    try:
        _table().put_item(
            Item={"pk": _pk(account_id), "sk": CURRENT_SK, "run_id": run_id},
            ConditionExpression=Attr("pk").not_exists(),
        )
        return run_id
    except ClientError as exc:
        if not dynamo.is_conditional_failure(exc):
            raise
    existing = current_run_id(account_id)
    return existing or run_id


def list_runs(account_id: str, limit: int = 20) -> list[dict[str, Any]]:
    page = _table().query(
        KeyConditionExpression=Key("pk").eq(_pk(account_id)) & Key("sk").begins_with(RUN_PREFIX),
        ScanIndexForward=False,
        Limit=limit,
    )
    return [_state(item) for item in page.get("Items", [])]
