"""The latest Sellsy quota figures seen for an account, in the accounts table (``pk = A#{id}``, ``sk = QUOTA``).

Written by whichever function last talked to Sellsy for the account (at most once a minute per process),
read by the account's health route.
"""

from __future__ import annotations

import json
from typing import Any

from bridge.adapters import dynamo
from bridge.adapters.aws import dynamodb_table
from bridge.settings import get_settings

QUOTA_SK = "QUOTA"


def _key(account_id: str) -> dict[str, str]:
    return dynamo.item_key(dynamo.account_pk(account_id), QUOTA_SK)


def save(account_id: str, figures: dict[str, Any]) -> None:
    table = dynamodb_table(get_settings().accounts_table)
    table.put_item(Item={**_key(account_id), "figures": json.dumps(figures, separators=(",", ":"))})


def load(account_id: str) -> dict[str, Any] | None:
    item = dynamodb_table(get_settings().accounts_table).get_item(Key=_key(account_id)).get("Item")
    return None if item is None else dict(json.loads(item["figures"]))
