"""Call the real API handler with API Gateway v2 events, on the moto server (``aws`` fixture)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest

from infra.local.gateway import build_event
from infra.local.lambda_context import LocalContext

API_TOKEN = "local-test-token-0123456789abcdef"
_token = [API_TOKEN]


def api_token() -> str:
    """The token the API accepts in this test (a running stack's own token, if it stored one)."""
    return _token[0]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def error(self) -> dict[str, Any]:
        body = self.json
        assert set(body) == {"error"}, body
        assert {"code", "message", "details"} <= set(body["error"]), body
        return dict(body["error"])


Call = Callable[..., Answer]


def reset_app_caches() -> None:
    from bridge.adapters import secrets
    from bridge.sellsy import factory

    secrets.reset_cache()
    factory.reset()


@pytest.fixture
def api_env(aws_clean: Any) -> Iterator[Any]:
    # A running stack re-stores its token after every reset: use it rather than replace it, so the
    # stack's own tests keep working after ours.
    sm = aws_clean.client("secretsmanager")
    name = f"{aws_clean.env['SECRETS_PREFIX']}/api-token"
    try:
        _token[0] = sm.get_secret_value(SecretId=name)["SecretString"]
    except sm.exceptions.ResourceNotFoundException:
        sm.create_secret(Name=name, SecretString=API_TOKEN)
        _token[0] = API_TOKEN
    reset_app_caches()
    yield aws_clean
    reset_app_caches()


def invoke(
    method: str,
    path: str,
    *,
    json_body: Any = None,
    body: bytes | str | None = None,
    query: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    token: str | None = "",
    event_hook: Callable[[dict[str, Any]], None] | None = None,
) -> Answer:
    from bridge.handlers.api import lambda_handler
    from infra.local.gateway import response_parts

    sent = {"host": "127.0.0.1:9999"}
    if token == "":
        token = api_token()
    if token is not None:
        sent["authorization"] = f"Bearer {token}"
    raw = b""
    if json_body is not None:
        raw = json.dumps(json_body).encode()
        sent["content-type"] = "application/json"
    elif body is not None:
        raw = body.encode() if isinstance(body, str) else body
    sent.update({k.lower(): v for k, v in (headers or {}).items()})
    event = build_event(method, path, urlencode(query or {}, doseq=True), sent, raw)
    if event_hook:
        event_hook(event)
    result = lambda_handler(event, LocalContext(function_name="ApiFunction"))
    status, out_headers, out_body = response_parts(result)
    return Answer(status, out_headers, out_body.decode())


@pytest.fixture
def call(api_env: Any) -> Call:
    return invoke


@pytest.fixture
def account(call: Call) -> dict[str, Any]:
    answer = call("POST", "/accounts", json_body={"id": "acme", "name": "Acme Services"})
    assert answer.status == 201, answer.text
    return dict(answer.json)


@pytest.fixture
def sellsy(api_env: Any, sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from bridge.settings import get_settings

    monkeypatch.setenv("SELLSY_API_URL", sandbox.api_url)
    monkeypatch.setenv("SELLSY_TOKEN_URL", sandbox.token_url)
    monkeypatch.setenv("SELLSY_AUTHORIZE_URL", sandbox.authorize_url)
    get_settings.cache_clear()
    reset_app_caches()
    yield sandbox
    monkeypatch.undo()
    get_settings.cache_clear()
    reset_app_caches()
