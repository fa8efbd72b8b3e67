"""OAuth pieces without a server: PKCE, authorize URL, token answers, local renewal with rotation."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bridge.sellsy.auth import (
    AUTHORIZATION_CODE,
    CLIENT_CREDENTIALS,
    STATIC_TOKEN,
    Credentials,
    LocalTokenProvider,
    StaticTokenProvider,
    TokenEndpoint,
    authorize_url,
    new_pkce_pair,
)
from bridge.sellsy.errors import InvalidTokenResponse, NeedsReconnect, SellsyUnavailable

TOKEN_URL = "https://login.test/oauth2/access-tokens"


def endpoint(handler: Callable[[httpx.Request], httpx.Response], now: float = 10_000.0) -> TokenEndpoint:
    return TokenEndpoint(TOKEN_URL, http=httpx.Client(transport=httpx.MockTransport(handler)), clock=lambda: now)


def test_pkce_pair_uses_s256() -> None:
    pair = new_pkce_pair()
    assert 43 <= len(pair.verifier) <= 128
    digest = hashlib.sha256(pair.verifier.encode()).digest()
    assert pair.challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert new_pkce_pair().verifier != pair.verifier


def test_authorize_url_carries_the_pkce_challenge() -> None:
    url = authorize_url(
        "https://login.test/oauth2/authorization",
        client_id="cid",
        redirect_uri="https://bridge.test/callback",
        challenge="abc",
        state="s1",
    )
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert parts.path == "/oauth2/authorization"
    assert query == {
        "response_type": "code",
        "client_id": "cid",
        "redirect_uri": "https://bridge.test/callback",
        "code_challenge": "abc",
        "code_challenge_method": "S256",
        "state": "s1",
    }


def test_client_credentials_answer_becomes_a_token_set() -> None:
    seen: list[dict[str, list[str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(parse_qs(request.content.decode()))
        return httpx.Response(200, json={"token_type": "Bearer", "expires_in": 3600, "access_token": "A1"})

    tokens = endpoint(handler).client_credentials("cid", "secret")
    assert tokens.access_token == "A1"
    assert tokens.expires_at == 10_000.0 + 3600
    assert tokens.refresh_token == ""
    assert seen[0]["grant_type"] == ["client_credentials"]
    assert "A1" not in repr(tokens)


def test_invalid_grant_needs_reconnect() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "invalid_grant", "error_description": "used"})

    with pytest.raises(NeedsReconnect) as caught:
        endpoint(handler).refresh(client_id="cid", client_secret="s", refresh_token="R0")
    assert caught.value.details == {"error": "invalid_grant"}


def test_token_endpoint_errors_are_typed() -> None:
    with pytest.raises(SellsyUnavailable):
        endpoint(lambda request: httpx.Response(503, json={})).refresh(
            client_id="c", client_secret="", refresh_token="r"
        )
    with pytest.raises(InvalidTokenResponse):
        endpoint(lambda request: httpx.Response(200, json={"token_type": "Bearer"})).client_credentials("c", "s")


def test_refresh_is_not_resent_after_a_lost_answer() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ReadError("connection reset")

    with pytest.raises(SellsyUnavailable):
        endpoint(handler).refresh(client_id="c", client_secret="s", refresh_token="R0")
    assert len(calls) == 1  # the rotating refresh token may already be consumed


def test_local_provider_rotates_refresh_token_and_reports_it() -> None:
    issued = iter(["A2", "A3"])
    refresh_tokens = iter(["R2", "R3"])
    forms: list[dict[str, list[str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        forms.append(parse_qs(request.content.decode()))
        return httpx.Response(
            200, json={"access_token": next(issued), "refresh_token": next(refresh_tokens), "expires_in": 3600}
        )

    stored: list[Credentials] = []
    now = [10_000.0]
    credentials = Credentials(
        grant_type=AUTHORIZATION_CODE, client_id="cid", access_token="A1", refresh_token="R1", expires_at=10_100.0
    )
    provider = LocalTokenProvider(endpoint(handler), credentials, clock=lambda: now[0], on_renewed=stored.append)
    assert provider.token() == "A2"  # expires within the safety margin: renewed first
    assert forms[0]["refresh_token"] == ["R1"]
    assert stored[-1].refresh_token == "R2"
    assert provider.refresh("A2") == "A3"
    assert forms[1]["refresh_token"] == ["R2"]  # the rotated one, never the old one
    assert provider.refresh("A2") == "A3"  # a stale rejection does not renew again
    assert provider.renewals == 2


def test_credentials_round_trip_and_freshness() -> None:
    credentials = Credentials(
        grant_type=CLIENT_CREDENTIALS, client_id="c", client_secret="s3cr3t-value", expires_at=1000.0
    )
    assert Credentials.from_dict(credentials.to_dict()) == credentials
    assert "s3cr3t-value" not in repr(credentials)
    assert not credentials.is_fresh(0.0)  # no access token yet
    static = Credentials(grant_type=STATIC_TOKEN, access_token="pasted")
    assert static.is_fresh(1e12)


def test_static_provider_cannot_renew() -> None:
    provider = StaticTokenProvider("pasted")
    assert provider.token() == "pasted"
    with pytest.raises(NeedsReconnect):
        provider.refresh("pasted")
