"""Accounts in the accounts table: item ``pk = A#{id}``, ``sk = ACCOUNT``.

The account is stored as one JSON document (``doc``) plus a few top-level attributes for
operators and filters (``status``, ``name``, ``version``). Writes use optimistic locking on
``version`` so two concurrent settings updates can't silently overwrite each other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from bridge.adapters import dynamo
from bridge.adapters.aws import dynamodb_table
from bridge.domain.accounts import Account, AccountHealth, PlanLimit
from bridge.observability import NAMESPACE, SERVICE, logger
from bridge.settings import get_settings

ACCOUNT_SK = "ACCOUNT"


class AccountNotFound(LookupError):
    def __init__(self, account_id: str) -> None:
        super().__init__(f"account {account_id!r} does not exist")
        self.account_id = account_id


class AccountConflict(RuntimeError):
    """The account changed (or already exists) since it was read: re-read and retry."""


def account_key(account_id: str) -> dict[str, str]:
    return dynamo.item_key(dynamo.account_pk(account_id), ACCOUNT_SK)


def _table() -> Any:
    return dynamodb_table(get_settings().accounts_table)


def _to_item(account: Account) -> dict[str, Any]:
    return {
        **account_key(account.id),
        "doc": account.model_dump_json(by_alias=True),
        "status": account.status,
        "name": account.name,
        "version": account.version,
        "updated_at": account.updated_at.isoformat(),
    }


def _from_item(item: dict[str, Any]) -> Account:
    return Account.model_validate_json(item["doc"])


def get_account(account_id: str, *, consistent: bool = False) -> Account | None:
    item = _table().get_item(Key=account_key(account_id), ConsistentRead=consistent).get("Item")
    return _from_item(item) if item else None


def require_account(account_id: str, *, consistent: bool = False) -> Account:
    account = get_account(account_id, consistent=consistent)
    if account is None:
        raise AccountNotFound(account_id)
    return account


def put_account(account: Account, *, create: bool = False) -> Account:
    """Write ``account`` (version + 1). ``create``: fail if it exists; else: fail if changed meanwhile."""
    stored = account.model_copy(update={"version": account.version + 1, "updated_at": datetime.now(UTC)})
    condition = Attr("pk").not_exists() if create else Attr("version").eq(account.version)
    try:
        _table().put_item(Item=_to_item(stored), ConditionExpression=condition)
    except ClientError as exc:
        if dynamo.is_conditional_failure(exc):
            what = "already exists" if create else "was changed or removed meanwhile"
            raise AccountConflict(f"account {account.id!r} {what}") from exc
        raise
    return stored


def set_status(account_id: str, status: str, reason: str | None, **fields: Any) -> Account:
    """Change the status with a read-modify-write loop (a few retries on concurrent writers)."""
    for _ in range(5):
        account = require_account(account_id, consistent=True)
        updated = account.model_copy(update={"status": status, "status_reason": reason, **fields})
        try:
            return put_account(Account.model_validate(updated.model_dump()))
        except AccountConflict:
            continue
    raise AccountConflict(f"account {account_id!r} kept changing while setting status {status!r}")


def update_health(account_id: str, change: Callable[[AccountHealth], AccountHealth]) -> Account | None:
    """Apply ``change`` to the account's health (missing scopes, plan limits); the status is untouched."""
    for _ in range(5):
        account = get_account(account_id, consistent=True)
        if account is None:
            return None
        health = change(account.health.model_copy(deep=True))
        if health == account.health:
            return account
        try:
            return put_account(account.model_copy(update={"health": health}))
        except AccountConflict:
            continue
    raise AccountConflict(f"account {account_id!r} kept changing while noting its health")


def note_plan_limit(account_id: str, action: str, message: str) -> Account | None:
    """Record the latest 402 an action met (one entry per action); the account stays active."""

    def change(health: AccountHealth) -> AccountHealth:
        others = [limit for limit in health.plan_limits if limit.action != action]
        return health.model_copy(update={"plan_limits": [*others, PlanLimit(action=action, message=message[:500])]})

    logger.warning("sellsy plan limit reached", extra={"account_id": account_id, "action": action})
    return update_health(account_id, change)


def mark_needs_reconnect(account_id: str, reason: str) -> Account | None:
    """Flag an account whose tokens stopped working; emits the ``NeedsReconnect`` metric on change.

    Returns the account (None if it doesn't exist). Safe to call from many Lambdas at once.
    """
    account = get_account(account_id, consistent=True)
    if account is None:
        return None
    if account.status == "needs_reconnect":
        return account
    updated = set_status(account_id, "needs_reconnect", reason[:500])
    # single_metric flushes at once: the alarm must fire even if the caller's handler fails afterwards.
    with single_metric(name="NeedsReconnect", unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="service", value=SERVICE)
    logger.warning("account needs reconnection", extra={"account_id": account_id, "reason": reason[:200]})
    return updated


def list_accounts(
    *, limit: int = 50, cursor: str | None = None, status: str | None = None
) -> tuple[list[Account], str | None]:
    """A page of accounts (scan of the account items; the table holds few of them)."""
    start = dynamo.decode_cursor(cursor, dynamo.is_table_key) if cursor else None
    condition = Attr("sk").eq(ACCOUNT_SK)
    if status:
        condition = condition & Attr("status").eq(status)
    found: list[Account] = []
    request = {"FilterExpression": condition, "Limit": max(limit * 4, 25)}
    for items, _last in dynamo.pages(_table().scan, request, start):
        for item in items:
            found.append(_from_item(item))
            if len(found) == limit:
                return found, dynamo.encode_cursor(dynamo.item_key(item["pk"], item["sk"]))
    return found, None
