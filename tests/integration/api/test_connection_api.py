"""Connecting an account to Sellsy (the sandbox): client credentials, pasted token, authorization code."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.fixtures.api import Call


def stored_credentials(api_env: Any, account_id: str = "acme") -> dict[str, Any] | None:
    sm = api_env.client("secretsmanager")
    try:
        value = sm.get_secret_value(SecretId=f"{api_env.env['SECRETS_PREFIX']}/accounts/{account_id}/sellsy")
    except sm.exceptions.ResourceNotFoundException:
        return None
    return dict(json.loads(value["SecretString"]))


def test_client_credentials_connect_and_disconnect(
    call: Call, account: dict[str, Any], sellsy: Any, api_env: Any
) -> None:
    body = {"method": "client_credentials", "client_id": sellsy.client_id, "client_secret": sellsy.client_secret}
    answer = call("PUT", "/accounts/acme/connection", json_body=body)
    assert answer.status == 200, answer.text
    assert (answer.json["status"], answer.json["auth_method"]) == ("active", "client_credentials")
    assert sellsy.client_secret not in answer.text
    creds = stored_credentials(api_env)
    assert creds and creds["grant_type"] == "client_credentials" and creds["access_token"]
    # Secrets never reach the accounts table.
    items = json.dumps(api_env.client("dynamodb").scan(TableName=api_env.env["ACCOUNTS_TABLE"])["Items"])
    assert sellsy.client_secret not in items and creds["access_token"] not in items

    kinds = [e["kind"] for e in call("GET", "/accounts/acme/exchanges").json["items"]]
    assert kinds == ["account_connected"]

    gone = call("DELETE", "/accounts/acme/connection")
    assert gone.status == 200 and gone.json["status"] == "disconnected"
    assert stored_credentials(api_env) is None


def test_wrong_client_secret_is_400_and_account_unchanged(call: Call, account: dict[str, Any], sellsy: Any) -> None:
    body = {"method": "client_credentials", "client_id": sellsy.client_id, "client_secret": "not-the-secret"}
    answer = call("PUT", "/accounts/acme/connection", json_body=body)
    assert answer.status == 400 and answer.error["code"] == "connection_refused"
    assert "not-the-secret" not in answer.text
    assert call("GET", "/accounts/acme").json["status"] == "disconnected"


def test_pasted_token_is_checked_before_it_is_trusted(
    call: Call, account: dict[str, Any], sellsy: Any, api_env: Any
) -> None:
    bad = call("PUT", "/accounts/acme/connection", json_body={"method": "access_token", "access_token": "x" * 40})
    assert bad.status == 400 and "rejected" in bad.error["message"]
    token = sellsy.access_token()
    good = call("PUT", "/accounts/acme/connection", json_body={"method": "access_token", "access_token": token})
    assert good.status == 200, good.text
    assert good.json["auth_method"] == "access_token"
    assert (stored_credentials(api_env) or {})["access_token"] == token


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"method": "client_credentials", "client_id": "abc"}, "needs client_secret"),
        ({"method": "access_token"}, "needs access_token"),
        ({"method": "password", "access_token": "abcdefgh"}, "method"),
    ],
)
def test_incomplete_connection_bodies_are_422(
    call: Call, account: dict[str, Any], body: dict[str, Any], words: str
) -> None:
    answer = call("PUT", "/accounts/acme/connection", json_body=body)
    assert answer.status == 422 and words in answer.text


def test_unknown_account_cannot_connect(call: Call, sellsy: Any) -> None:
    body = {"method": "client_credentials", "client_id": sellsy.client_id, "client_secret": sellsy.client_secret}
    assert call("PUT", "/accounts/ghost/connection", json_body=body).status == 404


def test_authorization_code_flow_with_pkce(call: Call, account: dict[str, Any], sellsy: Any, api_env: Any) -> None:
    start = call(
        "POST",
        "/accounts/acme/connection/authorize",
        json_body={"client_id": sellsy.auth_code_client_id, "client_secret": sellsy.auth_code_client_secret},
    )
    assert start.status == 200, start.text
    pending = start.json
    assert pending["redirect_uri"] == "http://127.0.0.1:9999/oauth/callback"
    query = parse_qs(urlparse(pending["authorize_url"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"] == [pending["state"]]
    # The verifier waits in Secrets Manager, never in the answer.
    assert "verifier" not in start.text

    # The user approves in Sellsy, which redirects the browser to our callback.
    redirect = httpx.get(pending["authorize_url"], follow_redirects=False, timeout=10)
    assert redirect.status_code == 302
    back = parse_qs(urlparse(redirect.headers["location"]).query)
    answer = call("GET", "/oauth/callback", token=None, query={"code": back["code"][0], "state": back["state"][0]})
    assert answer.status == 200, answer.text
    assert answer.json == {"account_id": "acme", "status": "active", "message": "connected to Sellsy"}
    creds = stored_credentials(api_env)
    assert creds and creds["grant_type"] == "authorization_code" and creds["refresh_token"]

    replayed = call("GET", "/oauth/callback", token=None, query={"code": back["code"][0], "state": back["state"][0]})
    assert replayed.status == 400 and replayed.error["code"] == "bad_state"


def test_webhook_registration_in_sellsy(call: Call, account: dict[str, Any], sellsy: Any, api_env: Any) -> None:
    not_yet = call("POST", "/accounts/acme/webhook", json_body={})
    assert not_yet.status == 409
    body = {"method": "client_credentials", "client_id": sellsy.client_id, "client_secret": sellsy.client_secret}
    assert call("PUT", "/accounts/acme/connection", json_body=body).status == 200
    answer = call("POST", "/accounts/acme/webhook", json_body={})
    assert answer.status == 200, answer.text
    webhook_id = answer.json["sellsy_webhook_id"]
    assert webhook_id and answer.json["webhook_signing_key_set"] is True

    from bridge.adapters import secrets

    (key,) = secrets.get_webhook_signing_keys("acme")
    mine = [w for w in sellsy.state("webhooks")["webhooks"] if w["id"] == webhook_id]
    assert mine and mine[0]["endpoint"] == "http://127.0.0.1:9999/webhooks/sellsy/acme"
    assert mine[0]["sign_key"] == key
    registered = {c["id"] for c in mine[0]["configuration"]}
    assert {"estimate.step", "client.addressupdated", "prospect.updated", "people.updated"} <= registered
    again = call("POST", "/accounts/acme/webhook", json_body={"events": ["estimate.step"]})
    assert again.status == 200 and again.json["sellsy_webhook_id"] == webhook_id
    refused = call("POST", "/accounts/acme/webhook", json_body={"events": ["estimate.step", "estimate.accepted"]})
    assert refused.status == 400, refused.text
    assert refused.error["code"] == "webhook_events_refused"
    assert "estimate.accepted" in refused.error["message"] and "estimate.step" not in refused.error["message"]
    assert refused.error["details"]["events"] == ["estimate.accepted"]
    assert "estimate.step" in refused.error["details"]["available"]


def test_authorization_code_falls_back_to_the_deployed_oauth_application(
    call: Call, account: dict[str, Any], sellsy: Any, api_env: Any
) -> None:
    empty = call("POST", "/accounts/acme/connection/authorize", json_body={})
    assert empty.status == 400 and empty.error["code"] == "oauth_app_missing"
    assert "app/sellsy-oauth-client" in empty.error["message"]

    # The operator fills the application's secret (created empty by the stack) once after deploying;
    # connections then need no client id.
    sm = api_env.client("secretsmanager")
    name = f"{api_env.env['SECRETS_PREFIX']}/app/sellsy-oauth-client"
    app = {"client_id": sellsy.auth_code_client_id, "client_secret": sellsy.auth_code_client_secret}
    sm.put_secret_value(SecretId=name, SecretString=json.dumps(app))
    try:
        start = call("POST", "/accounts/acme/connection/authorize", json_body={})
        assert start.status == 200, start.text
        assert parse_qs(urlparse(start.json["authorize_url"]).query)["client_id"] == [sellsy.auth_code_client_id]
        assert sellsy.auth_code_client_secret not in start.text

        redirect = httpx.get(start.json["authorize_url"], follow_redirects=False, timeout=10)
        back = parse_qs(urlparse(redirect.headers["location"]).query)
        query = {"code": back["code"][0], "state": back["state"][0]}
        answer = call("GET", "/oauth/callback", token=None, query=query)
        assert answer.status == 200, answer.text
        creds = stored_credentials(api_env)
        assert creds and creds["grant_type"] == "authorization_code"
        assert creds["client_id"] == sellsy.auth_code_client_id
    finally:
        sm.put_secret_value(SecretId=name, SecretString=json.dumps({"client_id": "", "client_secret": ""}))
