"""JSON secrets in Secrets Manager, the only place credentials and signing keys live.

Names: ``{SECRETS_PREFIX}/accounts/{account_id}/{kind}``; kinds used today:
- ``sellsy``: Sellsy credentials (``sellsy.auth.Credentials``), read and written only through
  ``sellsy.token_cache.TokenStore`` (it coordinates renewals);
- ``webhook``: ``{"sign_key": "...", "previous": "..."?}`` (previous kept during a rotation);
- ``oauth-pending/{state}``: a pending authorization-code connection (PKCE verifier), short-lived.
The operator token of the embedded default is ``{SECRETS_PREFIX}/api-token`` (plain string or
``{"token": ...}``); in AWS operators sign with IAM and no function may read or write it.
Field keys are not secrets kept here: only their hash is stored (``adapters.field_keys_repo``).

Reads on hot paths go through Powertools Parameters (cached per execution environment).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from bridge.adapters.aws import client
from bridge.settings import get_settings

SELLSY = "sellsy"
WEBHOOK = "webhook"
OAUTH_PENDING = "oauth-pending"
OAUTH_APP = "app/sellsy-oauth-client"
# A rotated signing key must reach the webhook function within a minute; credentials change rarely.
SIGNING_KEY_MAX_AGE = 60
DEFAULT_MAX_AGE = 300


_current: list[tuple[Any, SecretsProvider]] = []


def _provider() -> SecretsProvider:
    """One provider (and cache) per boto3 client: a client reset (new endpoint) starts a fresh cache."""
    sm = client("secretsmanager")
    if not _current or _current[0][0] is not sm:
        _current[:] = [(sm, SecretsProvider(boto3_client=sm))]
    return _current[0][1]


def reset_cache() -> None:
    """Forget cached values (tests write secrets directly, behind the cache's back)."""
    _current.clear()


def account_secret_name(account_id: str, kind: str) -> str:
    return f"{get_settings().secrets_prefix}/accounts/{account_id}/{kind}"


def api_token_secret_name() -> str:
    settings = get_settings()
    return settings.local_api_token_secret or f"{settings.secrets_prefix}/api-token"


def _missing(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc.__context__
    code = cause.response.get("Error", {}).get("Code") if isinstance(cause, ClientError) else None
    return code in {"ResourceNotFoundException", "InvalidRequestException"} or "ResourceNotFound" in str(exc)


def read_json(name: str, *, max_age: int = DEFAULT_MAX_AGE, force: bool = False) -> dict[str, Any] | None:
    """The secret's JSON object, or None when it doesn't exist (or was deleted)."""
    try:
        value = _provider().get(name, max_age=max_age, transform="json", force_fetch=force)
    except GetParameterError as exc:
        if _missing(exc):
            return None
        raise
    return value if isinstance(value, dict) else None


def read_text(name: str, *, max_age: int = DEFAULT_MAX_AGE) -> str | None:
    try:
        value = _provider().get(name, max_age=max_age)
    except GetParameterError as exc:
        if _missing(exc):
            return None
        raise
    return value if isinstance(value, str) else None


def write_json(name: str, value: dict[str, Any], *, description: str = "sellsy-bridge") -> None:
    """Create or replace the secret (a new version), then drop this process's cached copy."""
    sm = client("secretsmanager")
    body = json.dumps(value, separators=(",", ":"))
    try:
        sm.put_secret_value(SecretId=name, SecretString=body)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        sm.create_secret(Name=name, SecretString=body, Description=description)
    _provider().clear_cache()


def delete(name: str) -> None:
    """Delete now (no recovery window): used for revoked credentials and consumed OAuth states."""
    try:
        client("secretsmanager").delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    _provider().clear_cache()


# --- typed helpers -------------------------------------------------------------------------------


def get_webhook_signing_keys(account_id: str) -> list[str]:
    """Current key first, then the previous one while a rotation is in progress (cached, ~µs warm)."""
    value = read_json(account_secret_name(account_id, WEBHOOK), max_age=SIGNING_KEY_MAX_AGE)
    if not value:
        return []
    return [k for k in (value.get("sign_key"), value.get("previous")) if isinstance(k, str) and k]


def put_webhook_signing_key(account_id: str, sign_key: str) -> None:
    """Store a new key, keeping the former one as ``previous`` so deliveries in flight still verify."""
    name = account_secret_name(account_id, WEBHOOK)
    current = read_json(name, force=True) or {}
    value: dict[str, Any] = {"sign_key": sign_key}
    if current.get("sign_key") and current["sign_key"] != sign_key:
        value["previous"] = current["sign_key"]
    write_json(name, value)


def get_oauth_app() -> tuple[str, str] | None:
    """The deployed OAuth application's (client_id, client_secret), or None while it is not filled in."""
    name = f"{get_settings().secrets_prefix}/{OAUTH_APP}"
    value = read_json(name)
    if not _has_client_id(value):  # just filled in by the operator? a cached empty copy must not hide it
        value = read_json(name, force=True)
    if not _has_client_id(value):
        return None
    assert value is not None
    client_id = str(value["client_id"])
    client_secret = value.get("client_secret")
    return client_id.strip(), client_secret.strip() if isinstance(client_secret, str) else ""


def _has_client_id(value: dict[str, Any] | None) -> bool:
    client_id = (value or {}).get("client_id")
    return isinstance(client_id, str) and bool(client_id.strip())


def get_api_token() -> str | None:
    value = read_text(api_token_secret_name())
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return value.strip() or None
    if isinstance(parsed, dict):
        token = parsed.get("token")
        return token if isinstance(token, str) and token else None
    return value.strip() or None
