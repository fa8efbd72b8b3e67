"""The ``webhook_received`` exchange, recorded by the worker on the receiver's behalf (F7).

The receiver answers Sellsy as soon as the delivery is enqueued; the message already holds what the
record needs (account, payload, correlation id, time of receipt), so the worker writes it when it first
takes the message, before idempotency: an identical redelivery from Sellsy is recorded too, as it was
when the receiver wrote the record itself. A message taken again after a failed attempt is not recorded
twice, and a replay is not a delivery (it carries no ``received_at``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridge.adapters import queue
from bridge.flows.exchange_log import record_exchange

KIND = "sellsy.webhook"  # the message kind the receiver enqueues


def is_new_delivery(message: dict[str, Any], receive_count: int) -> bool:
    return (
        message.get("kind") == KIND
        and bool(message.get("received_at"))
        and not message.get("replay_of")
        and receive_count <= 1
    )


def _received_at(message: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(message["received_at"]))
    except ValueError:
        return None  # a malformed stamp must not cost the record: it is dated now instead


def record_receipt(message: dict[str, Any], *, receive_count: int = 1) -> str | None:
    """Record the delivery this message carries, once; returns the exchange id (None when not due)."""
    if not is_new_delivery(message, receive_count):
        return None
    payload = queue.payload_of(message, queue.WebhookPayload)
    return record_exchange(
        account_id=str(message["account_id"]),
        direction="inbound",
        kind="webhook_received",
        status="ok",
        sellsy_type=payload.entity or None,
        sellsy_id=payload.object_id or None,
        request=message.get("payload") or {},
        correlation_id=message.get("correlation_id"),
        at=_received_at(message),
    )
