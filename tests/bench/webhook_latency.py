"""Webhook acknowledgement latency (in-process, SQS on loopback) and quote accepted → intervention visible."""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from typing import Any

from infra.local.gateway import build_event
from infra.local.lambda_context import LocalContext
from infra.local.stack import Stack


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def signed_delivery(signing_key: str, n: int, corp_id: str) -> tuple[bytes, dict[str, str]]:
    payload = {
        "eventType": "docslog",
        "event": "step",
        "relatedtype": "estimate",
        "relatedid": str(100000 + n),
        "ownertype": "staff",
        "ownerid": "1",
        "timestamp": str(1_790_000_000 + n),
        "corpid": corp_id,
        "relatedobject": {"id": 100000 + n, "status": "accepted"},
    }
    body = json.dumps(payload).encode()
    signature = hashlib.sha1(signing_key.encode() + body, usedforsecurity=False).hexdigest()
    headers = {
        "content-type": "application/json",
        "x-webhook-signature": signature,
        "user-agent": "Sellsy-Webhooks/bench",
        "content-length": str(len(body)),
    }
    return body, headers


def _started_stack(size: int) -> tuple[Stack, str]:
    from infra.local.demo import create_demo_account

    stack = Stack(size=size).start()
    return stack, create_demo_account(stack, None)


def _signing_key(account_id: str) -> str:
    from bridge.adapters import secrets as account_secrets

    return account_secrets.get_webhook_signing_keys(account_id)[0]


def bench_webhook_ack(deliveries: int = 2000) -> dict[str, Any]:
    """Time the real webhook handler, called in-process, enqueueing to SQS on the moto server."""
    from bridge.handlers.webhook import lambda_handler

    stack, account_id = _started_stack(size=40)
    try:
        stack.pump.stop()  # measure the receiver alone; the worker would compete for the 2 cores
        key = _signing_key(account_id)
        corp_id = str(stack.sandbox.corp_id)
        samples: list[float] = []
        statuses: dict[int, int] = {}
        for n in range(deliveries):
            body, headers = signed_delivery(key, n, corp_id)
            event = build_event("POST", f"/webhooks/sellsy/{account_id}", "", headers, body)
            started = time.perf_counter()
            answer = lambda_handler(event, LocalContext("WebhookFunction"))
            samples.append((time.perf_counter() - started) * 1000)
            statuses[answer["statusCode"]] = statuses.get(answer["statusCode"], 0) + 1
    finally:
        stack.stop()
    p99 = percentile(samples, 0.99)
    return {
        "deliveries": deliveries,
        "statuses": statuses,
        "p50_ms": round(statistics.median(samples), 2),
        "p99_ms": {"value": round(p99, 2), "target": 50, "comparison": "<=", "met": p99 <= 50},
        "all_accepted": {"value": statuses.get(202, 0), "met": statuses.get(202, 0) == deliveries},
    }


def bench_quote_to_intervention(quotes: int = 40) -> dict[str, Any]:
    """Accept quotes in the sandbox, as users would, and time until each intervention shows in the API."""
    import httpx

    stack, account_id = _started_stack(size=max(400, quotes * 12))
    try:
        candidates = [e for e in stack.sandbox.state("estimates") if e["status"] in ("draft", "sent", "read")]
        chosen = candidates[:quotes]
        samples: list[float] = []
        missing = 0
        with httpx.Client(
            base_url=stack.api_url, headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=30
        ) as api:
            for estimate in chosen:
                started = time.perf_counter()
                stack.sandbox.act_set_estimate_status(estimate["id"], "accepted")
                deadline = started + 10
                while time.perf_counter() < deadline:
                    found = api.get(f"/accounts/{account_id}/interventions/est-{estimate['id']}")
                    if found.status_code == 200:
                        samples.append(time.perf_counter() - started)
                        break
                    time.sleep(0.02)
                else:
                    missing += 1
    finally:
        stack.stop()
    p95 = percentile(samples, 0.95) if samples else float("inf")
    return {
        "quotes": len(chosen),
        "missing_after_10s": missing,
        "p50_s": round(statistics.median(samples), 3) if samples else None,
        "p95_s": {"value": round(p95, 3), "target": 2.0, "comparison": "<=", "met": p95 <= 2.0 and not missing},
    }
