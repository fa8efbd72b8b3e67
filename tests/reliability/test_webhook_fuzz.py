"""Fuzzed, truncated, wrongly encoded and oversized webhook bodies: always a clear 4xx, never a 5xx,
and nothing enqueued. Sent over real HTTP through the local gateway to the real webhook function."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import Counter
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.local.stack import Stack

VALID_EVENT = {
    "eventType": "docslog",
    "event": "step",
    "relatedtype": "estimate",
    "relatedid": "42",
    "ownertype": "staff",
    "ownerid": "1",
    "timestamp": str(int(time.time())),  # inside the freshness window
    "corpid": "1",
    "relatedobject": {"id": 42, "status": "accepted"},
}
CONTENT_TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "application/json; charset=utf-16",
    "text/plain",
    "application/octet-stream",
    "multipart/form-data; boundary=x",
    "",
]


def sign(key: str, body: bytes) -> str:
    return hashlib.sha1(key.encode() + body, usedforsecurity=False).hexdigest()


def queued(stack: Stack) -> int:
    from bridge.adapters.aws import client

    attributes = client("sqs").get_queue_attributes(
        QueueUrl=stack.env["EVENTS_QUEUE_URL"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture(scope="module")
def fuzz_account(stack: Stack) -> dict[str, str]:
    account_id = f"fuzz{uuid.uuid4().hex[:8]}"
    key = uuid.uuid4().hex
    response = httpx.post(
        f"{stack.api_url}/accounts",
        json={"id": account_id, "name": "Fuzz target", "webhook_signing_key": key},
        headers={"Authorization": f"Bearer {stack.api_token}"},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return {"id": account_id, "key": key}


@pytest.fixture()
def paused_pump(stack: Stack) -> Any:
    """Nothing drains the queue while the test runs, so what it holds is what the requests enqueued."""
    stack.pump.wait_idle(timeout=60)
    stack.pump.pause()
    assert queued(stack) == 0
    yield stack.pump
    stack.pump.resume()


truncated_valid = st.integers(min_value=0, max_value=len(json.dumps(VALID_EVENT)) - 1).map(
    lambda n: json.dumps(VALID_EVENT).encode()[:n]
)
wrongly_encoded = st.sampled_from(["utf-16", "latin-1", "cp1252"]).map(
    lambda enc: json.dumps({**VALID_EVENT, "relatedid": "façade é"}, ensure_ascii=False).encode(enc)
)
malformed_shape = st.dictionaries(
    st.sampled_from([*VALID_EVENT, "x"]), st.one_of(st.none(), st.integers(), st.text(max_size=20)), max_size=6
).map(lambda d: json.dumps(d).encode())
form_bodies = st.one_of(st.binary(max_size=300), truncated_valid, malformed_shape).map(
    lambda raw: b"notif=" + quote(raw).encode()
)
bodies = st.one_of(st.binary(max_size=2048), truncated_valid, wrongly_encoded, malformed_shape, form_bodies)


def test_fuzzed_bodies_get_a_clear_4xx_and_enqueue_nothing(
    stack: Stack, fuzz_account: dict[str, str], paused_pump: Any, reliability_report: list[dict[str, Any]]
) -> None:
    url = f"/webhooks/sellsy/{fuzz_account['id']}"
    sender = httpx.Client(base_url=stack.api_url, timeout=30)  # one client: a client per request loads the CA bundle
    statuses: Counter[int] = Counter()
    tried = Counter[str]()

    @settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(body=bodies, content_type=st.sampled_from(CONTENT_TYPES), signing=st.sampled_from(["valid", "bad", "none"]))
    def one_delivery(body: bytes, content_type: str, signing: str) -> None:
        headers = {"user-agent": "Sellsy-Webhooks/fuzz"}
        if content_type:
            headers["content-type"] = content_type
        if signing == "valid":
            headers["x-webhook-signature"] = sign(fuzz_account["key"], body)
        elif signing == "bad":
            headers["x-webhook-signature"] = sign("not-the-key", body)
        response = sender.post(url, content=body, headers=headers)
        statuses[response.status_code] += 1
        tried[f"signature {signing}"] += 1
        assert 400 <= response.status_code < 500, (response.status_code, body[:80], content_type, response.text)
        error = response.json().get("error", {})
        assert error.get("message"), response.text
        if signing != "valid":
            # Envelope checks (size, media type) may answer first; an unsigned body is never parsed (no 400).
            assert response.status_code in (401, 413, 415), (response.status_code, response.text)

    with sender:
        one_delivery()
    assert queued(stack) == 0
    reliability_report.append(
        {
            "scenario": "fuzzed/truncated/wrongly encoded webhook bodies",
            "tried": f"{sum(statuses.values())} deliveries ({dict(tried)})",
            "result": f"statuses {dict(sorted(statuses.items()))}; no 5xx; nothing enqueued",
        }
    )


def test_oversized_and_unknown_account_and_ping(
    stack: Stack, fuzz_account: dict[str, str], paused_pump: Any, reliability_report: list[dict[str, Any]]
) -> None:
    url = f"{stack.api_url}/webhooks/sellsy/{fuzz_account['id']}"
    huge = json.dumps({**VALID_EVENT, "relatedobject": {"note": "x" * 2_000_000}}).encode()
    big = httpx.post(
        url,
        content=huge,
        headers={"content-type": "application/json", "x-webhook-signature": sign(fuzz_account["key"], huge)},
        timeout=60,
    )
    assert big.status_code == 413 and big.json()["error"]["message"]

    body = json.dumps(VALID_EVENT).encode()
    unknown = httpx.post(
        f"{stack.api_url}/webhooks/sellsy/nosuchaccount",
        content=body,
        headers={"content-type": "application/json", "x-webhook-signature": sign("k", body)},
        timeout=60,
    )
    assert unknown.status_code == 404 and unknown.json()["error"]["message"]

    assert httpx.get(url, timeout=60).status_code == 200
    assert queued(stack) == 0
    reliability_report.append(
        {
            "scenario": "oversized body, unknown account, ping",
            "tried": "a 2 MB signed body, a delivery to an unknown account, a GET ping",
            "result": "413, 404 with JSON messages, 200; nothing enqueued",
        }
    )
