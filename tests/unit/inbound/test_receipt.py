"""The worker records each delivery the receiver accepted: once, dated when it was received."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bridge.flows.inbound import receipt, receive

RECEIVED_AT = datetime(2026, 11, 21, 23, 59, 59, 900000, tzinfo=UTC)


def _message(**changes: Any) -> dict[str, Any]:
    message = {
        "kind": "sellsy.webhook",
        "account_id": "acme",
        "delivery_id": "d1",
        "correlation_id": "c1",
        "received_at": RECEIVED_AT.isoformat(),
        "payload": {"entity": "estimate", "event": "step", "object_id": "42", "config_id": "estimate.step"},
    }
    return {**message, **changes}


@pytest.fixture()
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(receipt, "record_exchange", lambda **kwargs: calls.append(kwargs) or "x1")
    return calls


def test_a_received_delivery_is_recorded_with_what_the_receiver_knew(recorded: list[dict[str, Any]]) -> None:
    assert receipt.record_receipt(_message()) == "x1"
    [call] = recorded
    assert call["kind"] == "webhook_received" and call["status"] == "ok" and call["direction"] == "inbound"
    assert (call["account_id"], call["sellsy_type"], call["sellsy_id"]) == ("acme", "estimate", "42")
    assert call["correlation_id"] == "c1"
    assert call["request"]["config_id"] == "estimate.step"
    assert call["at"] == RECEIVED_AT  # the receipt's own time: its day partition and its place in the log


@pytest.mark.parametrize(
    "changes, receive_count",
    [
        ({}, 2),  # taken again after a failed attempt: already recorded
        ({"received_at": None}, 1),  # not from the receiver (outbound work, or an older message)
        ({"replay_of": "20261121T000000000000Z-abcd"}, 1),  # a replay is not a delivery
        ({"kind": "customer.push"}, 1),
    ],
)
def test_other_messages_are_not_receipts(
    recorded: list[dict[str, Any]], changes: dict[str, Any], receive_count: int
) -> None:
    assert receipt.record_receipt(_message(**changes), receive_count=receive_count) is None
    assert recorded == []


def test_a_malformed_stamp_still_gets_its_record(recorded: list[dict[str, Any]]) -> None:
    assert receipt.record_receipt(_message(received_at="yesterday")) == "x1"
    assert recorded[0]["at"] is None


def test_the_receiver_enqueues_the_kind_the_worker_records() -> None:
    assert receive.KIND == receipt.KIND == "sellsy.webhook"
