"""Sellsy OAuth2: token endpoint calls, PKCE, and the token providers the client asks for a bearer token.

Grants: client credentials (personal client, no refresh token), authorization code with PKCE (refresh
token rotated on every refresh), and a static access token pasted by a user. A provider answers
``token()`` and, after a 401, ``refresh(rejected)``; a provider that cannot get a working token raises
``NeedsReconnect``. Tokens are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx

from bridge.sellsy.errors import InvalidTokenResponse, NeedsReconnect, SellsyUnavailable

# A token is renewed this long before Sellsy says it expires (clock skew, long calls).
EXPIRY_MARGIN_SECONDS = 120.0

CLIENT_CREDENTIALS = "client_credentials"
AUTHORIZATION_CODE = "authorization_code"
STATIC_TOKEN = "static"  # noqa: S105 - a grant name, not a secret. An access token pasted by a user: no way to renew it


@dataclass(frozen=True)
class Credentials:
    """What is stored per account (in Secrets Manager only): how to get tokens, and the current ones."""

    grant_type: str
    client_id: str = ""
    client_secret: str = ""
    access_token: str = ""
    refresh_token: str = ""
    expires_at: float = 0.0  # epoch seconds; 0 = unknown (static tokens)
    redirect_uri: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Credentials:
        known = {name: data[name] for name in cls.__dataclass_fields__ if data.get(name) is not None}
        if "expires_at" in known:
            known["expires_at"] = float(known["expires_at"])
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def is_fresh(self, now: float, margin: float = EXPIRY_MARGIN_SECONDS) -> bool:
        if not self.access_token:
            return False
        if self.grant_type == STATIC_TOKEN and not self.expires_at:
            return True
        return now < self.expires_at - margin

    def with_tokens(self, tokens: TokenSet) -> Credentials:
        return replace(
            self,
            access_token=tokens.access_token,
            # Rotation: keep the new refresh token; client credentials answers carry none.
            refresh_token=tokens.refresh_token or self.refresh_token,
            expires_at=tokens.expires_at,
        )

    def __repr__(self) -> str:  # never print secrets by accident
        return f"Credentials(grant_type={self.grant_type!r}, client_id={self.client_id!r}, ...)"


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    expires_at: float
    refresh_token: str = ""

    def __repr__(self) -> str:
        return f"TokenSet(expires_at={self.expires_at!r}, ...)"


@dataclass(frozen=True)
class PkcePair:
    verifier: str
    challenge: str


def new_pkce_pair() -> PkcePair:
    """RFC 7636 S256: a 64-char verifier and its base64url SHA-256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return PkcePair(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


def authorize_url(authorize_endpoint: str, *, client_id: str, redirect_uri: str, challenge: str, state: str) -> str:
    """The URL a user opens to grant access (authorization code + PKCE)."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
        }
    )
    return f"{authorize_endpoint}?{query}"


class TokenEndpoint:
    """Calls to ``/oauth2/access-tokens`` (form-encoded, the OAuth2 standard encoding)."""

    def __init__(
        self,
        token_url: str,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token_url = token_url
        self._http = http or httpx.Client(timeout=httpx.Timeout(15.0, connect=5.0))
        self._clock = clock

    def client_credentials(self, client_id: str, client_secret: str) -> TokenSet:
        form = {"grant_type": CLIENT_CREDENTIALS, "client_id": client_id, "client_secret": client_secret}
        return self._request(form, retry_transport=True)

    def exchange_code(
        self, *, client_id: str, client_secret: str, code: str, verifier: str, redirect_uri: str
    ) -> TokenSet:
        form = {
            "grant_type": AUTHORIZATION_CODE,
            "client_id": client_id,
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": redirect_uri,
        }
        if client_secret:
            form["client_secret"] = client_secret
        return self._request(form, retry_transport=False)

    def refresh(self, *, client_id: str, client_secret: str, refresh_token: str) -> TokenSet:
        form = {"grant_type": "refresh_token", "client_id": client_id, "refresh_token": refresh_token}
        if client_secret:
            form["client_secret"] = client_secret
        # A lost answer may have consumed the (rotating) refresh token: only retry if never sent.
        return self._request(form, retry_transport=False)

    def _request(self, form: dict[str, str], *, retry_transport: bool, attempts: int = 3) -> TokenSet:
        for attempt in range(1, attempts + 1):
            try:
                response = self._http.post(self.token_url, data=form, headers={"Accept": "application/json"})
            except httpx.ConnectError as exc:  # never reached the server: always safe to retry
                if attempt == attempts:
                    raise SellsyUnavailable(f"token endpoint unreachable: {type(exc).__name__}") from exc
            except httpx.TransportError as exc:
                if not retry_transport or attempt == attempts:
                    raise SellsyUnavailable(f"token request failed: {type(exc).__name__}") from exc
            else:
                if response.status_code >= 500 and retry_transport and attempt < attempts:
                    continue
                return self._parse(response)
            time.sleep(0.2 * attempt)
        raise SellsyUnavailable("token endpoint unreachable")  # pragma: no cover - loop always returns/raises

    def _parse(self, response: httpx.Response) -> TokenSet:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code in (400, 401, 403):
            code = str(body.get("error") or "") if isinstance(body, dict) else ""
            # invalid_grant / invalid_client: the stored credentials are dead; a human must reconnect.
            raise NeedsReconnect(
                f"Sellsy refused the token request ({code or response.status_code})",
                status=response.status_code,
                details={"error": code} if code else None,
            )
        if response.status_code >= 500:
            raise SellsyUnavailable(f"token endpoint answered {response.status_code}", status=response.status_code)
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            raise InvalidTokenResponse("token endpoint answered no access token", status=response.status_code)
        expires_in = float(body.get("expires_in") or 3600)
        return TokenSet(
            access_token=str(body["access_token"]),
            expires_at=self._clock() + expires_in,
            refresh_token=str(body.get("refresh_token") or ""),
        )


def renew(endpoint: TokenEndpoint, credentials: Credentials) -> Credentials:
    """Get a new access token for stored credentials (one Sellsy call), or raise ``NeedsReconnect``."""
    if credentials.grant_type == CLIENT_CREDENTIALS:
        tokens = endpoint.client_credentials(credentials.client_id, credentials.client_secret)
    elif credentials.grant_type == AUTHORIZATION_CODE:
        if not credentials.refresh_token:
            raise NeedsReconnect("no refresh token stored for this account")
        tokens = endpoint.refresh(
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
            refresh_token=credentials.refresh_token,
        )
    else:
        raise NeedsReconnect("the pasted access token expired or was revoked")
    return credentials.with_tokens(tokens)


class TokenProvider(Protocol):
    def token(self) -> str:
        """A bearer token believed valid (renewed first when close to expiry)."""
        ...

    def refresh(self, rejected: str) -> str:
        """Called after Sellsy answered 401 to ``rejected``: return a different token or raise."""
        ...


class StaticTokenProvider:
    """A token pasted by a user: used as is; a 401 means the user must paste a new one."""

    def __init__(self, access_token: str) -> None:
        self._token = access_token

    def token(self) -> str:
        return self._token

    def refresh(self, rejected: str) -> str:
        raise NeedsReconnect("the pasted access token was rejected by Sellsy", status=401)


class LocalTokenProvider:
    """Renews tokens in this process only (tests, scripts, a single worker).

    Production Lambdas use ``token_cache.SharedTokenProvider`` so that many workers share one token.
    ``on_renewed`` receives the new credentials (e.g. to store a rotated refresh token).
    """

    def __init__(
        self,
        endpoint: TokenEndpoint,
        credentials: Credentials,
        *,
        clock: Callable[[], float] = time.time,
        on_renewed: Callable[[Credentials], None] | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._credentials = credentials
        self._clock = clock
        self._on_renewed = on_renewed
        self._lock = threading.Lock()
        self.renewals = 0

    @property
    def credentials(self) -> Credentials:
        return self._credentials

    def token(self) -> str:
        with self._lock:
            if not self._credentials.is_fresh(self._clock()):
                self._renew()
            return self._credentials.access_token

    def refresh(self, rejected: str) -> str:
        with self._lock:
            if self._credentials.access_token == rejected:
                self._renew()
            return self._credentials.access_token

    def _renew(self) -> None:
        self._credentials = renew(self._endpoint, self._credentials)
        self.renewals += 1
        if self._on_renewed is not None:
            self._on_renewed(self._credentials)
