"""The events queue: webhook events and work for the worker. Every message has this shape (``QueueMessage``):

``{"kind", "account_id", "delivery_id", "correlation_id", "payload": {...}}``; a replayed message
also carries ``replay_of`` (the exchange id it re-runs). The correlation id travels both in the
body and as a message attribute so the worker can set it on its logger before parsing.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bridge.adapters.aws import client
from bridge.settings import get_settings


class QueueMessage(BaseModel):
    """A message of the events queue as the worker accepts it (other keys, e.g. ``received_at``, are kept)."""

    model_config = ConfigDict(extra="allow")

    kind: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    delivery_id: str | None = None
    correlation_id: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    replay_of: str | None = None


REPLAYED_KEYS = ("kind", "account_id", "payload")


def replayable(message: dict[str, Any]) -> dict[str, Any]:
    """What a replay sends again: the message less its delivery and correlation ids (a replay gets new ones)."""
    return {k: v for k, v in message.items() if k in REPLAYED_KEYS}


def new_delivery_id() -> str:
    return str(uuid.uuid4())


def enqueue(message: dict[str, Any], *, queue_url: str | None = None) -> str:
    """Send one message, filling ``delivery_id`` and ``correlation_id`` when absent; returns the SQS id."""
    body = dict(message)
    body.setdefault("delivery_id", new_delivery_id())
    body.setdefault("correlation_id", body["delivery_id"])
    body.setdefault("payload", {})
    QueueMessage.model_validate(body)  # what the worker would refuse is never sent (a ValueError here)
    attributes = {
        "kind": {"DataType": "String", "StringValue": str(body["kind"])},
        "account_id": {"DataType": "String", "StringValue": str(body["account_id"])},
        "correlation_id": {"DataType": "String", "StringValue": str(body["correlation_id"])},
    }
    answer = client("sqs").send_message(
        QueueUrl=queue_url or get_settings().events_queue_url,
        MessageBody=json.dumps(body, separators=(",", ":"), default=str),
        MessageAttributes=attributes,
    )
    return str(answer["MessageId"])
