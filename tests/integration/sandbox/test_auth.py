"""OAuth2 flows of the sandbox: client_credentials, authorization_code + PKCE, refresh rotation, expiry,
single_login, and 401 on missing/unknown/expired tokens."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from urllib.parse import parse_qs, urlparse

import httpx

from infra.local.sandbox import Sandbox


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _authorize(sb: Sandbox, challenge: str, redirect: str = "http://127.0.0.1/callback") -> str:
    response = httpx.get(
        sb.authorize_url,
        params={
            "response_type": "code",
            "client_id": sb.auth_code_client_id,
            "redirect_uri": redirect,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "xyz",
        },
    )
    assert response.status_code == 302
    query = parse_qs(urlparse(response.headers["location"]).query)
    assert query["state"] == ["xyz"]
    return query["code"][0]


def test_client_credentials_token_works_and_has_real_expiry(sandbox: Sandbox) -> None:
    response = httpx.post(
        sandbox.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        },
    )
    body = response.json()
    assert response.status_code == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert "refresh_token" not in body
    api = httpx.get(f"{sandbox.api_url}/taxes", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert api.status_code == 200


def test_wrong_secret_and_unknown_grant_are_rejected(sandbox: Sandbox) -> None:
    bad = httpx.post(
        sandbox.token_url,
        json={"grant_type": "client_credentials", "client_id": sandbox.client_id, "client_secret": "nope"},
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    odd = httpx.post(sandbox.token_url, json={"grant_type": "password", "client_id": sandbox.client_id})
    assert odd.status_code == 400


def test_missing_unknown_and_expired_tokens_get_401(sandbox_factory) -> None:
    sb = sandbox_factory(token_ttl_seconds=1)
    assert httpx.get(f"{sb.api_url}/taxes").status_code == 401
    assert httpx.get(f"{sb.api_url}/taxes", headers={"Authorization": "Bearer forged"}).status_code == 401
    token = sb.access_token()
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{sb.api_url}/taxes", headers=headers).status_code == 200
    time.sleep(1.2)
    expired = httpx.get(f"{sb.api_url}/taxes", headers=headers)
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == 401


def test_authorization_code_with_pkce_and_refresh_rotation(sandbox: Sandbox) -> None:
    verifier, challenge = _pkce()
    code = _authorize(sandbox, challenge)
    wrong = httpx.post(
        sandbox.token_url,
        json={
            "grant_type": "authorization_code",
            "client_id": sandbox.auth_code_client_id,
            "redirect_uri": "http://127.0.0.1/callback",
            "code_verifier": "wrong-verifier",
            "code": code,
        },
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    code = _authorize(sandbox, challenge)
    tokens = httpx.post(
        sandbox.token_url,
        json={
            "grant_type": "authorization_code",
            "client_id": sandbox.auth_code_client_id,
            "redirect_uri": "http://127.0.0.1/callback",
            "code_verifier": verifier,
            "code": code,
        },
    ).json()
    assert tokens["refresh_token"] and tokens["access_token"]
    reused_code = httpx.post(
        sandbox.token_url,
        json={
            "grant_type": "authorization_code",
            "client_id": sandbox.auth_code_client_id,
            "redirect_uri": "http://127.0.0.1/callback",
            "code_verifier": verifier,
            "code": code,
        },
    )
    assert reused_code.status_code == 400
    refresh = {
        "grant_type": "refresh_token",
        "client_id": sandbox.auth_code_client_id,
        "client_secret": sandbox.auth_code_client_secret,
        "refresh_token": tokens["refresh_token"],
    }
    rotated = httpx.post(sandbox.token_url, json=refresh)
    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != tokens["refresh_token"]
    again = httpx.post(sandbox.token_url, json=refresh)  # the old refresh token died when used
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_single_login_revokes_earlier_tokens(sandbox_factory) -> None:
    sb = sandbox_factory(single_login=True)
    first = sb.access_token()
    second = sb.access_token()
    assert httpx.get(f"{sb.api_url}/taxes", headers={"Authorization": f"Bearer {first}"}).status_code == 401
    assert httpx.get(f"{sb.api_url}/taxes", headers={"Authorization": f"Bearer {second}"}).status_code == 200
