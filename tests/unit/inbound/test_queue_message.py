"""Queue messages at the worker's boundary: parsed (Powertools Parser) or refused as poison, never half-read."""

from __future__ import annotations

import json
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
