"""The HTTP API function: one Powertools resolver with request validation, every router composed.

Before routing: who calls and whether they may call this route (``api.auth``: 401 without valid
credentials, 403 for a field key outside its account's field routes), then body size and media type
checks, so a caller without credentials gets 401 whatever the body. ``GET /openapi.json`` serves the
document generated from the routes.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import json
import pkgutil
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

import bridge.api
from bridge.api import app_errors, auth, json_body
from bridge.api.auth import is_public
from bridge.domain import access
from bridge.observability import invocation_log_keys, logger, metrics, tracer
from bridge.settings import load_settings

# Cold start: a variable with a bad value stops the function here, named in the error (bridge.settings).
load_settings()

API_TITLE = "sellsy-bridge API"
API_VERSION = "1.0.0"
MAX_BODY_BYTES = 1_048_576  # JSON bodies only; files travel through presigned S3 URLs
_BODY_METHODS = {"POST", "PUT", "PATCH"}
OPERATOR_SCHEME = "bearerAuth"
FIELD_SCHEME = "fieldKey"

app = APIGatewayHttpResolver(
    enable_validation=True, response_validation_error_http_code=500, json_body_deserializer=json_body.loads
)


def discover_routers() -> list[tuple[str, Router]]:
    """Every ``bridge.api.<module>.router``, by module name (one file = one router, nothing to register)."""
    found = []
    for info in sorted(pkgutil.iter_modules(bridge.api.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"bridge.api.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, Router):
            found.append((info.name, router))
    return found


ROUTERS = discover_routers()
for _name, _router in ROUTERS:
    app.include_router(_router)
app_errors.register(app)


@cache
def openapi_document() -> str:
    generated = app.get_openapi_json_schema(
        title=API_TITLE,
        version=API_VERSION,
        description=(
            "Management and field API of the Sellsy connector. Management routes: operators only (IAM "
            "SigV4 in AWS, the operator bearer token locally). Field routes: a per-account field key "
            "(Bearer sbfk...), for its own account only; operators too locally. "
            'Errors: {"error": {"code", "message", "details"}}.'
        ),
        security_schemes={
            OPERATOR_SCHEME: HTTPBearer(description="Operators: the local API token (in AWS: IAM SigV4 instead)"),
            FIELD_SCHEME: HTTPBearer(description="A field key issued for one account (POST /accounts/{id}/field-keys)"),
        },
        security=[{OPERATOR_SCHEME: []}],
    )
    return json.dumps(with_field_security(with_gate_errors(json.loads(generated))))


def with_field_security(document: dict[str, Any]) -> dict[str, Any]:
    """Field routes (``access.FIELD_ROUTES``) take a field key, or the operator's credentials."""
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if access.is_field_operation(method, path):
                operation["security"] = [{FIELD_SCHEME: []}, {OPERATOR_SCHEME: []}]
    return document


def with_gate_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Every operation can get the answers of the gate and the frame, whichever router declared it."""
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            statuses = [404, 405, 500]
            if not is_public(path):
                statuses += [401, 403]
            if method.upper() in _BODY_METHODS:
                statuses += [400, 413, 415]
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                responses.setdefault(str(status), {"description": HTTPStatus(status).phrase, **error})
    return document


@app.get("/openapi.json", summary="This API's OpenAPI document", include_in_schema=False)
def get_openapi() -> Response[Any]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document())


def _header(event: dict[str, Any], name: str) -> str:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return ""


def gate(event: dict[str, Any], checked: auth.Access | None = None) -> dict[str, Any] | None:
    """An early error answer (401/403/413/415, 400 for bodies that aren't JSON), or None to route the request."""
    refusal = (checked or auth.check(event)).refusal
    if refusal:
        headers = {"WWW-Authenticate": "Bearer"} if refusal.status == 401 else {}
        return app_errors.raw_error(refusal.status, refusal.code, refusal.message, None, **headers)
    method = event.get("requestContext", {}).get("http", {}).get("method", "").upper()
    body = event.get("body") or ""
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode())
    if size > MAX_BODY_BYTES:
        return app_errors.raw_error(
            413, "payload_too_large", f"request body over {MAX_BODY_BYTES} bytes", {"limit": MAX_BODY_BYTES}
        )
    # The console's forms are urlencoded; its own gate checks them (bridge.console.session_gate).
    if method in _BODY_METHODS and body and not access.is_console(event.get("rawPath") or ""):
        media = _header(event, "content-type").split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            return app_errors.raw_error(
                415,
                "unsupported_media_type",
                f"send JSON (Content-Type: application/json), not {media or 'nothing'}",
            )
        if not _is_json(body, bool(event.get("isBase64Encoded"))):
            return app_errors.raw_error(400, "invalid_json", "request body is not valid UTF-8 JSON")
    return None


def _is_json(body: str, encoded: bool) -> bool:
    """Bytes that aren't UTF-8 JSON never reach a route (Powertools would fail on them with a 500)."""
    try:
        raw = base64.b64decode(body, validate=True) if encoded else body.encode()
        json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeError, binascii.Error):
        return False
    return True


@invocation_log_keys
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    path = event.get("rawPath", "/")
    checked = auth.check(event)
    logger.append_keys(http_path=path, caller=None if is_public(path) else checked.caller)
    early = gate(event, checked)
    if early is not None:
        logger.info("request refused before routing", extra={"status": early["statusCode"]})
        return early
    app.append_context(principal=checked.principal)
    return app.resolve(event, context)
