"""Who may call which route: roles, the field routes, and field-key text. Pure, no I/O.

Roles:
- **operator**: IAM (SigV4) in AWS, the local operator token in the embedded default. Reaches every route.
- **field**: a field key, issued for one account. Reaches the field routes of that account only.
Public paths (webhooks, OAuth callback, the OpenAPI document) and the browser console (``/console``,
which runs its own session sign-in) need nothing at this gate.

``FIELD_ROUTES`` is the one list of field routes: the gate, the OpenAPI document and the template
(API Gateway lets these through without IAM; a test compares them) all read it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Literal

# (method, path as API Gateway writes it). The field app reads interventions and customers and writes
# completions, report uploads and customer changes; everything else is management.
FIELD_ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", "/accounts/{account_id}/interventions"),
    ("GET", "/accounts/{account_id}/interventions/{intervention_id}"),
    ("GET", "/accounts/{account_id}/customers/{customer_id}"),
    ("POST", "/accounts/{account_id}/interventions/{intervention_id}/report-upload-url"),
    ("POST", "/accounts/{account_id}/interventions/{intervention_id}/complete"),
    ("PATCH", "/accounts/{account_id}/customers/{customer_id}"),
)
PUBLIC_PATHS = frozenset({"/openapi.json", "/oauth/callback"})
PUBLIC_PREFIXES = ("/webhooks/",)
CONSOLE_PATH = "/console"  # the console's own router checks its session; the gate lets it through

# A field key reads "sbfk.<account id>.<key id>.<secret>": the account and key id make the lookup one
# read; the secret is 32 random bytes, so a plain SHA-256 of the whole key is a sound verifier (no
# slow hash needed: there is nothing to guess).
FIELD_KEY_PREFIX = "sbfk"
KEY_ID_PATTERN = r"^fk[0-9a-f]{12}$"
_KEY_ID = re.compile(KEY_ID_PATTERN)
_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")


def _template_regex(template: str) -> re.Pattern[str]:
    parts = [f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in template.split("/")]
    return re.compile("^" + "/".join(parts) + "$")


_FIELD_MATCHERS = tuple((method, _template_regex(path)) for method, path in FIELD_ROUTES)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES) or is_console(path)


def is_console(path: str) -> bool:
    return path == CONSOLE_PATH or path.startswith(CONSOLE_PATH + "/")


def field_route_account(method: str, path: str) -> str | None:
    """The account a field route addresses, or None when (method, path) is not a field route."""
    for route_method, pattern in _FIELD_MATCHERS:
        if route_method == method.upper():
            match = pattern.match(path)
            if match:
                return match.group("account_id")
    return None


def is_field_operation(method: str, api_path: str) -> bool:
    """For documents written with API Gateway templates (the OpenAPI document, the template)."""
    return (method.upper(), api_path) in FIELD_ROUTES


# --- principals and the decision ----------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    role: Literal["operator", "field"]
    label: str  # loggable: an IAM ARN, "operator-token", or "field-key:<account>/<key id>"
    account_id: str | None = None  # field keys only
    key_id: str | None = None


@dataclass(frozen=True)
class Refusal:
    status: int  # 401: who are you?  403: known, but not allowed here
    code: str
    message: str  # never holds a secret


def decide(method: str, path: str, principal: Principal | None, problem: str | None = None) -> Refusal | None:
    """None when ``principal`` may call (method, path); else why not. ``problem`` says why there is none."""
    if is_public(path):
        return None
    if principal is None:
        return Refusal(401, "unauthorized", problem or "credentials required")
    if principal.role == "operator":
        return None
    addressed = field_route_account(method, path)
    if addressed is None:
        return Refusal(403, "forbidden", "a field key reaches only the field routes; this route is for operators")
    if addressed != principal.account_id:
        # Same answer whether the other account exists or not: nothing about it leaks.
        return Refusal(403, "forbidden", f"this field key is for account {principal.account_id!r} only")
    return None


# --- field keys ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PresentedKey:
    account_id: str
    key_id: str
    digest: str  # SHA-256 hex of the whole key text


def looks_like_field_key(token: str) -> bool:
    return token.startswith(FIELD_KEY_PREFIX + ".")


def new_key_id() -> str:
    return "fk" + secrets.token_hex(6)


def new_field_key(account_id: str, key_id: str) -> str:
    return f"{FIELD_KEY_PREFIX}.{account_id}.{key_id}.{secrets.token_urlsafe(32)}"


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_field_key(token: str) -> PresentedKey | None:
    """The key's parts, or None when the text is not shaped like a field key."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != FIELD_KEY_PREFIX:
        return None
    _, account_id, key_id, secret = parts
    if not (_ACCOUNT_ID.match(account_id) and _KEY_ID.match(key_id) and _SECRET.match(secret)):
        return None
    return PresentedKey(account_id=account_id, key_id=key_id, digest=key_digest(token))


def digest_matches(presented: PresentedKey, stored_digest: str) -> bool:
    return hmac.compare_digest(presented.digest.encode(), stored_digest.encode())
