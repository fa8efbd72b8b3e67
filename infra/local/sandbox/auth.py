"""OAuth2 of the sandbox at Sellsy's paths: client_credentials, authorization_code + PKCE S256, refresh.

Tokens expire for real (`expires_in`), refresh tokens rotate (a used one is dead), and a
`single_login` client revokes all earlier access tokens whenever it gets a new one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from infra.local.sandbox.http import Request, Response


@dataclass
class Client:
    client_id: str
    client_secret: str
    kind: str  # personal (client_credentials) or private (authorization_code)
    single_login: bool = False


@dataclass
class Grant:
    client_id: str
    expires_at: float
    user_id: int = 1
    scopes: str = ""


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def response(self) -> Response:
        return Response.json(self.status, {"error": self.error, "error_description": self.description})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Auth:
    def __init__(self, seed: int, corp_id: int, ttl: int, refresh_ttl: int, single_login: bool) -> None:
        self.lock = threading.Lock()
        self.corp_id = corp_id
        self.ttl = ttl
        self.refresh_ttl = refresh_ttl
        self.ttl_override: int | None = None
        self.clients = {
            "personal": Client(f"sandbox-personal-{seed}", f"sandbox-secret-{seed}-personal", "personal", single_login),
            "private": Client(f"sandbox-private-{seed}", f"sandbox-secret-{seed}-private", "private", single_login),
        }
        self.access: dict[str, Grant] = {}
        self.refresh: dict[str, Grant] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.issued = 0

    def client(self, client_id: str | None) -> Client | None:
        return next((c for c in self.clients.values() if c.client_id == client_id), None)

    # -- token endpoint --------------------------------------------------------------------------
    def token_endpoint(self, req: Request) -> Response:
        try:
            params = self._params(req)
            grant_type = params.get("grant_type")
            if grant_type == "client_credentials":
                return self._client_credentials(params)
            if grant_type == "authorization_code":
                return self._authorization_code(params)
            if grant_type == "refresh_token":
                return self._refresh(params)
            raise OAuthError(400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported")
        except OAuthError as exc:
            return exc.response()

    def _params(self, req: Request) -> dict[str, str]:
        if req.content_type == "application/json":
            body = req.json(required=False) or {}
            if not isinstance(body, dict):
                raise OAuthError(400, "invalid_request", "body must be a JSON object")
            params = {k: str(v) for k, v in body.items()}
        else:
            params = req.form()
        header = req.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError) as exc:
                raise OAuthError(401, "invalid_client", "malformed Basic credentials") from exc
            params.setdefault("client_id", user)
            params.setdefault("client_secret", password)
        return params

    def _authenticate(self, params: dict[str, str], *, secret_required: bool) -> Client:
        client = self.client(params.get("client_id"))
        if client is None:
            raise OAuthError(401, "invalid_client", "unknown client_id")
        secret = params.get("client_secret")
        if (secret_required or secret is not None) and not secrets.compare_digest(secret or "", client.client_secret):
            raise OAuthError(401, "invalid_client", "client authentication failed")
        return client

    def _client_credentials(self, params: dict[str, str]) -> Response:
        client = self._authenticate(params, secret_required=True)
        if client.kind != "personal":
            raise OAuthError(400, "unauthorized_client", "only personal clients can use client_credentials")
        return self._issue(client, with_refresh=False)

    def _authorization_code(self, params: dict[str, str]) -> Response:
        client = self._authenticate(params, secret_required=False)
        with self.lock:
            code = self.codes.pop(params.get("code", ""), None)
        if code is None or code["client_id"] != client.client_id or code["expires_at"] < time.time():
            raise OAuthError(400, "invalid_grant", "authorization code is invalid, used or expired")
        if params.get("redirect_uri") != code["redirect_uri"]:
            raise OAuthError(400, "invalid_grant", "redirect_uri does not match the authorization request")
        verifier = params.get("code_verifier", "")
        if _b64url(hashlib.sha256(verifier.encode()).digest()) != code["challenge"]:
            raise OAuthError(400, "invalid_grant", "code_verifier does not match the code_challenge")
        return self._issue(client, with_refresh=True)

    def _refresh(self, params: dict[str, str]) -> Response:
        client = self._authenticate(params, secret_required=False)
        with self.lock:
            grant = self.refresh.pop(params.get("refresh_token", ""), None)
        if grant is None or grant.client_id != client.client_id or grant.expires_at < time.time():
            raise OAuthError(400, "invalid_grant", "refresh token is invalid, already used or expired")
        return self._issue(client, with_refresh=True)

    def _issue(self, client: Client, *, with_refresh: bool) -> Response:
        ttl = self.ttl_override if self.ttl_override is not None else self.ttl
        now = time.time()
        payload = {
            "corpId": self.corp_id,
            "clientId": client.client_id,
            "iat": int(now),
            "exp": int(now + ttl),
            "jti": secrets.token_hex(8),
        }
        token = ".".join(
            (
                _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode()),
                _b64url(json.dumps(payload).encode()),
                _b64url(secrets.token_bytes(16)),
            )
        )
        body: dict[str, Any] = {"token_type": "Bearer", "expires_in": ttl, "access_token": token}
        with self.lock:
            if client.single_login:
                for key in [k for k, g in self.access.items() if g.client_id == client.client_id]:
                    del self.access[key]
            self.access[token] = Grant(client.client_id, now + ttl)
            if with_refresh:
                refresh = secrets.token_urlsafe(32)
                self.refresh[refresh] = Grant(client.client_id, now + self.refresh_ttl)
                body["refresh_token"] = refresh
            self.issued += 1
        return Response.json(200, body, {"Cache-Control": "no-store"})

    # -- authorize endpoint ----------------------------------------------------------------------
    def authorize_endpoint(self, req: Request) -> Response:
        """Approves the configured test user at once and redirects with `code` (and `state`)."""
        client = self.client(req.arg("client_id"))
        redirect_uri = req.arg("redirect_uri")
        if client is None or not redirect_uri:
            return Response.json(
                400, {"error": "invalid_request", "error_description": "unknown client or no redirect_uri"}
            )
        if req.arg("response_type") != "code":
            return Response.json(400, {"error": "unsupported_response_type", "error_description": "use code"})
        challenge = req.arg("code_challenge")
        if not challenge or req.arg("code_challenge_method") != "S256":
            return Response.json(400, {"error": "invalid_request", "error_description": "PKCE S256 is required"})
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {
                "client_id": client.client_id,
                "redirect_uri": redirect_uri,
                "challenge": challenge,
                "expires_at": time.time() + 600,
            }
        query = {"code": code}
        if req.arg("state") is not None:
            query["state"] = req.arg("state") or ""
        separator = "&" if "?" in redirect_uri else "?"
        return Response(302, b"", {"Location": f"{redirect_uri}{separator}{urlencode(query)}"})

    # -- bearer check ----------------------------------------------------------------------------
    def check_bearer(self, req: Request) -> Grant | None:
        header = req.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        with self.lock:
            grant = self.access.get(header[7:].strip())
        if grant is None or grant.expires_at <= time.time():
            return None
        return grant

    def expire_all(self) -> int:
        with self.lock:
            count = len(self.access)
            for grant in self.access.values():
                grant.expires_at = 0
        return count
