"""Field keys in the accounts table: item ``pk = A#{account_id}``, ``sk = FIELDKEY#{key_id}``.

Only the SHA-256 of a key is stored (``key_hash``), never the key. Why DynamoDB and not Secrets
Manager: every field request checks its key, and a strongly consistent read of one item is cheap,
fast and sees a revocation at once (no cache to wait for); the hash of a 256-bit random key gives a
reader nothing to call the API with. The functions that may write this table (API, worker, import)
already read and write the field data itself, so a key they could add reaches nothing new; the public
webhook function only reads it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from bridge.adapters import dynamo
from bridge.adapters.aws import dynamodb_table
from bridge.settings import get_settings

SK_PREFIX = "FIELDKEY#"
MAX_KEYS_PER_ACCOUNT = 50


class FieldKey(BaseModel):
    """What operators see of a key: never the key, never its hash."""

    key_id: str
    account_id: str
    label: str
    created_at: datetime
    created_by: str = Field(description="The operator who issued it")
    revoked_at: datetime | None = None
    replaced_by: str | None = Field(default=None, description="Key id issued by the rotation that revoked it")

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class FieldKeyNotFound(LookupError):
    def __init__(self, account_id: str, key_id: str) -> None:
        super().__init__(f"field key {key_id!r} does not exist in account {account_id!r}")


def _table() -> Any:
    return dynamodb_table(get_settings().accounts_table)


def _key(account_id: str, key_id: str) -> dict[str, str]:
    return dynamo.item_key(dynamo.account_pk(account_id), f"{SK_PREFIX}{key_id}")


def _from_item(item: dict[str, Any]) -> FieldKey:
    return FieldKey.model_validate({k: v for k, v in item.items() if k in FieldKey.model_fields})


def put_new(key: FieldKey, key_hash: str) -> None:
    item = {
        **_key(key.account_id, key.key_id),
        **key.model_dump(mode="json", exclude_none=True),
        "key_hash": key_hash,
    }
    _table().put_item(Item=item, ConditionExpression=Attr("pk").not_exists())


def get_with_hash(account_id: str, key_id: str) -> tuple[FieldKey, str] | None:
    """The key and its stored hash (strongly consistent: a revocation counts at once)."""
    item = _table().get_item(Key=_key(account_id, key_id), ConsistentRead=True).get("Item")
    if not item:
        return None
    return _from_item(item), str(item.get("key_hash", ""))


def get(account_id: str, key_id: str) -> FieldKey | None:
    found = get_with_hash(account_id, key_id)
    return found[0] if found else None


def list_keys(account_id: str) -> list[FieldKey]:
    """Every key of the account, revoked ones too, oldest first (few per account: no paging)."""
    condition = Key("pk").eq(dynamo.account_pk(account_id)) & Key("sk").begins_with(SK_PREFIX)
    request: dict[str, Any] = {"KeyConditionExpression": condition, "ConsistentRead": True}
    items = [item for page, _last in dynamo.pages(_table().query, request) for item in page]
    return sorted((_from_item(i) for i in items), key=lambda k: (k.created_at, k.key_id))


def revoke(account_id: str, key_id: str, *, replaced_by: str | None = None) -> FieldKey:
    """Mark the key revoked (kept for the record); revoking twice keeps the first date."""
    now = datetime.now(UTC).isoformat()
    expression = "SET revoked_at = if_not_exists(revoked_at, :now)"
    values: dict[str, Any] = {":now": now}
    if replaced_by:
        expression += ", replaced_by = if_not_exists(replaced_by, :by)"
        values[":by"] = replaced_by
    try:
        answer = _table().update_item(
            Key=_key(account_id, key_id),
            UpdateExpression=expression,
            ExpressionAttributeValues=values,
            ConditionExpression=Attr("pk").exists(),
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if dynamo.is_conditional_failure(exc):
            raise FieldKeyNotFound(account_id, key_id) from exc
        raise
    return _from_item(answer["Attributes"])
