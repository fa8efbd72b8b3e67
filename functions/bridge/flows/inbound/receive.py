"""Receiving one Sellsy webhook delivery: check, enqueue, acknowledge (F3).

The checks run cheapest-first and each rejection names its problem; nothing is enqueued unless every
check passed. Sellsy sends no delivery id, so the id is a hash of the account and the raw body: an
identical retry gets the same id and the worker's idempotency drops it.

The answer waits for one write only, the enqueue. The ``webhook_received`` exchange is recorded by the
worker when it first takes the message (``receipt.py``), dated with the ``received_at`` the message
carries; a delivery that could not be enqueued is recorded here as ``webhook_not_enqueued`` (503).
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bridge.adapters import queue, secrets
from bridge.domain.accounts import ACCOUNT_ID_PATTERN
from bridge.flows.exchange_log import record_exchange
from bridge.flows.inbound import account_cache
from bridge.flows.inbound.receipt import KIND
from bridge.observability import logger
from bridge.sellsy import webhooks

MAX_BODY_BYTES = webhooks.MAX_BODY_BYTES  # 256 KiB: real deliveries are a few KiB
ACCEPTED_TYPES = ("application/json", "application/x-www-form-urlencoded")
_ACCOUNT_ID = re.compile(ACCOUNT_ID_PATTERN)
# The receiver only needs to know the account exists (the worker re-checks its status), so a longer
# memory is safe here and keeps DynamoDB reads off the acknowledgement path.
ACCOUNT_MAX_AGE_SECONDS = 60.0


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    enqueued: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def problem(status: int, code: str, message: str, details: Any = None) -> Answer:
    return Answer(status, {"error": {"code": code, "message": message, "details": details}})


def delivery_id_for(account_id: str, body: bytes) -> str:
    return hashlib.sha256(account_id.encode() + b"\x00" + body).hexdigest()[:32]


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _request_refusal(method: str, account_id: str, content_type: str | None, body: bytes) -> Answer | None:
    """The answer to a request refused before any lookup (or Sellsy's GET ping), None to go on."""
    if method.upper() in ("GET", "HEAD"):
        return Answer(200, {"status": "ok"})  # Sellsy's ping when the endpoint is configured
    if method.upper() != "POST":
        return problem(405, "method_not_allowed", f"{method} is not allowed here; Sellsy delivers with POST")
    if not _ACCOUNT_ID.match(account_id):
        return problem(404, "unknown_account", "no such account")
    if len(body) > MAX_BODY_BYTES:
        return problem(413, "body_too_large", f"body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
    kind = media_type(content_type)
    if kind not in ACCEPTED_TYPES:
        return problem(
            415,
            "unsupported_media_type",
            f"content type {kind or '(none)'!r} is not accepted",
            {"accepted": list(ACCEPTED_TYPES)},
        )
    return None


def _signature_refusal(account_id: str, signature: str | None, body: bytes) -> Answer | None:
    keys = secrets.get_webhook_signing_keys(account_id)
    if not signature:
        return problem(401, "missing_signature", "the X-Webhook-Signature header is missing")
    if not keys:
        return problem(401, "no_signing_key", "this account has no webhook signing key configured")
    if not webhooks.verify_signature(body, signature, keys):
        return problem(401, "bad_signature", "X-Webhook-Signature does not match the body and the signing key")
    return None


def receive(
    *, account_id: str, method: str, content_type: str | None, signature: str | None, body: bytes, correlation_id: str
) -> Answer:
    refused = _request_refusal(method, account_id, content_type, body)
    if refused is not None:
        return refused
    kind = media_type(content_type)
    account = account_cache.get_account(account_id, max_age=ACCOUNT_MAX_AGE_SECONDS)
    if account is None:
        return problem(404, "unknown_account", f"account {account_id!r} does not exist")
    refused = _signature_refusal(account_id, signature, body)
    if refused is not None:
        return refused
    try:
        event = webhooks.parse_delivery(body, kind)
        webhooks.check_freshness(event.timestamp, time.time())
    except webhooks.OutsideWindow as exc:
        return problem(400, "delivery_outside_window", str(exc), {"timestamp": event.timestamp})
    except webhooks.InvalidDelivery as exc:
        return problem(400, "malformed_delivery", str(exc))

    delivery_id = delivery_id_for(account_id, body)
    payload = event.to_dict()
    payload["config_id"] = event.config_id
    received_at = datetime.now(UTC)
    started = time.perf_counter()
    try:
        queue.enqueue(
            {
                "kind": KIND,
                "account_id": account_id,
                "delivery_id": delivery_id,
                "correlation_id": correlation_id,
                "received_at": received_at.isoformat(),
                "payload": payload,
            }
        )
    except Exception as exc:
        # Not enqueued, so no worker will record this delivery: record it here, with what it carried.
        record_exchange(
            account_id=account_id,
            direction="inbound",
            kind="webhook_not_enqueued",
            status="failed",
            sellsy_type=event.entity,
            sellsy_id=event.object_id,
            reason=f"queue unavailable ({type(exc).__name__}); Sellsy will redeliver",
            request=payload,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            correlation_id=correlation_id,
            at=received_at,
        )
        raise
    logger.info(
        "webhook accepted",
        extra={"account_id": account_id, "delivery_id": delivery_id, "config_id": event.config_id},
    )
    return Answer(
        202,
        {"accepted": True, "delivery_id": delivery_id, "correlation_id": correlation_id},
        enqueued=True,
    )
