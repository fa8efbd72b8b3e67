"""Who may call the management API, checked before any routing or validation.

- ``API_AUTH_MODE=iam`` (AWS): API Gateway already verified the SigV4 signature; the event must carry
  the IAM authorizer context, otherwise the route was deployed without auth and we refuse.
- ``API_AUTH_MODE=bearer`` (default, local): ``Authorization: Bearer <token>`` compared in constant
  time with the token stored in Secrets Manager (``{SECRETS_PREFIX}/api-token``).
Public paths (OAuth callback, the OpenAPI document, webhooks) skip the check.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from bridge.adapters import secrets

PUBLIC_PATHS = frozenset({"/openapi.json", "/oauth/callback"})
PUBLIC_PREFIXES = ("/webhooks/",)


def auth_mode() -> str:
    return os.environ.get("API_AUTH_MODE", "bearer").strip().lower() or "bearer"


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def authentication_problem(event: dict[str, Any]) -> str | None:
    """None when the caller is authenticated (or the path is public), else why not (no secret inside)."""
    path = event.get("rawPath") or event.get("requestContext", {}).get("http", {}).get("path") or "/"
    if is_public(path):
        return None
    if auth_mode() == "iam":
        iam = (event.get("requestContext", {}).get("authorizer") or {}).get("iam")
        return None if iam else "IAM authorization required"
    header = _header(event, "authorization")
    if not header:
        return "missing Authorization header (Bearer token)"
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return "Authorization header must be 'Bearer <token>'"
    expected = secrets.get_api_token()
    if not expected:
        return "API token not configured"
    if not hmac.compare_digest(presented.strip().encode(), expected.encode()):
        return "invalid bearer token"
    return None


def caller(event: dict[str, Any]) -> str:
    """A loggable caller identity (IAM user ARN, or 'bearer' locally); never the token."""
    iam = (event.get("requestContext", {}).get("authorizer") or {}).get("iam") or {}
    return str(iam.get("userArn") or iam.get("userId") or ("bearer" if auth_mode() == "bearer" else "anonymous"))
