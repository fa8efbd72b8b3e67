"""The webhook function called as Lambda would call it (API Gateway v2 events), on moto."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.exceptions import EndpointConnectionError

from bridge.flows import accounts as account_flows
from bridge.flows import exchange_log
from bridge.flows.inbound import receive
from bridge.handlers.webhook import lambda_handler
from infra.local.lambda_context import LocalContext

KEY = "in-process-key"


def _event(account_id: str, body: bytes, *, method: str = "POST", b64: bool = False, **headers: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": f"/webhooks/sellsy/{account_id}",
        "headers": {k.replace("_", "-").lower(): v for k, v in headers.items()},
        "requestContext": {"requestId": str(uuid.uuid4()), "http": {"method": method}},
        "body": base64.b64encode(body).decode() if b64 else body.decode("utf-8", "replace"),
        "isBase64Encoded": b64,
    }


@pytest.fixture(scope="module")
def account_id(aws: Any) -> str:
    account_id = f"rc-{uuid.uuid4().hex[:10]}"
    account_flows.create_account(name="Receiver", account_id=account_id, webhook_signing_key=KEY)
    return account_id


def _delivery_id(message: dict[str, Any]) -> str | None:
    try:
        value = json.loads(message["Body"]).get("delivery_id")
        return str(value) if value else None
    except (ValueError, AttributeError):
        return None


def _signed(body: bytes) -> str:
    return hashlib.sha1(KEY.encode() + body, usedforsecurity=False).hexdigest()


def _delivery(object_id: int = 4) -> bytes:
    payload = {"eventType": "docslog", "event": "step", "relatedtype": "estimate", "relatedid": str(object_id),
               "corpid": "100007", "timestamp": str(int(time.time()))}  # fmt: skip
    return urlencode({"notif": json.dumps(payload)}).encode()


@pytest.fixture()
def quiet_queue(stack: Any) -> Iterator[Any]:
    """The shared stack's pump holds off, so this test reads what was enqueued itself."""
    stack.pump.pause()
    yield stack
    stack.pump.resume()


def test_base64_form_delivery_is_enqueued_with_its_correlation_id(aws: Any, quiet_queue: Any, account_id: str) -> None:
    body = _delivery()
    event = _event(
        account_id,
        body,
        b64=True,
        content_type="application/x-www-form-urlencoded",
        x_webhook_signature=_signed(body),
    )
    answer = lambda_handler(event, LocalContext("WebhookFunction"))
    assert answer["statusCode"] == 202, answer["body"]
    body_out = json.loads(answer["body"])
    assert body_out["correlation_id"] == event["requestContext"]["requestId"]
    sqs = aws.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=aws.env["EVENTS_QUEUE_URL"], MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=1
    ).get("Messages", [])
    queue_url = aws.env["EVENTS_QUEUE_URL"]
    ours = [m for m in messages if _delivery_id(m) == body_out["delivery_id"]]
    for m in messages:  # leave the queue as found: ours consumed, the others visible again
        if m in ours:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        else:
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    assert len(ours) == 1
    message = json.loads(ours[0]["Body"])
    assert message["kind"] == "sellsy.webhook" and message["account_id"] == account_id
    assert message["payload"]["entity"] == "estimate" and message["payload"]["object_id"] == "4"
    assert message["payload"]["config_id"] == "estimate.step"
    received_at = datetime.fromisoformat(message["received_at"])  # the worker dates the receipt with it
    assert timedelta(0) <= datetime.now(UTC) - received_at < timedelta(minutes=1)
    assert ours[0]["MessageAttributes"]["correlation_id"]["StringValue"] == body_out["correlation_id"]


def test_a_delivery_the_queue_refused_gets_503_and_is_recorded_with_its_payload(
    aws: Any, account_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(message: dict[str, Any]) -> str:
        raise EndpointConnectionError(endpoint_url="https://sqs.eu-west-3.amazonaws.com/")

    monkeypatch.setattr(receive, "queue", SimpleNamespace(enqueue=unreachable))
    body = _delivery(object_id=77)
    event = _event(
        account_id, body, content_type="application/x-www-form-urlencoded", x_webhook_signature=_signed(body)
    )
    answer = lambda_handler(event, LocalContext("WebhookFunction"))
    assert answer["statusCode"] == 503, answer["body"]
    assert json.loads(answer["body"])["error"]["code"] == "temporarily_unavailable"
    correlation_id = event["requestContext"]["requestId"]
    ours = [e for e in exchange_log.list_exchanges(account_id, limit=200)[0] if e.correlation_id == correlation_id]
    assert [(e.kind, e.status) for e in ours] == [("webhook_not_enqueued", "failed")]
    assert ours[0].sellsy_id == "77" and ours[0].request["config_id"] == "estimate.step"
    assert "EndpointConnectionError" in (ours[0].reason or "")


def _latin1_event(account_id: str) -> dict[str, Any]:
    body = "é".encode("latin-1")
    return _event(account_id, body, b64=True, content_type="application/json", x_webhook_signature=_signed(body))


def test_odd_requests_get_4xx_never_5xx(aws: Any, account_id: str) -> None:
    body = _delivery()
    cases = [
        (_event(account_id, body, method="PUT", content_type="application/json"), 405),
        ({**_event(account_id, b"x"), "body": "%%%not-base64", "isBase64Encoded": True}, 400),
        (_event("", body, content_type="application/json"), 404),
        (_latin1_event(account_id), 400),
    ]
    for event, status in cases:
        answer = lambda_handler(event, LocalContext("WebhookFunction"))
        assert answer["statusCode"] == status, answer["body"]
        assert json.loads(answer["body"])["error"]["code"]


def _json_delivery(**fields: str) -> bytes:
    payload = {"eventType": "docslog", "event": "step", "relatedtype": "estimate", "relatedid": "4",
               "corpid": "100007", "timestamp": str(int(time.time())), **fields}  # fmt: skip
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (_json_delivery(timestamp="1e400"), "malformed_delivery"),  # used to overflow into a 503
        (_json_delivery(timestamp="nan"), "malformed_delivery"),
        (b'{"corpid": "1", "relatedobject": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "malformed_delivery"),
        (_json_delivery(timestamp="1262304000"), "delivery_outside_window"),  # dated 2010
        (_json_delivery(timestamp=str(int(time.time()) + 3600)), "delivery_outside_window"),  # an hour ahead
    ],
    ids=["huge-timestamp", "nan-timestamp", "nested-too-deep", "dated-2010", "dated-ahead"],
)
def test_a_signed_delivery_sellsy_could_not_have_sent_gets_400_and_nothing_is_enqueued(
    aws: Any, account_id: str, body: bytes, code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    enqueued: list[dict[str, Any]] = []
    monkeypatch.setattr(receive, "queue", SimpleNamespace(enqueue=enqueued.append))
    event = _event(account_id, body, content_type="application/json", x_webhook_signature=_signed(body))
    answer = lambda_handler(event, LocalContext("WebhookFunction"))
    assert answer["statusCode"] == 400, answer["body"]
    assert answer["headers"]["content-type"] == "application/json"
    error = json.loads(answer["body"])["error"]
    assert error["code"] == code and error["message"]
    assert enqueued == []


def test_ping(aws: Any, account_id: str) -> None:
    answer = lambda_handler(_event(account_id, b"", method="GET"), LocalContext("WebhookFunction"))
    assert answer["statusCode"] == 200
