"""Operator sign-in in AWS: the Cognito hosted UI, authorization code with PKCE, verified by the function.

Why not API Gateway's JWT authorizer on the console pages: an HTTP API JWT authorizer reads its token
from a request header or query parameter only, never from a cookie, and a browser following a link
sends no ``Authorization`` header. So the console routes are open at API Gateway (``Authorizer: NONE``)
and the function checks every request itself:

1. ``/console/auth/start`` creates a state, a nonce and a PKCE verifier, keeps them in a short-lived
   signed cookie (SameSite=Lax: it must come back on Cognito's cross-site redirect) and sends the
   browser to the hosted UI with the S256 challenge;
2. ``/console/auth/callback`` checks the state, exchanges the code with the verifier at the pool's
   token endpoint (server to server), verifies the ID token's RS256 signature against the pool's JWKS
   and its issuer, audience, use, expiry and nonce, then opens the console's own session cookie.
Configuration (template.yaml): ``CONSOLE_AUTH_DOMAIN`` (hosted UI base URL), ``CONSOLE_AUTH_CLIENT_ID``,
``CONSOLE_AUTH_ISSUER`` (``https://cognito-idp.{region}.amazonaws.com/{pool id}``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets as token_source
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from bridge.api.auth import auth_mode
from bridge.console import layout, session, session_jwt, session_views
from bridge.console.i18n import translate
from bridge.console.layout import ConsoleRequest
from bridge.observability import logger

AUTH_COOKIE = "console_auth"
AUTH_COOKIE_PATH = f"{layout.ROOT}/auth"
AUTH_SECONDS = 600
CALLBACK_PATH = f"{layout.ROOT}/auth/callback"
HTTP_TIMEOUT = httpx.Timeout(5.0, connect=3.0)
_jwks_cache: dict[str, list[dict[str, Any]]] = {}


@dataclass(frozen=True)
class CognitoConfig:
    domain: str
    client_id: str
    issuer: str

    @classmethod
    def from_env(cls) -> CognitoConfig | None:
        domain = os.environ.get("CONSOLE_AUTH_DOMAIN", "").rstrip("/")
        client_id = os.environ.get("CONSOLE_AUTH_CLIENT_ID", "")
        issuer = os.environ.get("CONSOLE_AUTH_ISSUER", "").rstrip("/")
        return cls(domain, client_id, issuer) if domain and client_id and issuer else None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def pkce_challenge(verifier: str) -> str:
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def _sign(payload: dict[str, Any], key: bytes) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{body}.{_b64(hmac.new(key, b'auth:' + body.encode(), hashlib.sha256).digest())}"


def _unsign(value: str | None, key: bytes) -> dict[str, Any] | None:
    if not value or value.count(".") != 1:
        return None
    body, signature = value.split(".")
    expected = _b64(hmac.new(key, b"auth:" + body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    try:
        payload = json.loads(session_jwt.b64url_decode(body))
    except (ValueError, session_jwt.InvalidToken):
        return None
    if not isinstance(payload, dict) or int(payload.get("exp", 0)) < time.time():
        return None
    return payload


def _auth_cookie(request: ConsoleRequest, value: str, max_age: int) -> Cookie:
    return Cookie(
        AUTH_COOKIE,
        value,
        path=AUTH_COOKIE_PATH,
        secure=request.secure,
        http_only=True,
        max_age=max_age,
        same_site=SameSite.LAX_MODE,
    )


def _not_configured(request: ConsoleRequest) -> Response:
    problem = translate(request.lang, "signin.failed", reason="sign-in is not configured on this stack")
    return session_views.signin_form(request, problem=problem, status=503)


def start(request: ConsoleRequest) -> Response:
    """GET /console/auth/start: off to the hosted UI, with state, nonce and PKCE challenge."""
    config = CognitoConfig.from_env()
    if auth_mode() == "bearer" or config is None:
        return _not_configured(request) if auth_mode() != "bearer" else layout.redirect(f"{layout.ROOT}/signin")
    verifier = token_source.token_urlsafe(48)
    state = token_source.token_urlsafe(24)
    nonce = token_source.token_urlsafe(24)
    key = session.session_key(auth_mode())
    payload = {
        "state": state,
        "verifier": verifier,
        "nonce": nonce,
        "next": layout.safe_next(request.value("next")),
        "exp": int(time.time()) + AUTH_SECONDS,
    }
    request.cookies_to_set.append(_auth_cookie(request, _sign(payload, key), AUTH_SECONDS))
    query = urlencode(
        {
            "response_type": "code",
            "client_id": config.client_id,
            "redirect_uri": request.origin + CALLBACK_PATH,
            "scope": "openid email",
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    return layout.redirect(f"{config.domain}/oauth2/authorize?{query}", status=302)


def _jwks(issuer: str, *, refresh: bool = False) -> list[dict[str, Any]]:
    if refresh or issuer not in _jwks_cache:
        answer = httpx.get(f"{issuer}/.well-known/jwks.json", timeout=HTTP_TIMEOUT)
        answer.raise_for_status()
        _jwks_cache[issuer] = list(answer.json().get("keys") or [])
    return _jwks_cache[issuer]


def _exchange(config: CognitoConfig, code: str, verifier: str, redirect_uri: str) -> str:
    answer = httpx.post(
        f"{config.domain}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": config.client_id,
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        timeout=HTTP_TIMEOUT,
    )
    if answer.status_code != 200:
        raise session_jwt.InvalidToken(f"the token endpoint answered {answer.status_code}")
    token = answer.json().get("id_token")
    if not isinstance(token, str):
        raise session_jwt.InvalidToken("no ID token in the answer")
    return token


def verified_claims(config: CognitoConfig, token: str, nonce: str) -> dict[str, Any]:
    def verify(keys: list[dict[str, Any]]) -> dict[str, Any]:
        return session_jwt.verify_id_token(token, keys, issuer=config.issuer, client_id=config.client_id, nonce=nonce)

    try:
        return verify(_jwks(config.issuer))
    except session_jwt.InvalidToken as exc:
        if "unknown key" not in str(exc):
            raise
        return verify(_jwks(config.issuer, refresh=True))  # the pool rotated its keys since we cached them


def callback(request: ConsoleRequest) -> Response:
    """GET /console/auth/callback: Cognito came back with a code (or an error)."""
    config = CognitoConfig.from_env()
    if auth_mode() == "bearer" or config is None:
        return _not_configured(request) if auth_mode() != "bearer" else layout.redirect(f"{layout.ROOT}/signin")
    key = session.session_key(auth_mode())
    pending = _unsign(request.cookies.get(AUTH_COOKIE), key)
    request.cookies_to_set.append(_auth_cookie(request, "", 0))

    def failed(reason: str) -> Response:
        logger.info("console sign-in refused", extra={"reason": reason})
        return session_views.signin_form(
            request, problem=translate(request.lang, "signin.failed", reason=reason), status=400
        )

    if pending is None:
        return failed("the sign-in expired or was started in another browser")
    if request.query.get("error"):
        return failed("Cognito refused the sign-in")
    state, code = request.query.get("state", ""), request.query.get("code", "")
    if not state or not hmac.compare_digest(state.encode(), str(pending["state"]).encode()):
        return failed("the answer does not belong to this sign-in")
    if not code:
        return failed("Cognito sent no code")
    try:
        token = _exchange(config, code, str(pending["verifier"]), request.origin + CALLBACK_PATH)
        claims = verified_claims(config, token, str(pending["nonce"]))
    except session_jwt.InvalidToken as exc:
        return failed(str(exc))
    except httpx.HTTPError:
        return failed("Cognito could not be reached")
    subject = str(claims.get("email") or claims.get("cognito:username") or claims.get("sub"))
    return session_views.open_session(request, subject, layout.safe_next(str(pending["next"])), via_page=True)


def logout_url(request: ConsoleRequest) -> str | None:
    config = CognitoConfig.from_env()
    if config is None:
        return None
    back = f"{request.origin}{layout.ROOT}/signin"
    return f"{config.domain}/logout?{urlencode({'client_id': config.client_id, 'logout_uri': back})}"
