"""The API frame: authentication, JSON errors for every rejected input, the OpenAPI document."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.fixtures.api import Call


def openapi(call: Call) -> dict[str, Any]:
    answer = call("GET", "/openapi.json", token=None)
    assert answer.status == 200
    return dict(answer.json)


def concrete(path: str) -> str:
    return re.sub(
        r"\{[^}]+\}", lambda m: "20261121T101500000000Z-0a1b2c3d" if "exchange" in m.group() else "acme", path
    )


def test_openapi_document_is_public_and_describes_every_route(call: Call) -> None:
    doc = openapi(call)
    assert doc["openapi"].startswith("3.")
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    paths = doc["paths"]
    for expected in (
        "/accounts",
        "/accounts/{account_id}",
        "/accounts/{account_id}/connection",
        "/accounts/{account_id}/connection/authorize",
        "/accounts/{account_id}/exchanges",
        "/accounts/{account_id}/exchanges/{exchange_id}",
        "/accounts/{account_id}/exchanges/{exchange_id}/replay",
        "/oauth/callback",
    ):
        assert expected in paths
    error_ref = paths["/accounts/{account_id}"]["get"]["responses"]["404"]["content"]["application/json"]
    assert error_ref["schema"]["$ref"].endswith("/ErrorBody")


def authenticated_operations() -> list[tuple[str, str]]:
    from bridge.handlers.api import openapi_document

    doc = json.loads(openapi_document())
    return sorted(
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if op.get("security") != [{}]
    )


@pytest.mark.parametrize(("method", "path"), authenticated_operations())
def test_every_route_needs_credentials(call: Call, method: str, path: str) -> None:
    target = concrete(path)
    body = {"name": "x"} if method in {"POST", "PUT", "PATCH"} else None
    for token, headers in ((None, {}), ("wrong-token", {}), (None, {"authorization": "Basic dXNlcjpwdw=="})):
        answer = call(method, target, json_body=body, token=token, headers=headers)
        assert answer.status == 401, (method, path, answer.text)
        assert answer.error["code"] == "unauthorized"
        assert answer.headers.get("www-authenticate") == "Bearer"


def test_correct_token_is_accepted(call: Call) -> None:
    assert call("GET", "/accounts").status == 200


def test_iam_mode_trusts_the_authorizer_context_only(call: Call, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_AUTH_MODE", "iam")

    def signed(event: dict[str, Any]) -> None:
        event["requestContext"]["authorizer"] = {"iam": {"userArn": "arn:aws:iam::123456789012:user/ops"}}

    assert call("GET", "/accounts", token=None, event_hook=signed).status == 200
    refused = call("GET", "/accounts", token="local-test-token-0123456789abcdef")
    assert refused.status == 401 and "IAM" in refused.error["message"]


def test_unknown_route_is_404_json(call: Call) -> None:
    answer = call("GET", "/nowhere")
    assert answer.status == 404 and answer.error["code"] == "not_found"


def test_wrong_method_is_405_with_allow(call: Call) -> None:
    answer = call("DELETE", "/accounts")
    assert answer.status == 405
    assert answer.error["code"] == "method_not_allowed"
    assert set(answer.headers["allow"].split(", ")) == {"GET", "POST"}


def test_invalid_json_is_400(call: Call) -> None:
    answer = call("POST", "/accounts", body='{"name": ', headers={"content-type": "application/json"})
    assert answer.status == 400 and answer.error["code"] == "invalid_json"


@pytest.mark.parametrize("raw", [b"\xff\xfe{", b'{"name": "\xc3"}', b"UQL\x8aT("])
def test_bodies_that_are_not_utf8_json_are_400(call: Call, raw: bytes) -> None:
    for method, path in (("POST", "/accounts"), ("PUT", "/accounts/acme/connection"), ("PATCH", "/accounts/x")):
        answer = call(method, path, body=raw, headers={"content-type": "application/json"})
        assert answer.status == 400, (method, path, answer.text)
        assert answer.error["code"] == "invalid_json"


def test_wrong_media_type_is_415(call: Call) -> None:
    answer = call("POST", "/accounts", body="name=x", headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status == 415
    assert "application/json" in answer.error["message"]


def test_oversized_body_is_413(call: Call) -> None:
    answer = call("POST", "/accounts", json_body={"name": "x" * 1_100_000})
    assert answer.status == 413 and answer.error["details"] == {"limit": 1_048_576}


@pytest.mark.parametrize(
    ("body", "location", "words"),
    [
        ({}, "body.name", "Field required"),
        ({"name": ""}, "body.name", "at least 1 character"),
        ({"name": "x", "surprise": 1}, "body.surprise", "Extra inputs"),
        ({"name": "x", "settings": {"base_currency": "EURO"}}, "body.settings.base_currency", "ISO 4217"),
        ({"name": "x", "id": "bad#id"}, "body.id", "pattern"),
        ({"name": "x", "webhook_signing_key": "short"}, "body.webhook_signing_key", "at least 16"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(call: Call, body: dict[str, Any], location: str, words: str) -> None:
    answer = call("POST", "/accounts", json_body=body)
    assert answer.status == 422, answer.text
    error = answer.error
    assert error["code"] == "validation_failed"
    assert any(d["location"] == location and words in d["message"] for d in error["details"]), error
    assert location in error["message"]


def test_validation_errors_never_echo_the_input(call: Call) -> None:
    secret = "sk_live_Zx9cQ2pVt7LmR4sWb8nKd3Hf6Jg1"
    answer = call("PUT", "/accounts/acme/connection", json_body={"method": "nope", "client_secret": secret})
    assert answer.status == 422
    assert secret not in answer.text


def test_bad_query_parameters_are_422(call: Call) -> None:
    answer = call("GET", "/accounts", query={"limit": "0"})
    assert answer.status == 422 and answer.error["details"][0]["location"] == "query.limit"


def test_unexpected_errors_are_500_and_leak_nothing(call: Call, monkeypatch: pytest.MonkeyPatch) -> None:
    from bridge.adapters import accounts_repo

    def boom(**_: Any) -> Any:
        raise RuntimeError("db password hunter2 for jeanne@example.fr")

    monkeypatch.setattr(accounts_repo, "list_accounts", boom)
    answer = call("GET", "/accounts")
    assert answer.status == 500
    assert answer.error["code"] == "internal_error"
    assert "hunter2" not in answer.text and "jeanne" not in answer.text
    assert answer.error["details"]["request_id"]


def test_oauth_callback_is_public_and_rejects_missing_parameters(call: Call) -> None:
    answer = call("GET", "/oauth/callback", token=None)
    assert answer.status == 400 and answer.error["code"] == "missing_parameter"
    denied = call("GET", "/oauth/callback", token=None, query={"error": "access_denied"})
    assert denied.status == 400 and "access_denied" in denied.error["message"]
    unknown = call("GET", "/oauth/callback", token=None, query={"state": "acme.nonce", "code": "c"})
    assert unknown.status == 400 and unknown.error["code"] == "bad_state"


def test_every_operation_documents_the_frame_errors(call: Call) -> None:
    for path, item in openapi(call)["paths"].items():
        for method, operation in item.items():
            documented = set(operation["responses"])
            assert {"404", "405", "500"} <= documented, (method, path)
            if path != "/oauth/callback":
                assert "401" in documented, (method, path)
            if method in ("post", "put", "patch"):
                assert {"400", "413", "415"} <= documented, (method, path)
