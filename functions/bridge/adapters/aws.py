"""boto3 clients and resources, one per execution environment.

botocore honours ``AWS_ENDPOINT_URL``, so the same code talks to moto locally and to AWS in the cloud.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=_CONFIG)


@cache
def dynamodb_table(name: str) -> Any:
    return boto3.resource("dynamodb", config=_CONFIG).Table(name)


def reset_clients() -> None:
    """Forget cached clients (tests change endpoints between sessions)."""
    client.cache_clear()
    dynamodb_table.cache_clear()
