"""The events queue: webhook events and work for the worker. Every message has this shape (``QueueMessage``):

``{"kind", "account_id", "delivery_id", "correlation_id", "payload": {...}}``; a replayed message
also carries ``replay_of`` (the exchange id it re-runs). The correlation id travels both in the
body and as a message attribute so the worker can set it on its logger before parsing.

The payload of each kind the worker runs has its model (``PAYLOADS``): a message whose payload does not
fit is refused when sent and is a poison message when received; flows read it with ``payload_of``. The
payload travels as the sender wrote it (not re-dumped), so a field it leaves out stays unset.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bridge.adapters.aws import client
from bridge.settings import get_settings


class _Payload(BaseModel):
    # Messages already queued (or dead-lettered, then redriven) were written by older code: a number
    # where text is expected, or a null for an absent value, still reads.
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


class WebhookPayload(_Payload):
    """``sellsy.webhook``: a Sellsy delivery as the receiver normalised it (``bridge.sellsy.webhooks``)."""

    entity: str = ""
    event: str = ""
    object_id: str = ""
    config_id: str | None = None
    status: str | None = None


class CompletionPayload(_Payload):
    """``intervention.completed``: the field intervention to report back to Sellsy."""

    intervention_id: str = ""


class CustomerPushPayload(_Payload):
    """``customer.push``: a field customer's change to write to Sellsy (only the fields the change set)."""

    customer_id: str = ""
    change: dict[str, Any] = Field(default_factory=dict)


PAYLOADS: dict[str, type[_Payload]] = {
    "sellsy.webhook": WebhookPayload,
    "intervention.completed": CompletionPayload,
    "customer.push": CustomerPushPayload,
}


class QueueMessage(BaseModel):
    """A message of the events queue as the worker accepts it (other keys, e.g. ``received_at``, are kept)."""

    model_config = ConfigDict(extra="allow")

    kind: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    delivery_id: str | None = None
    correlation_id: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    replay_of: str | None = None

    @model_validator(mode="after")
    def _payload_fits_its_kind(self) -> Self:
        model = PAYLOADS.get(self.kind)  # other kinds are refused by the dispatcher, named in its error
        if model is not None:
            try:
                model.model_validate(self.payload)
            except ValidationError as exc:
                raise ValueError(f"payload of a {self.kind} message: {field_problems(exc)}") from None
        return self


def field_problems(exc: ValidationError) -> str:
    """Which fields are wrong, without their values (a message may hold personal data)."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5])


def payload_of[P: _Payload](message: dict[str, Any], model: type[P]) -> P:
    """The message's payload read with its kind's model."""
    return model.model_validate(message.get("payload") or {})


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
