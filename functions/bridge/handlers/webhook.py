"""Sellsy webhook receiver (``POST/GET /webhooks/sellsy/{account_id}``): verify, enqueue, answer 202.

Kept lean for a small cold start and a fast answer: no HTTP framework, one flow call. Anything a
caller sends gets a 2xx or a 4xx with a JSON error; only a failure on our side (queue unreachable)
answers 503, so that Sellsy retries the delivery later.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from bridge.flows.inbound.receive import Answer, problem, receive
from bridge.observability import invocation_log_keys, logger, metrics
from bridge.settings import load_settings

# Cold start: a variable with a bad value stops the function here, named in the error (bridge.settings).
load_settings()

_PREFIX = "/webhooks/sellsy/"


def _headers(event: dict[str, Any]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}


def _account_id(event: dict[str, Any]) -> str:
    from_route = (event.get("pathParameters") or {}).get("account_id")
    if from_route:
        return str(from_route)
    path = str(event.get("rawPath") or "")
    return path[len(_PREFIX) :].strip("/") if path.startswith(_PREFIX) else ""


def _body(event: dict[str, Any]) -> bytes:
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(raw, validate=False)
    return str(raw).encode("utf-8")


def _response(answer: Answer, correlation_id: str) -> dict[str, Any]:
    return {
        "statusCode": answer.status,
        "headers": {"content-type": "application/json", "x-correlation-id": correlation_id, **answer.headers},
        "body": json.dumps(answer.body, separators=(",", ":")),
    }


@invocation_log_keys
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event.get("requestContext") or {}
    correlation_id = str(request.get("requestId") or uuid.uuid4())
    logger.set_correlation_id(correlation_id)
    return _handle(event, correlation_id)


def _handle(event: dict[str, Any], correlation_id: str) -> dict[str, Any]:
    request = event.get("requestContext") or {}
    headers = _headers(event)
    method = str((request.get("http") or {}).get("method") or "POST")
    try:
        body = _body(event)
    except (binascii.Error, ValueError):
        answer = problem(400, "malformed_body", "the body is not valid base64 as announced")
    else:
        try:
            answer = receive(
                account_id=_account_id(event),
                method=method,
                content_type=headers.get("content-type"),
                signature=headers.get("x-webhook-signature"),
                body=body,
                correlation_id=correlation_id,
            )
        except Exception:  # queue or store unreachable: our fault, so ask Sellsy to retry
            logger.exception("webhook could not be accepted")
            answer = problem(503, "temporarily_unavailable", "the delivery could not be stored; retry later")
    if answer.status >= 400:
        refused = {
            "account_id": _account_id(event) or None,
            "status": answer.status,
            "code": answer.body["error"]["code"],
        }
        logger.warning("webhook rejected", extra=refused)
    # The rejection-rate alarm compares these two: refusals are the caller's (4xx: signature, body, account);
    # a 503 is ours and shows in the API's 5xx alarm; probes (GET) count in neither.
    if answer.enqueued:
        metrics.add_metric(name="WebhookAccepted", unit=MetricUnit.Count, value=1)
    elif 400 <= answer.status < 500:
        metrics.add_metric(name="WebhookRejected", unit=MetricUnit.Count, value=1)
    return _response(answer, correlation_id)
