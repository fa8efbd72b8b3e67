"""Who is calling, and may they call this route: checked before any routing or validation.

Who (``identify``):
- ``API_AUTH_MODE=iam`` (AWS): an operator is a request API Gateway verified with SigV4 (the event
  carries the IAM authorizer context). Management routes are IAM-only at API Gateway; a management
  request without that context was deployed without auth and is refused here too.
- ``API_AUTH_MODE=bearer`` (default, local): ``Authorization: Bearer <operator token>``, compared in
  constant time with ``{SECRETS_PREFIX}/api-token``.
- In both modes, ``Authorization: Bearer sbfk.…`` is a field key, checked against its stored hash. The
  field routes are open at API Gateway (the field app signs nothing) and rely on this check alone.
May they (``bridge.domain.access.decide``): operators reach every route; a field key only the field
routes of its own account (else 403); public paths and ``/console`` (its own sign-in) need nothing.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from typing import Any

from bridge.adapters import secrets
from bridge.domain import access
from bridge.domain.access import Principal, Refusal, is_public
from bridge.flows import field_keys

__all__ = ["Access", "auth_mode", "check", "is_public"]


@dataclass(frozen=True)
class Access:
    principal: Principal | None
    refusal: Refusal | None

    @property
    def caller(self) -> str:
        """A loggable identity (never a key or token)."""
        return self.principal.label if self.principal else "anonymous"


def auth_mode() -> str:
    return os.environ.get("API_AUTH_MODE", "bearer").strip().lower() or "bearer"


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _iam_principal(event: dict[str, Any]) -> Principal | None:
    iam = (event.get("requestContext", {}).get("authorizer") or {}).get("iam")
    if not iam:
        return None
    return Principal(role="operator", label=str(iam.get("userArn") or iam.get("userId") or "iam"))


def _operator_token_problem(presented: str) -> str | None:
    expected = secrets.get_api_token()
    if not expected:
        return "API token not configured"
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        return "invalid bearer token"
    return None


def identify(event: dict[str, Any]) -> tuple[Principal | None, str]:
    """(principal, "") or (None, why there is none)."""
    iam_mode = auth_mode() == "iam"
    if iam_mode:
        signed = _iam_principal(event)
        if signed:
            return signed, ""
    header = _header(event, "authorization")
    if not header:
        return None, "IAM authorization required" if iam_mode else "missing Authorization header (Bearer token)"
    scheme, _, presented = header.partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        return None, "Authorization header must be 'Bearer <token>'"
    if access.looks_like_field_key(presented):
        return field_keys.authenticate(presented)
    if iam_mode:
        return None, "IAM authorization required"
    problem = _operator_token_problem(presented)
    return (None, problem) if problem else (Principal(role="operator", label="operator-token"), "")


def _request_line(event: dict[str, Any]) -> tuple[str, str]:
    http = event.get("requestContext", {}).get("http", {})
    return str(http.get("method", "GET")).upper(), event.get("rawPath") or http.get("path") or "/"


def check(event: dict[str, Any]) -> Access:
    method, path = _request_line(event)
    if is_public(path):
        return Access(None, None)  # no credential is read for public paths
    principal, problem = identify(event)
    return Access(principal, access.decide(method, path, principal, problem))
