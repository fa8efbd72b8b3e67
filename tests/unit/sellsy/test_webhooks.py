"""Webhook deliveries: both encodings, signature, ping, refusal of bodies that are not deliveries."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlencode

import pytest

from bridge.sellsy.webhooks import (
    MAX_BODY_BYTES,
    InvalidDelivery,
    is_ping,
    parse_delivery,
    signature_from_headers,
    verify_signature,
)

ESTIMATE_ACCEPTED = {
    "eventType": "docslog",
    "event": "step",
    "relatedtype": "estimate",
    "relatedid": "1234",
    "ownertype": "staff",
    "ownerid": "5",
    "timestamp": "1763700000",
    "corpid": "42",
    "relatedobject": {"id": 1234, "status": "accepted", "number": "DEV-1"},
}


def test_json_delivery() -> None:
    event = parse_delivery(json.dumps(ESTIMATE_ACCEPTED).encode(), "application/json; charset=utf-8")
    assert (event.account_id, event.entity, event.event, event.object_id) == ("42", "estimate", "step", "1234")
    assert event.status == "accepted"
    assert event.timestamp == 1763700000
    assert event.event_type == "docslog"
    assert event.config_id == "estimate.step"
    assert event.related_object == ESTIMATE_ACCEPTED["relatedobject"]


def test_form_delivery_gives_the_same_event() -> None:
    body = urlencode({"notif": json.dumps(ESTIMATE_ACCEPTED)}).encode()
    form_event = parse_delivery(body, "application/x-www-form-urlencoded")
    json_event = parse_delivery(json.dumps(ESTIMATE_ACCEPTED).encode(), "application/json")
    assert form_event == json_event
    assert parse_delivery(body, None) == json_event  # no content type: recognised by the notif field


def test_thirdlog_config_id_uses_third_type() -> None:
    payload = {
        "eventType": "thirdlog",
        "event": "updated",
        "relatedtype": "company",
        "relatedid": "77",
        "thirdtype": "prospect",
        "corpid": "42",
        "timestamp": "1763700001",
    }
    event = parse_delivery(json.dumps(payload), "application/json")
    assert event.config_id == "prospect.updated"
    assert event.status is None
    assert event.dedupe_key() == "42:company:77:updated::1763700001"


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (b"", "application/json", "empty body"),
        (b"{not json", "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "not a JSON object"),
        (b"other=1", "application/x-www-form-urlencoded", "'notif'"),
        (json.dumps({**ESTIMATE_ACCEPTED, "relatedid": ""}).encode(), "application/json", "'relatedid'"),
        (json.dumps({**ESTIMATE_ACCEPTED, "relatedid": "12; drop"}).encode(), "application/json", "numeric"),
        (json.dumps({**ESTIMATE_ACCEPTED, "corpid": {"x": 1}}).encode(), "application/json", "'corpid'"),
        (b"\xff\xfe", "application/json", "UTF-8"),
        (b"x" * (MAX_BODY_BYTES + 1), "application/json", "too large"),
    ],
)
def test_bad_bodies_are_refused_with_a_named_problem(body: bytes, content_type: str, problem: str) -> None:
    with pytest.raises(InvalidDelivery) as caught:
        parse_delivery(body, content_type)
    assert problem in str(caught.value)


def test_signature_is_sha1_of_key_plus_raw_body() -> None:
    body = json.dumps(ESTIMATE_ACCEPTED).encode()
    signature = hashlib.sha1(b"sign-key" + body).hexdigest()  # noqa: S324 - Sellsy's scheme
    assert verify_signature(body, signature, "sign-key")
    assert verify_signature(body, signature.upper(), "sign-key")
    assert verify_signature(body, signature, ["old-key", "sign-key"])  # key rotation
    assert not verify_signature(body + b" ", signature, "sign-key")
    assert not verify_signature(body, signature, "other-key")
    assert not verify_signature(body, None, "sign-key")
    assert not verify_signature(body, "", "sign-key")
    assert not verify_signature(body, signature, "")


def test_signature_header_lookup_and_ping() -> None:
    assert signature_from_headers({"X-Webhook-Signature": "abc"}) == "abc"
    assert signature_from_headers({"x-webhook-signature": "abc"}) == "abc"
    assert signature_from_headers({}) is None
    assert is_ping("GET") and is_ping("head")
    assert not is_ping("POST")


def test_form_body_labelled_as_json_is_still_read() -> None:
    body = urlencode({"notif": json.dumps(ESTIMATE_ACCEPTED)}).encode()
    assert parse_delivery(body, "application/json").object_id == "1234"
