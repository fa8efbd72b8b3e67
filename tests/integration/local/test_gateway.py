"""The local gateway turns real HTTP into API Gateway v2 events and routes them as template.yaml does."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from infra.local.gateway import MAX_BODY_BYTES, LocalGateway


def echo(name: str):
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        reply = {"function": name, "event": event, "context_function": context.function_name}
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(reply)}

    return handler


def crash(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise RuntimeError("secret detail that must not leak")


@pytest.fixture()
def gateway() -> Iterator[LocalGateway]:
    gw = LocalGateway(handlers={"ApiFunction": echo("api"), "WebhookFunction": echo("webhook")}).start()
    yield gw
    gw.stop()


def test_api_request_becomes_a_v2_event(gateway: LocalGateway) -> None:
    response = httpx.post(
        f"{gateway.url}/accounts/a1/records?stream=invoices&limit=5",
        json={"name": "Dupont"},
        headers={"Authorization": "Bearer t"},
    )
    assert response.status_code == 200
    body = response.json()
    event = body["event"]
    assert body["function"] == "api" and body["context_function"] == "ApiFunction"
    assert event["version"] == "2.0"
    assert event["rawPath"] == "/accounts/a1/records"
    assert event["queryStringParameters"] == {"stream": "invoices", "limit": "5"}
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["headers"]["authorization"] == "Bearer t"
    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == {"name": "Dupont"}


def test_webhook_path_goes_to_the_webhook_function_with_form_body_as_text(gateway: LocalGateway) -> None:
    response = httpx.post(f"{gateway.url}/webhooks/sellsy/a1", data={"notif": '{"event":"step"}'})
    event = response.json()["event"]
    assert response.json()["function"] == "webhook"
    assert event["isBase64Encoded"] is False
    assert event["body"] == "notif=%7B%22event%22%3A%22step%22%7D"


def test_binary_body_is_base64_encoded(gateway: LocalGateway) -> None:
    payload = b"%PDF-1.4\x00\xff\xfe"
    response = httpx.put(f"{gateway.url}/upload", content=payload, headers={"content-type": "application/pdf"})
    event = response.json()["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_repeated_query_parameters_are_joined_with_commas(gateway: LocalGateway) -> None:
    response = httpx.get(f"{gateway.url}/x?status=a&status=b")
    assert response.json()["event"]["queryStringParameters"] == {"status": "a,b"}


def test_crashing_function_is_an_opaque_500() -> None:
    gw = LocalGateway(handlers={"ApiFunction": crash}).start()
    try:
        response = httpx.get(f"{gw.url}/anything")
    finally:
        gw.stop()
    assert response.status_code == 500
    assert "secret detail" not in response.text


def test_bare_return_value_is_a_200_json_answer() -> None:
    gw = LocalGateway(handlers={"ApiFunction": lambda event, context: {"ok": True}}).start()
    try:
        response = httpx.get(f"{gw.url}/anything")
    finally:
        gw.stop()
    assert response.status_code == 200
    assert response.json() == {"ok": True}


def test_body_over_the_api_gateway_limit_is_refused_before_the_function(gateway: LocalGateway) -> None:
    response = httpx.post(f"{gateway.url}/webhooks/sellsy/a1", content=b"x" * (MAX_BODY_BYTES + 1))
    assert response.status_code == 413


def test_methods_api_gateway_never_routes_are_a_405(gateway: LocalGateway) -> None:
    response = httpx.request("TRACE", f"{gateway.url}/accounts")
    assert response.status_code == 405
    assert response.json()["message"]
