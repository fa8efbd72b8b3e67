"""The pre-routing gate: who is authenticated, and which bodies never reach a route."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from bridge.api import auth
from bridge.domain.access import FIELD_ROUTES, Principal, Refusal
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
    refusal = auth.check(event(headers=headers)).refusal
    if problem is None:
        assert refusal is None
    else:
        assert refusal is not None and refusal.status == 401 and problem in refusal.message


def test_the_operator_token_is_an_operator_everywhere() -> None:
    checked = auth.check(event("/accounts/acme/interventions", headers={"authorization": f"Bearer {TOKEN}"}))
    assert checked.refusal is None and checked.principal is not None
    assert (checked.principal.role, checked.caller) == ("operator", "operator-token")


def test_fails_closed_without_a_configured_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth.secrets, "get_api_token", lambda: None)
    refusal = auth.check(event(headers={"authorization": "Bearer anything"})).refusal
    assert refusal is not None and refusal.message == "API token not configured"


@pytest.mark.parametrize(
    "path", ["/openapi.json", "/oauth/callback", "/webhooks/sellsy/acme", "/console", "/console/accounts"]
)
def test_public_and_console_paths_need_nothing(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth.secrets, "get_api_token", lambda: pytest.fail("no credential read on public paths"))
    assert auth.check(event(path)) == auth.Access(None, None)


def test_a_path_that_only_starts_like_the_console_is_not_public() -> None:
    refusal = auth.check(event("/consoles")).refusal
    assert refusal is not None and refusal.status == 401


def test_iam_mode_needs_the_authorizer_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_AUTH_MODE", "iam")
    signed = event()
    signed["requestContext"]["authorizer"] = {"iam": {"userArn": "arn:aws:iam::1:user/ops"}}
    checked = auth.check(signed)
    assert checked.refusal is None and checked.caller == "arn:aws:iam::1:user/ops"
    # The local operator token means nothing in AWS, on management and field routes alike.
    for path in ("/accounts", "/accounts/acme/interventions"):
        refusal = auth.check(event(path, headers={"authorization": f"Bearer {TOKEN}"})).refusal
        assert refusal is not None and refusal.status == 401 and "IAM" in refusal.message, path
    unsigned = auth.check(event("/accounts")).refusal
    assert unsigned is not None and unsigned.status == 401 and "IAM" in unsigned.message


FIELD_KEY = "sbfk.acme.fk0123456789ab." + "k" * 43
FIELD_PRINCIPAL = Principal(role="field", label="field-key:acme/fk0123456789ab", account_id="acme", key_id="fk01")


@pytest.mark.parametrize("mode", ["bearer", "iam"])
def test_a_field_key_is_checked_by_its_own_lookup_in_both_modes(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_AUTH_MODE", mode)
    looked_up: list[str] = []

    def authenticate(token: str) -> tuple[Principal | None, str]:
        looked_up.append(token)
        return FIELD_PRINCIPAL, ""

    monkeypatch.setattr(auth.field_keys, "authenticate", authenticate)
    monkeypatch.setattr(auth.secrets, "get_api_token", lambda: pytest.fail("a field key is not the operator token"))
    bearer = {"authorization": f"Bearer {FIELD_KEY}"}
    assert auth.check(event("/accounts/acme/interventions", headers=bearer)).refusal is None
    refusal = auth.check(event("/accounts", headers=bearer)).refusal
    assert refusal is not None and refusal.status == 403
    assert looked_up == [FIELD_KEY, FIELD_KEY]


def test_a_refused_field_key_gets_401_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth.field_keys, "authenticate", lambda token: (None, "field key revoked"))
    refusal = auth.check(event("/accounts/acme/interventions", headers={"authorization": f"Bearer {FIELD_KEY}"}))
    assert refusal.refusal == Refusal(401, "unauthorized", "field key revoked")


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


def test_gate_answers_403_without_a_challenge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth.field_keys, "authenticate", lambda token: (FIELD_PRINCIPAL, ""))
    answer = api_handler.gate(event("/accounts/globex/interventions", headers={"authorization": f"Bearer {FIELD_KEY}"}))
    assert answer is not None and answer["statusCode"] == 403
    assert "WWW-Authenticate" not in answer["headers"]
    assert json.loads(answer["body"])["error"]["code"] == "forbidden"


def test_openapi_document_says_which_routes_take_a_field_key() -> None:
    document = json.loads(api_handler.openapi_document())
    schemes = document["components"]["securitySchemes"]
    assert schemes["fieldKey"]["scheme"] == "bearer" and schemes["bearerAuth"]["scheme"] == "bearer"
    field, management = set(), set()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if auth.is_public(path):
                continue
            assert "403" in operation["responses"] and "401" in operation["responses"], (method, path)
            security = operation.get("security", document["security"])
            if security == [{"fieldKey": []}, {"bearerAuth": []}]:
                field.add((method.upper(), path))
            else:
                assert security == [{"bearerAuth": []}], (method, path)
                management.add((method.upper(), path))
    assert field == set(FIELD_ROUTES)
    # The routers' own "field" tag agrees: a new field route must join FIELD_ROUTES to be reachable.
    tagged = {
        (m.upper(), p) for p, item in document["paths"].items() for m, op in item.items() if "field" in op["tags"]
    }
    assert tagged == field
    assert ("POST", "/accounts/{account_id}/field-keys") in management
