"""The reconciliation sweep's watermark in the accounts table.

pk = A#{account_id}, sk = SWEEP#WATERMARK    {"since": ISO time the last complete sweep started}
"""

from __future__ import annotations

from typing import Any

from bridge.adapters import dynamo
from bridge.adapters.aws import dynamodb_table
from bridge.settings import get_settings

SK = "SWEEP#WATERMARK"


def _table() -> Any:
    return dynamodb_table(get_settings().accounts_table)


def load_watermark(account_id: str) -> str | None:
    item = _table().get_item(Key=dynamo.item_key(dynamo.account_pk(account_id), SK), ConsistentRead=True).get("Item")
    return str(item["since"]) if item and item.get("since") else None


def save_watermark(account_id: str, since: str) -> None:
    _table().put_item(Item={**dynamo.item_key(dynamo.account_pk(account_id), SK), "since": since})
