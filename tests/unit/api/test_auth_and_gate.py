"""The pre-routing gate: who is authenticated, and which bodies never reach a route."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from bridge.api import auth
from bridge.handlers import api as api_handler

TOKEN = "unit-test-token-0123456789"


def event(path: str = "/accounts", method: str = "GET", **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "rawPath": path,
        "headers": {},
        "requestContext": {"http": {"method": method, "path": path}},
    }
    base.update(extra)
    return base


@pytest.fixture(autouse=True)
def stored_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth.secrets, "get_api_token", lambda: TOKEN)
    monkeypatch.delenv("API_AUTH_MODE", raising=False)


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({}, "missing Authorization"),
        ({"Authorization": "Basic abc"}, "must be 'Bearer"),
        ({"authorization": "Bearer "}, "must be 'Bearer"),
        ({"authorization": f"Bearer {TOKEN}x"}, "invalid bearer token"),
        ({"AUTHORIZATION": f"bearer {TOKEN}"}, None),
    ],
)
def test_bearer_mode(headers: dict[str, str], problem: str | None) -> None:
    found = auth.authentication_problem(event(headers=headers))
    assert (found is None) if problem is None else (problem in (found or ""))


def test_fails_closed_without_a_configured_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth.secrets, "get_api_token", lambda: None)
    assert auth.authentication_problem(event(headers={"authorization": "Bearer anything"})) == (
        "API token not configured"
    )


@pytest.mark.parametrize("path", ["/openapi.json", "/oauth/callback", "/webhooks/sellsy/acme"])
def test_public_paths_need_nothing(path: str) -> None:
    assert auth.authentication_problem(event(path)) is None


def test_iam_mode_needs_the_authorizer_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_AUTH_MODE", "iam")
    signed = event()
    signed["requestContext"]["authorizer"] = {"iam": {"userArn": "arn:aws:iam::1:user/ops"}}
    assert auth.authentication_problem(signed) is None
    assert auth.caller(signed) == "arn:aws:iam::1:user/ops"
    assert auth.authentication_problem(event(headers={"authorization": f"Bearer {TOKEN}"})) is not None


def authed(**extra: Any) -> dict[str, Any]:
    return event(headers={"authorization": f"Bearer {TOKEN}", **extra.pop("headers", {})}, **extra)


def test_gate_passes_good_requests() -> None:
    good = authed(method="POST", body='{"name": "x"}', headers={"content-type": "application/json; charset=utf-8"})
    good["requestContext"]["http"]["method"] = "POST"
    assert api_handler.gate(good) is None
    assert api_handler.gate(authed()) is None


@pytest.mark.parametrize(
    ("body", "encoded", "content_type", "status"),
    [
        ("x" * (api_handler.MAX_BODY_BYTES + 1), False, "application/json", 413),
        ("name=x", False, "application/x-www-form-urlencoded", 415),
        ('{"a":', False, "application/json", 400),
        (base64.b64encode(b"\xff\xfe").decode(), True, "application/json", 400),
        (base64.b64encode(json.dumps({"a": 1}).encode()).decode(), True, "application/json", None),
    ],
)
def test_gate_refuses_bodies(body: str, encoded: bool, content_type: str, status: int | None) -> None:
    request = authed(body=body, isBase64Encoded=encoded, headers={"content-type": content_type})
    request["requestContext"]["http"]["method"] = "POST"
    answer = api_handler.gate(request)
    if status is None:
        assert answer is None
    else:
        assert answer is not None and answer["statusCode"] == status
        assert set(json.loads(answer["body"])["error"]) == {"code", "message", "details"}
