"""Executions of the import state machine (Step Functions): start one for given accounts, read its status.

The state machine's ARN comes from ``IMPORT_STATE_MACHINE_ARN`` (set by the template on the API function
only). Locally the same calls reach moto, which records the execution; the embedded default plays it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from botocore.exceptions import ClientError

from bridge.adapters.aws import client

STATE_MACHINE_VARIABLE = "IMPORT_STATE_MACHINE_ARN"
RUNNING = "RUNNING"
# Step Functions execution names: 1-80 characters, no spaces, no `:` or `/` among others.
MAX_NAME = 80


class NotConfigured(RuntimeError):
    """This function has no state machine to start (the template gives the ARN to the API function)."""


def state_machine_arn() -> str:
    arn = os.environ.get(STATE_MACHINE_VARIABLE, "")
    if not arn:
        raise NotConfigured(f"{STATE_MACHINE_VARIABLE} is not set")
    return arn


def execution_arn(name: str) -> str:
    """An execution's ARN from its name: ``arn:...:stateMachine:M`` → ``arn:...:execution:M:name``."""
    machine = state_machine_arn()
    prefix, _, machine_name = machine.rpartition(":stateMachine:")
    return f"{prefix}:execution:{machine_name}:{name}"


def start(name: str, payload: dict[str, Any]) -> str:
    """Start an execution named ``name`` (names are unique per state machine); returns its ARN."""
    answer = client("stepfunctions").start_execution(
        stateMachineArn=state_machine_arn(), name=name[:MAX_NAME], input=json.dumps(payload)
    )
    return str(answer["executionArn"])


def status(arn: str) -> str | None:
    """RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE; None if no such execution."""
    try:
        return str(client("stepfunctions").describe_execution(executionArn=arn)["status"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("ExecutionDoesNotExist", "InvalidArn"):
            return None
        raise
