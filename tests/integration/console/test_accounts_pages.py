"""Accounts pages over real HTTP on the embedded default: list with health, create, connect three ways,
register the webhook, disconnect after a confirmation. Secrets typed in are never rendered back."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.integration.console.conftest import Browser

pytestmark = [pytest.mark.e2e]


def new_account(browser: Browser, name: str = "Plomberie Dupont") -> str:
    account_id = f"cc-{uuid.uuid4().hex[:10]}"
    answer = browser.post(
        "/console/accounts/new", {"csrf_token": browser.csrf(), "name": name, "account_id": account_id}
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/console/accounts/{account_id}?notice=created"
    return account_id


def test_create_then_the_list_shows_status_and_health(signed_in: Browser) -> None:
    account_id = new_account(signed_in, "Plomberie <Dupont> & fils")
    listing = signed_in.get("/console/accounts", headers={"Accept-Language": "fr"})
    assert listing.status_code == 200
    row = re.search(rf'<tr data-account="{account_id}">(.*?)</tr>', listing.text, re.S)
    assert row, listing.text
    assert "Plomberie &lt;Dupont&gt; &amp; fils" in row.group(1)  # escaped
    assert "Déconnecté" in row.group(1)  # status in French
    assert "Aucun webhook enregistré dans Sellsy." in row.group(1)  # health issue, worded in French
    detail = signed_in.get(f"/console/accounts/{account_id}?notice=created")
    assert "Account created" in detail.text and "Connect" in detail.text


def test_an_id_taken_or_invalid_is_said_on_the_form(signed_in: Browser) -> None:
    account_id = new_account(signed_in)
    token = signed_in.csrf()
    taken = signed_in.post("/console/accounts/new", {"csrf_token": token, "name": "Again", "account_id": account_id})
    assert taken.status_code == 409 and "exists already" in taken.text
    bad = signed_in.post("/console/accounts/new", {"csrf_token": token, "name": "X", "account_id": "no spaces"})
    assert bad.status_code == 400 and 'value="no spaces"' in bad.text


def test_connect_with_client_credentials_and_the_secret_is_never_rendered(
    signed_in: Browser, console_stack: Any
) -> None:
    sandbox = console_stack.sandbox
    account_id = new_account(signed_in)
    form = signed_in.get(f"/console/accounts/{account_id}/connect")
    assert form.status_code == 200 and 'type="password"' in form.text
    token = signed_in.csrf(f"/console/accounts/{account_id}/connect")
    wrong = signed_in.post(
        f"/console/accounts/{account_id}/connect",
        {
            "csrf_token": token,
            "method": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": "nope-secret-123",
        },
    )
    assert wrong.status_code == 400 and "Sellsy refused" in wrong.text
    assert "nope-secret-123" not in wrong.text and sandbox.client_id in wrong.text  # the id stays, not the secret
    right = signed_in.post(
        f"/console/accounts/{account_id}/connect",
        {
            "csrf_token": token,
            "method": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        },
    )
    assert right.status_code == 303 and right.headers["location"].endswith("notice=connected")
    detail = signed_in.get(right.headers["location"])
    assert "Connected to Sellsy." in detail.text and "client credentials" in detail.text
    assert sandbox.client_secret not in detail.text
    assert "Reconnect" in detail.text


def test_connect_with_the_oauth_button_pkce_through_sellsy_and_back(signed_in: Browser, console_stack: Any) -> None:
    sandbox = console_stack.sandbox
    account_id = new_account(signed_in)
    token = signed_in.csrf(f"/console/accounts/{account_id}/connect")
    start = signed_in.post(
        f"/console/accounts/{account_id}/connect/oauth",
        {
            "csrf_token": token,
            "client_id": sandbox.auth_code_client_id,
            "client_secret": sandbox.auth_code_client_secret,
        },
    )
    assert start.status_code == 303, start.text
    authorize = start.headers["location"]
    assert authorize.startswith(sandbox.authorize_url) and "code_challenge_method=S256" in authorize
    assert (
        f"redirect_uri={console_stack.api_url.replace(':', '%3A').replace('/', '%2F')}%2Foauth%2Fcallback" in authorize
    )
    granted = signed_in.client.get(authorize)  # the sandbox approves at once, as a user clicking "allow"
    assert granted.status_code == 302
    callback = granted.headers["location"]
    page = signed_in.client.get(callback, headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), page.text
    link = re.search(r'href="(/console/accounts/[^"]+)"', page.text)
    assert link and link.group(1) == f"/console/accounts/{account_id}?notice=connected"
    detail = signed_in.get(link.group(1).replace("&amp;", "&"))
    assert "Sellsy sign-in (OAuth)" in detail.text
    replayed = signed_in.client.get(callback, headers={"Accept": "text/html"})  # a code works once
    assert replayed.status_code == 400 and "start the connection again" in replayed.text


def test_paste_a_token_refused_by_sellsy_is_said_and_not_echoed(signed_in: Browser) -> None:
    account_id = new_account(signed_in)
    token = signed_in.csrf(f"/console/accounts/{account_id}/connect")
    answer = signed_in.post(
        f"/console/accounts/{account_id}/connect",
        {"csrf_token": token, "method": "access_token", "access_token": "pasted-but-wrong-token-42"},
    )
    assert answer.status_code == 400 and "Sellsy refused" in answer.text
    assert "pasted-but-wrong-token-42" not in answer.text
    bad_date = signed_in.post(
        f"/console/accounts/{account_id}/connect",
        {"csrf_token": token, "method": "access_token", "access_token": "abcdefghij", "expires_at": "tomorrow"},
    )
    assert bad_date.status_code == 400 and "not a date" in bad_date.text


def test_register_webhook_then_disconnect_after_confirmation(signed_in: Browser, console_stack: Any) -> None:
    sandbox = console_stack.sandbox
    account_id = new_account(signed_in)
    token = signed_in.csrf()
    too_early = signed_in.post(f"/console/accounts/{account_id}/webhook", {"csrf_token": token})
    assert too_early.status_code == 409 and "Connect the account first" in too_early.text
    creds = {"method": "client_credentials", "client_id": sandbox.client_id, "client_secret": sandbox.client_secret}
    assert signed_in.post(f"/console/accounts/{account_id}/connect", {"csrf_token": token, **creds}).status_code == 303
    registered = signed_in.post(f"/console/accounts/{account_id}/webhook", {"csrf_token": token})
    assert registered.status_code == 303 and registered.headers["location"].endswith("notice=webhook_registered")
    assert "registered (id " in signed_in.get(f"/console/accounts/{account_id}").text

    confirm = signed_in.get(f"/console/accounts/{account_id}/disconnect")
    assert confirm.status_code == 200 and 'name="confirm" value="yes"' in confirm.text
    unconfirmed = signed_in.post(f"/console/accounts/{account_id}/disconnect", {"csrf_token": token})
    assert unconfirmed.status_code == 200  # the confirmation page again: nothing done
    assert "Connected" in signed_in.get(f"/console/accounts/{account_id}").text
    done = signed_in.post(f"/console/accounts/{account_id}/disconnect", {"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 303
    detail = signed_in.get(done.headers["location"])
    assert "Disconnected: the Sellsy credentials are forgotten." in detail.text


def test_unknown_account_is_a_404_page(signed_in: Browser) -> None:
    assert signed_in.get("/console/accounts/nobody-here").status_code == 404
    assert signed_in.get("/console/accounts/bad%20id").status_code == 404


def test_the_json_callback_is_unchanged_for_api_callers(console_stack: Any) -> None:
    import httpx

    answer = httpx.get(f"{console_stack.api_url}/oauth/callback", params={"state": "x.y", "code": "z"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "bad_state"
