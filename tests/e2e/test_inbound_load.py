"""Exactly one intervention per quote under duplicated, shuffled, concurrent deliveries (the reliability bar)."""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

import bridge.handlers.api
import bridge.handlers.webhook
import bridge.handlers.worker  # noqa: F401  (loaded before the gateway/pump threads import them concurrently)
from bridge.flows import accounts as account_flows

pytestmark = pytest.mark.slow  # long: scheduled first (tests/fixtures/ordering.py)

# 60 quotes sent 1-5 times each: about 180 deliveries, shuffled, 8 at a time. Fewer quotes put a quote's copies
# closer together in the shuffled stream (more overlap, not less); the throughput figure lives in `make bench`.
ESTIMATES = 60
SIGN_KEY = "load-test-signing-key"


def _sign(body: bytes) -> str:
    return hashlib.sha1(SIGN_KEY.encode() + body, usedforsecurity=False).hexdigest()


def _create_accepted_estimates(sandbox: Any, count: int) -> list[int]:
    """Quotes accepted in Sellsy (through its API, so the sandbox itself sends no delivery to us)."""
    headers = {"Authorization": f"Bearer {sandbox.access_token()}"}
    with httpx.Client(base_url=sandbox.api_url, headers=headers, timeout=30) as sellsy:

        def create(n: int) -> int:
            body = {
                "related": [{"type": "company", "id": 1 + n % 10}],
                "subject": f"Load {n}",
                "rows": [{"type": "single", "unit_amount": "10.00", "quantity": "1", "tax_id": 1, "description": "x"}],
            }
            created = sellsy.post("/estimates", json=body)
            created.raise_for_status()
            estimate_id = int(created.json()["id"])
            sellsy.put(f"/estimates/{estimate_id}/status", json={"status": "accepted"}).raise_for_status()
            return estimate_id

        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(create, range(count)))


def _queue_state(stack: Any) -> dict[str, Any]:
    """What to look at when the queue does not drain (failed records keep coming back)."""
    from bridge.adapters.aws import client

    attributes = client("sqs").get_queue_attributes(QueueUrl=stack.env["EVENTS_QUEUE_URL"], AttributeNames=["All"])
    return {
        "queue": {k: v for k, v in attributes["Attributes"].items() if k.startswith("ApproximateNumber")},
        "batches": stack.pump.batches,
        "failed_records": stack.pump.failed_records,
    }


def test_duplicated_shuffled_concurrent_deliveries_make_exactly_one_intervention_each(
    stack: Any, api: httpx.Client
) -> None:
    account_id = f"ld-{uuid.uuid4().hex[:10]}"
    account_flows.create_account(name="Load e2e", account_id=account_id, webhook_signing_key=SIGN_KEY)
    account_flows.connect_client_credentials(
        account_id, client_id=stack.sandbox.client_id, client_secret=stack.sandbox.client_secret
    )
    estimate_ids = _create_accepted_estimates(stack.sandbox, ESTIMATES)
    rng = random.Random(20261121)
    deliveries: list[bytes] = []
    now = int(time.time())  # deliveries are dated inside the freshness window
    for estimate_id in estimate_ids:
        payload = {
            "eventType": "docslog",
            "event": "step",
            "relatedtype": "estimate",
            "relatedid": str(estimate_id),
            "ownertype": "staff",
            "ownerid": "1",
            "timestamp": str(now),
            "corpid": str(stack.sandbox.corp_id),
            "relatedobject": {"id": estimate_id, "status": "accepted"},
        }
        for copy in range(rng.randint(1, 5)):
            # Half the copies are byte-identical retries (same delivery id, dropped by idempotency); the
            # others are re-sent events with a new timestamp (new delivery id, so the store must dedupe).
            variant = dict(payload, timestamp=str(now + copy)) if copy % 2 else payload
            deliveries.append(json.dumps(variant).encode())
    rng.shuffle(deliveries)

    # One client shared by the senders (httpx clients are thread-safe): a client per request would load the
    # CA bundle each time, which cost more CPU than the deliveries themselves.
    with httpx.Client(base_url=stack.api_url, timeout=30) as sender:

        def send(body: bytes) -> int:
            response = sender.post(
                f"/webhooks/sellsy/{account_id}",
                content=body,
                headers={"Content-Type": "application/json", "X-Webhook-Signature": _sign(body)},
            )
            return response.status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(send, deliveries))
    assert statuses.count(202) == len(deliveries), sorted(set(statuses))
    assert stack.pump.wait_idle(timeout=480), _queue_state(stack)

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"status": "new", "limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = api.get(f"/accounts/{account_id}/interventions", params=params)
        assert page.status_code == 200
        seen.extend(item["id"] for item in page.json()["items"])
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == ESTIMATES
    assert set(seen) == {f"est-{i}" for i in estimate_ids}
