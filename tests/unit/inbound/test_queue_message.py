"""Queue messages at the worker's boundary: parsed (Powertools Parser) or refused as poison, never half-read."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from bridge.handlers.worker import PoisonMessage, parse_message


def _record(body: Any, *, message_id: str = "sqs-1", correlation: str | None = None) -> SQSRecord:
    attributes = {"correlation_id": {"stringValue": correlation, "dataType": "String"}} if correlation else {}
    text = body if isinstance(body, str) else json.dumps(body)
    return SQSRecord({"messageId": message_id, "body": text, "messageAttributes": attributes, "attributes": {}})


def test_a_message_gets_its_ids_from_the_record_when_the_body_has_none() -> None:
    message = parse_message(_record({"kind": "sellsy.webhook", "account_id": "acme"}, correlation="corr-9"))
    assert message == {
        "kind": "sellsy.webhook",
        "account_id": "acme",
        "delivery_id": "sqs-1",
        "correlation_id": "corr-9",
        "payload": {},
    }
    bare = parse_message(_record({"kind": "sellsy.webhook", "account_id": "acme"}))
    assert bare["correlation_id"] == "sqs-1"


def test_the_body_s_own_values_and_extra_keys_are_kept_nulls_in_the_payload_too() -> None:
    body = {
        "kind": "customer.push",
        "account_id": "acme",
        "delivery_id": "d-1",
        "correlation_id": "c-1",
        "payload": {"customer_id": "c9", "change": {"phone": None}},
        "replay_of": "x-1",
        "received_at": "2026-12-02T06:00:00+00:00",
    }
    assert parse_message(_record(body, correlation="other")) == body


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("{not json", "body"),
        ({"account_id": "acme"}, "kind"),
        ({"kind": "sellsy.webhook"}, "account_id"),
        ({"kind": "", "account_id": "acme"}, "kind"),
        ({"kind": "sellsy.webhook", "account_id": 12}, "account_id"),
        ({"kind": "sellsy.webhook", "account_id": "acme", "payload": [1, 2]}, "payload"),
        ([1, 2], "body"),
    ],
)
def test_a_malformed_body_is_a_poison_message_naming_what_is_wrong(body: Any, named: str) -> None:
    with pytest.raises(PoisonMessage, match=named) as caught:
        parse_message(_record(body))
    assert "acme" not in str(caught.value)  # values stay out of the log line


@pytest.mark.parametrize(
    ("kind", "payload", "named"),
    [
        ("customer.push", {"customer_id": "c9", "change": ["phone"]}, "change"),
        ("intervention.completed", {"intervention_id": {"id": "secret-value"}}, "intervention_id"),
        ("sellsy.webhook", {"entity": ["estimate"], "object_id": "7"}, "entity"),
    ],
)
def test_a_payload_that_does_not_fit_its_kind_is_poison_naming_the_field(kind: str, payload: Any, named: str) -> None:
    with pytest.raises(PoisonMessage, match=re.escape(f"payload of a {kind} message: {named}")) as caught:
        parse_message(_record({"kind": kind, "account_id": "acme", "payload": payload}))
    assert "secret-value" not in str(caught.value)


def test_flows_read_the_payload_typed_with_sellsy_s_numeric_ids_as_text() -> None:
    from bridge.adapters import queue

    message = parse_message(_record({"kind": "sellsy.webhook", "account_id": "acme", "payload": {"object_id": 42}}))
    webhook = queue.payload_of(message, queue.WebhookPayload)
    assert (webhook.object_id, webhook.entity, webhook.config_id) == ("42", "", None)
    assert message["payload"] == {"object_id": 42}  # what was sent travels on unchanged


def test_a_message_the_worker_would_refuse_is_never_sent() -> None:
    from bridge.adapters import queue

    with pytest.raises(ValueError, match=re.escape("payload of a customer.push message: customer_id")):
        queue.enqueue({"kind": "customer.push", "account_id": "acme", "payload": {"customer_id": ["x"]}})


def test_a_payload_written_with_nulls_reads_as_absent_values() -> None:
    from bridge.adapters import queue

    message = {"kind": "customer.push", "account_id": "acme", "payload": {"customer_id": None, "change": None}}
    push = queue.payload_of(message, queue.CustomerPushPayload)
    assert (push.customer_id, push.change) == ("", {})
