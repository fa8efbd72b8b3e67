"""Operator sign-in as in AWS (``API_AUTH_MODE=iam``): the API handler on moto, a stand-in for Cognito's
hosted UI endpoints on loopback (token endpoint with PKCE, JWKS), the real HTTP exchange between them."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bridge.console import session_cognito
from tests.fixtures.api import Answer, invoke
from tests.unit.console.jwt_keys import id_token, jwk

CLIENT_ID = "console-client"
ORIGIN = "http://127.0.0.1:9999"  # the host tests.fixtures.api.invoke sends


class FakeCognito:
    """The two endpoints of a user pool the function calls: ``/oauth2/token`` and the JWKS."""

    def __init__(self) -> None:
        self.codes: dict[str, dict[str, str]] = {}  # code -> challenge, nonce, redirect_uri
        self.token_requests: list[dict[str, str]] = []
        self.claims: dict[str, Any] = {}
        cognito = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _send(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                if self.path.endswith("/.well-known/jwks.json"):
                    return self._send(200, {"keys": [jwk("k1")]})
                return self._send(404, {})

            def do_POST(self) -> None:
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["content-length"]))).items()}
                decoded = {k.decode(): v.decode() for k, v in form.items()}  # type: ignore[attr-defined]
                cognito.token_requests.append(decoded)
                grant = cognito.codes.pop(decoded.get("code", ""), None)
                verifier = decoded.get("code_verifier", "")
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
                if not grant or challenge.decode() != grant["challenge"] or decoded["redirect_uri"] != grant["uri"]:
                    return self._send(400, {"error": "invalid_grant"})
                claims = {
                    "iss": cognito.issuer,
                    "aud": CLIENT_ID,
                    "token_use": "id",
                    "exp": 4_000_000_000,
                    "nonce": grant["nonce"],
                    "email": "ops@example.com",
                    **cognito.claims,
                }
                return self._send(200, {"id_token": id_token(claims), "access_token": "a", "token_type": "Bearer"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        host, port = self.server.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        self.issuer = f"{self.url}/pool"

    def grant(self, authorize_url: str, code: str = "code-1") -> dict[str, str]:
        """What the hosted UI does once the operator typed a valid password: a code for this request."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        self.codes[code] = {"challenge": query["code_challenge"], "nonce": query["nonce"], "uri": query["redirect_uri"]}
        return query


@pytest.fixture
def cognito(api_env: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCognito]:
    fake = FakeCognito()
    monkeypatch.setenv("API_AUTH_MODE", "iam")
    monkeypatch.setenv("CONSOLE_AUTH_DOMAIN", fake.url)
    monkeypatch.setenv("CONSOLE_AUTH_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("CONSOLE_AUTH_ISSUER", fake.issuer)
    session_cognito._jwks_cache.clear()
    yield fake
    fake.server.shutdown()
    session_cognito._jwks_cache.clear()


def cookies_of(answer: Answer) -> dict[str, str]:
    found = {}
    for line in answer.headers.get("set-cookie", "").split("\n"):
        if line:
            name, _, rest = line.partition("=")
            found[name] = rest.split(";")[0]
    return found


def get(path: str, jar: dict[str, str], **query: str) -> Answer:
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items() if v)
    return invoke("GET", path, query=query, token=None, headers={"cookie": cookie} if cookie else {})


def start(jar: dict[str, str]) -> tuple[Answer, str]:
    answer = get("/console/auth/start", jar, next="/console/accounts")
    assert answer.status == 302, answer.text
    jar.update(cookies_of(answer))
    return answer, answer.headers["location"]


def test_hosted_ui_sign_in_with_pkce_opens_a_session(cognito: FakeCognito) -> None:
    jar: dict[str, str] = {}
    assert get("/console/accounts", jar).headers["location"].startswith("/console/signin")
    page = get("/console/signin", jar)
    assert 'href="/console/auth/start?next=' in page.text and 'type="password"' not in page.text
    answer, location = start(jar)
    assert location.startswith(f"{cognito.url}/oauth2/authorize?")
    auth_cookie = answer.headers["set-cookie"]
    assert "console_auth=" in auth_cookie and "SameSite=Lax" in auth_cookie and "HttpOnly" in auth_cookie
    query = cognito.grant(location)
    assert query["code_challenge_method"] == "S256" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == f"{ORIGIN}/console/auth/callback"
    assert query["code_challenge"] not in auth_cookie  # the verifier is signed in the cookie, not shown

    back = get("/console/auth/callback", jar, code="code-1", state=query["state"])
    assert back.status == 200, back.text
    assert 'href="/console/accounts"' in back.text  # a same-site step, so the Strict cookie is sent
    jar.update(cookies_of(back))
    assert jar["console_session"] and jar["console_auth"] == ""
    assert cognito.token_requests[0]["grant_type"] == "authorization_code"
    accounts = get("/console/accounts", jar)
    assert accounts.status == 200 and "ops@example.com" in accounts.text


def test_a_callback_with_another_state_or_without_the_start_cookie_is_refused(cognito: FakeCognito) -> None:
    jar: dict[str, str] = {}
    _, location = start(jar)
    query = cognito.grant(location)
    forged = get("/console/auth/callback", jar, code="code-1", state="attacker-state")
    assert forged.status == 400 and "console_session" not in cookies_of(forged)
    no_cookie = get("/console/auth/callback", {}, code="code-1", state=query["state"])
    assert no_cookie.status == 400 and "console_session" not in cookies_of(no_cookie)
    assert cognito.token_requests == []  # nothing was exchanged


def test_an_id_token_for_another_client_opens_no_session(cognito: FakeCognito) -> None:
    cognito.claims = {"aud": "someone-elses-client"}
    jar: dict[str, str] = {}
    _, location = start(jar)
    query = cognito.grant(location)
    answer = get("/console/auth/callback", jar, code="code-1", state=query["state"])
    assert answer.status == 400 and "another app client" in answer.text
    assert "console_session" not in cookies_of(answer)


def test_sign_in_page_says_so_when_cognito_is_not_configured(api_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_AUTH_MODE", "iam")
    for name in ("CONSOLE_AUTH_DOMAIN", "CONSOLE_AUTH_CLIENT_ID", "CONSOLE_AUTH_ISSUER"):
        monkeypatch.delenv(name, raising=False)
    answer = get("/console/auth/start", {})
    assert answer.status == 503 and "not configured" in answer.text


def test_management_routes_still_need_iam_in_aws(cognito: FakeCognito) -> None:
    jar: dict[str, str] = {}
    _, location = start(jar)
    query = cognito.grant(location)
    jar.update(cookies_of(get("/console/auth/callback", jar, code="code-1", state=query["state"])))
    assert get("/accounts", jar).status == 401  # the console's cookie is no IAM signature
