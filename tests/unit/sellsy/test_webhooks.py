"""Webhook deliveries: both encodings, signature, ping, refusal of bodies that are not deliveries."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlencode

import pytest

from bridge.sellsy.webhooks import (
    MAX_AGE_SECONDS,
    MAX_AHEAD_SECONDS,
    MAX_BODY_BYTES,
    InvalidDelivery,
    OutsideWindow,
    check_freshness,
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


def _third(**fields: object) -> dict[str, object]:
    return {"eventType": "thirdlog", "event": "updated", "relatedid": "77", "corpid": "42", **fields}


@pytest.mark.parametrize(
    ("fields", "entity", "config_id"),
    [
        # what public receivers of real deliveries handle (register W4): relatedtype client/prospect/supplier
        ({"relatedtype": "client", "individual": "0"}, "company", "client.updated"),
        ({"relatedtype": "prospect", "individual": True}, "individual", "prospect.updated"),
        ({"relatedtype": "supplier", "individual": "false"}, "company", "supplier.updated"),
        ({"relatedtype": "client"}, "third", "client.updated"),  # kind unsaid: the worker reads to find out
        ({"relatedtype": "client", "relatedobject": {"id": 77, "type": "person"}}, "individual", "client.updated"),
        ({"relatedtype": "third", "thirdtype": "prospect"}, "third", "prospect.updated"),
        # thirdtype carries the routing word (Nango routes on thirdtype.event)
        ({"relatedtype": "client", "thirdtype": "client", "individual": "1"}, "individual", "client.updated"),
        ({"relatedtype": "people", "thirdtype": "people"}, "contact", "people.updated"),
        ({"relatedtype": "people"}, "contact", "people.updated"),
        ({"relatedtype": "third_party_contact"}, "contact", "third_party_contact.updated"),
        # the v2 words stay understood
        ({"relatedtype": "company", "thirdtype": "prospect"}, "company", "prospect.updated"),
        ({"relatedtype": "Individual"}, "individual", "individual.updated"),
        ({"relatedtype": "contact", "thirdtype": "people"}, "contact", "people.updated"),
        # unknown words are kept as they came (the worker logs them as ignored)
        ({"relatedtype": "item"}, "item", "item.updated"),
    ],
)
def test_every_known_shape_of_a_third_party_delivery_maps_to_one_entity(
    fields: dict[str, object], entity: str, config_id: str
) -> None:
    event = parse_delivery(json.dumps(_third(**fields)), "application/json")
    assert (event.entity, event.config_id) == (entity, config_id)
    form = parse_delivery(urlencode({"notif": json.dumps(_third(**fields))}), "application/x-www-form-urlencoded")
    assert form == event


@pytest.mark.parametrize(
    "payload",
    [
        {**ESTIMATE_ACCEPTED, "timestamp": "1e400"},  # overflows int()
        {**ESTIMATE_ACCEPTED, "timestamp": "nan"},
        {**ESTIMATE_ACCEPTED, "timestamp": "-5"},
        {**ESTIMATE_ACCEPTED, "timestamp": "soon"},
        {**ESTIMATE_ACCEPTED, "relatedid": "\uff11\uff12"},  # full-width digits pass str.isdigit()
    ],
    ids=["huge", "nan", "negative", "words", "fullwidth-id"],
)
def test_signed_but_absurd_values_are_invalid_deliveries_not_crashes(payload: dict[str, object]) -> None:
    with pytest.raises(InvalidDelivery):
        parse_delivery(json.dumps(payload), "application/json")


def test_nesting_too_deep_to_decode_is_an_invalid_delivery() -> None:
    body = b'{"corpid": "1", "relatedobject": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(InvalidDelivery, match="unreadable"):
        parse_delivery(body, "application/json")


def test_freshness_window() -> None:
    now = 1_800_000_000.0
    check_freshness(None, now)  # undated deliveries pass: the field is not documented
    check_freshness(int(now) - MAX_AGE_SECONDS + 1, now)
    check_freshness(int(now) + MAX_AHEAD_SECONDS, now)
    with pytest.raises(OutsideWindow, match="h ago"):
        check_freshness(1_262_304_000, now)  # 2010
    with pytest.raises(OutsideWindow, match="ahead"):
        check_freshness(int(now) + MAX_AHEAD_SECONDS + 60, now)
