"""One error shape for the whole API: ``{"error": {"code", "message", "details"}}``.

Routers raise ``ApiError`` (or the domain errors mapped below); ``register(app)`` installs the
handlers. Validation messages never echo the rejected input (it may hold a secret or an email),
and a 500 says nothing but the request id.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, UnauthorizedError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, Field, ValidationError

from bridge.adapters.accounts_repo import AccountConflict, AccountNotFound
from bridge.api import json_body
from bridge.domain.masking import mask_text
from bridge.flows.replay import ExchangeNotFound, NotReplayable
from bridge.observability import logger


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. not_found, validation_failed")
    message: str = Field(description="What went wrong, for a human")
    details: Any = Field(default=None, description="Per-field problems or context")


class ErrorBody(BaseModel):
    error: ErrorDetail


# Documented on every route (see handlers.api): the OpenAPI document lists what can come back.
ERROR_STATUSES = (400, 401, 404, 405, 409, 413, 415, 422, 500, 502, 503)


def error_responses(*statuses: int, success: int = 200) -> dict[int, OpenAPIResponse]:
    """OpenAPI ``responses`` for a route: its success (schema from the return annotation) and the
    error statuses it can answer (all by default)."""
    documented: dict[int, OpenAPIResponse] = {success: {"description": HTTPStatus(success).phrase}}
    for status in statuses or ERROR_STATUSES:
        documented[status] = {
            "description": HTTPStatus(status).phrase,
            "content": {"application/json": {"model": ErrorBody}},
        }
    return documented


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_payload(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(status: int, code: str, message: str, details: Any = None, **headers: str) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(error_payload(code, message, details), default=str),
        headers=headers or None,
    )


def raw_error(status: int, code: str, message: str, details: Any = None, **headers: str) -> dict[str, Any]:
    """The same error as an API Gateway v2 result, for answers given before routing (auth, size)."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON, **headers},
        "body": json.dumps(error_payload(code, message, details)),
        "isBase64Encoded": False,
    }


def validation_details(errors: list[Any]) -> list[dict[str, Any]]:
    """Field problems without the offending input (``input``/``ctx`` could hold secrets)."""
    out = []
    for err in errors:
        loc = list(err.get("loc") or [])
        out.append(
            {
                "location": ".".join(str(p) for p in loc) or "body",
                "message": mask_text(str(err.get("msg", "invalid"))),
                "type": err.get("type", "invalid"),
            }
        )
    return out


def _summary(details: list[dict[str, Any]]) -> str:
    shown = "; ".join(f"{d['location']}: {d['message']}" for d in details[:3])
    more = f" (+{len(details) - 3} more)" if len(details) > 3 else ""
    return f"invalid request: {shown}{more}"


def _allowed_methods(app: ApiGatewayResolver, path: str) -> list[str]:
    # Powertools has no 405 of its own; its route table tells which methods exist for this path.
    routes = [*app._static_routes, *app._dynamic_routes]
    return sorted({r.method for r in routes if r.rule.match(path)})


def register(app: ApiGatewayResolver) -> None:
    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    def _invalid_request(exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        invalid = [e for e in errors if e.get("type") == "json_invalid"]
        if invalid:
            reason = str((invalid[0].get("ctx") or {}).get("error") or "")
            # Only our own reasons are echoed (they never quote the input); the parser's carry a position only.
            message = reason if json_body.NON_FINITE in reason else "request body is not valid JSON"
            return error_response(400, "invalid_json", message)
        details = validation_details(errors)
        return error_response(422, "validation_failed", _summary(details), details)

    @app.exception_handler(ValidationError)
    def _invalid_model(exc: ValidationError) -> Response:
        details = validation_details(list(exc.errors()))
        return error_response(422, "validation_failed", _summary(details), details)

    @app.exception_handler(UnauthorizedError)
    def _unauthorized(exc: UnauthorizedError) -> Response:
        return error_response(401, "unauthorized", str(exc.msg), None, **{"WWW-Authenticate": "Bearer"})

    @app.exception_handler([AccountNotFound, ExchangeNotFound])
    def _missing(exc: Exception) -> Response:
        return error_response(404, "not_found", str(exc))

    @app.exception_handler([AccountConflict, NotReplayable])
    def _conflict(exc: Exception) -> Response:
        return error_response(409, "conflict", str(exc))

    @app.not_found
    def _no_route(exc: NotFoundError) -> Response:
        path = app.current_event.path
        allowed = _allowed_methods(app, path)
        if path == "/console" or path.startswith("/console/"):  # the console answers in HTML
            from bridge.console.session_gate import not_found_page

            return not_found_page(app.current_event, allowed)
        if allowed:
            method = app.current_event.http_method.upper()
            return error_response(
                405,
                "method_not_allowed",
                f"{method} is not allowed on {path}; use {', '.join(allowed)}",
                {"allowed": allowed},
                Allow=", ".join(allowed),
            )
        return error_response(404, "not_found", f"no route {path}")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        event: Any = app.current_event
        request_id = event.request_context.request_id
        logger.error(
            "unhandled error in API route",
            extra={"error_type": type(exc).__name__, "error": mask_text(str(exc))[:500]},
        )
        return error_response(
            500, "internal_error", "internal error; the request id helps support", {"request_id": request_id}
        )
