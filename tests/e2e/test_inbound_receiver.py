"""The webhook receiver over real HTTP: every rejection has its status and JSON error, nothing enqueued."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

import bridge.handlers.api
import bridge.handlers.webhook
import bridge.handlers.worker  # noqa: F401  (loaded before the gateway/pump threads import them concurrently)
from bridge.flows import accounts as account_flows

SIGN_KEY = "receiver-test-signing-key"


def _sign(body: bytes, key: str = SIGN_KEY) -> str:
    return hashlib.sha1(key.encode() + body, usedforsecurity=False).hexdigest()


def _payload(estimate_id: int = 4) -> dict[str, str]:
    return {
        "eventType": "docslog",
        "event": "step",
        "relatedtype": "estimate",
        "relatedid": str(estimate_id),
        "ownertype": "staff",
        "ownerid": "1",
        "timestamp": str(int(time.time())),  # inside the freshness window
        "corpid": "100007",
    }


@pytest.fixture(scope="module")
def account_id(stack: Any) -> str:
    account_id = f"rx-{uuid.uuid4().hex[:10]}"
    account_flows.create_account(name="Receiver e2e", account_id=account_id, webhook_signing_key=SIGN_KEY)
    return account_id


@pytest.fixture()
def paused(stack: Any) -> Iterator[Any]:
    """The pump holds off, so what a request enqueued is still on the queue to be counted."""
    stack.pump.pause()
    try:
        yield stack
    finally:
        stack.pump.resume()


def _queued(stack: Any) -> int:
    from bridge.adapters.aws import client

    attributes = client("sqs").get_queue_attributes(
        QueueUrl=stack.env["EVENTS_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def _post(stack: Any, path_account: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{stack.api_url}/webhooks/sellsy/{path_account}", content=body, headers=headers, timeout=10)


def test_every_bad_delivery_is_refused_with_its_status_and_nothing_is_enqueued(paused: Any, account_id: str) -> None:
    stack = paused
    good = json.dumps(_payload()).encode()
    json_type = {"Content-Type": "application/json"}
    cases: list[tuple[str, str, bytes, dict[str, str], int, str]] = [
        ("no signature", account_id, good, json_type, 401, "missing_signature"),
        ("wrong signature", account_id, good, {**json_type, "X-Webhook-Signature": "0" * 40}, 401, "bad_signature"),
        (
            "signed with another key",
            account_id,
            good,
            {**json_type, "X-Webhook-Signature": _sign(good, "other")},
            401,
            "bad_signature",
        ),
        ("unknown account", "nobody-here", good, {**json_type, "X-Webhook-Signature": _sign(good)}, 404, ""),
        ("invalid account id", "..%2f..", good, {**json_type, "X-Webhook-Signature": _sign(good)}, 404, ""),
        (
            "body over the limit",
            account_id,
            b'{"x":"' + b"a" * (300 * 1024) + b'"}',
            {**json_type, "X-Webhook-Signature": "0" * 40},
            413,
            "body_too_large",
        ),
        ("xml", account_id, b"<notif/>", {"Content-Type": "application/xml"}, 415, "unsupported_media_type"),
        ("no content type", account_id, good, {"X-Webhook-Signature": _sign(good)}, 415, "unsupported_media_type"),
    ]
    malformed = [
        b"{not json",
        b"[]",
        json.dumps({**_payload(), "relatedid": "abc"}).encode(),
        json.dumps({k: v for k, v in _payload().items() if k != "relatedtype"}).encode(),
        b"",
    ]
    for n, body in enumerate(malformed):
        cases.append((f"malformed {n}", account_id, body, {**json_type, "X-Webhook-Signature": _sign(body)}, 400, ""))
    form_without_notif = urlencode({"other": "x"}).encode()
    cases.append(
        (
            "form without notif",
            account_id,
            form_without_notif,
            {"Content-Type": "application/x-www-form-urlencoded", "X-Webhook-Signature": _sign(form_without_notif)},
            400,
            "malformed_delivery",
        )
    )

    before = _queued(stack)
    for name, target, body, headers, status, code in cases:
        response = _post(stack, target, body, headers)
        assert response.status_code == status, f"{name}: {response.status_code} {response.text}"
        error = response.json()["error"]
        assert error["message"], name
        if code:
            assert error["code"] == code, name
    assert _queued(stack) == before, "a rejected delivery was enqueued"

    # The same path accepts a proper delivery, in both encodings: the count above could move.
    form = urlencode({"notif": json.dumps(_payload(5))}).encode()
    accepted_json = _post(stack, account_id, good, {**json_type, "X-Webhook-Signature": _sign(good)})
    accepted_form = _post(
        stack,
        account_id,
        form,
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "X-Webhook-Signature": _sign(form)},
    )
    assert accepted_json.status_code == accepted_form.status_code == 202
    assert accepted_json.json()["delivery_id"] != accepted_form.json()["delivery_id"]
    assert accepted_json.json()["correlation_id"] == accepted_json.headers["x-correlation-id"]
    assert _queued(stack) == before + 2


def test_sellsy_ping_gets_200(stack: Any, account_id: str) -> None:
    response = httpx.get(f"{stack.api_url}/webhooks/sellsy/{account_id}", timeout=10)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_an_identical_retry_has_the_same_delivery_id(stack: Any, account_id: str) -> None:
    body = json.dumps(_payload(6)).encode()
    headers = {"Content-Type": "application/json", "X-Webhook-Signature": _sign(body)}
    first, second = _post(stack, account_id, body, headers), _post(stack, account_id, body, headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["delivery_id"] == second.json()["delivery_id"]
    assert first.json()["correlation_id"] != second.json()["correlation_id"]


def test_an_accepted_delivery_shows_in_the_exchange_log_once_the_worker_took_it(stack: Any, account_id: str) -> None:
    from bridge.flows import exchange_log

    body = json.dumps(_payload(8)).encode()
    accepted = _post(stack, account_id, body, {"Content-Type": "application/json", "X-Webhook-Signature": _sign(body)})
    assert accepted.status_code == 202
    correlation_id = accepted.json()["correlation_id"]

    def receipts() -> list[Any]:
        found = exchange_log.list_exchanges(account_id, kind="webhook_received", sellsy_type="estimate", sellsy_id="8")
        return [e for e in found[0] if e.correlation_id == correlation_id]

    deadline = time.monotonic() + 30  # the worker writes the record, after the 202
    while not receipts() and time.monotonic() < deadline:
        time.sleep(0.1)
    [receipt] = receipts()
    assert receipt.status == "ok" and receipt.request["config_id"] == "estimate.step"
