"""Trouble an operator must hear about emits exactly the metric its alarm in template.yaml watches."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from bridge.flows import accounts as account_flows
from infra.local.gateway import build_event
from infra.local.lambda_context import LocalContext
from tests.fixtures.emf import emitted_metrics, seen_by_alarm

KEY = "metrics-signing-key-0123"
ACCOUNT = f"mt-{uuid.uuid4().hex[:8]}"


def _delivery(body: bytes, signature: str | None, method: str = "POST") -> dict[str, Any]:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["x-webhook-signature"] = signature
    event = build_event(method, f"/webhooks/sellsy/{ACCOUNT}", "", headers, b"" if method == "GET" else body)
    event["pathParameters"] = {"account_id": ACCOUNT}
    return event


def test_refused_deliveries_feed_the_rejection_rate_alarm_and_accepted_ones_its_denominator(aws_clean, capfd):
    from bridge.handlers.webhook import lambda_handler

    account_flows.create_account(name="Metrics", account_id=ACCOUNT, webhook_signing_key=KEY)
    payload = {"eventType": "docslog", "event": "step", "relatedtype": "estimate", "relatedid": "4",
               "corpid": "100007", "timestamp": str(int(time.time()))}  # fmt: skip
    body = urlencode({"notif": json.dumps(payload)}).encode()
    good = hashlib.sha1(KEY.encode() + body, usedforsecurity=False).hexdigest()
    stale = hashlib.sha1(b"the-key-before-rotation" + body, usedforsecurity=False).hexdigest()
    capfd.readouterr()

    statuses = [
        lambda_handler(_delivery(body, stale), LocalContext("WebhookFunction"))["statusCode"],  # key mismatch
        lambda_handler(_delivery(body, None), LocalContext("WebhookFunction"))["statusCode"],  # unsigned
        lambda_handler(_delivery(body, good), LocalContext("WebhookFunction"))["statusCode"],
        lambda_handler(_delivery(body, None, "GET"), LocalContext("WebhookFunction"))["statusCode"],  # probe
    ]
    assert statuses == [401, 401, 202, 200]
    seen = seen_by_alarm(emitted_metrics(capfd.readouterr().out), "WebhookRejectionRateAlarm")
    assert sorted(m.name for m in seen) == ["WebhookAccepted", "WebhookRejected", "WebhookRejected"]


def test_a_failed_exchange_feeds_the_failed_exchanges_alarm(aws_clean, capfd):
    from bridge.flows.exchange_log import record_exchange

    capfd.readouterr()
    record_exchange(account_id="acme", direction="outbound", kind="object_written", status="failed", reason="boom")
    record_exchange(account_id="acme", direction="outbound", kind="object_written", status="ok")
    [failed] = seen_by_alarm(emitted_metrics(capfd.readouterr().out), "FailedExchangesAlarm")
    assert failed.dimensions == {"service": "sellsy-bridge", "outcome": "failed"}


def test_an_account_marked_needs_reconnect_feeds_its_alarm(aws_clean, capfd):
    from bridge.adapters import accounts_repo

    account_flows.create_account(name="Reconnect", account_id="reconnect-me")
    capfd.readouterr()
    accounts_repo.mark_needs_reconnect("reconnect-me", "invalid_grant")
    accounts_repo.mark_needs_reconnect("reconnect-me", "invalid_grant")  # once per change, not per failure
    assert len(seen_by_alarm(emitted_metrics(capfd.readouterr().out), "NeedsReconnectAlarm")) == 1
