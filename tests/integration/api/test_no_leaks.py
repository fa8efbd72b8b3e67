"""Nothing personal or secret in clear in logs, metrics or exchange records (README "Figures", security bar).

Drives the API-side flows against the sandbox with its seeded people, then searches everything
captured for every seeded email and phone number, every token the sandbox issued, the client
secrets, the API token and the webhook signing keys.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.fixtures.api import Call, api_token
from tests.fixtures.leaks import exchange_records_text, find_leaks, issued_secrets, seeded_personal_data

SIGNING_KEYS = ("whsec-leakcheck-0123456789-a", "whsec-leakcheck-0123456789-b")


def test_api_flows_leak_nothing(
    call: Call, sellsy: Any, api_env: Any, leak_capture: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bridge.flows.exchange_log import record_exchange
    from bridge.sellsy import factory

    creds = {"method": "client_credentials", "client_id": sellsy.client_id, "client_secret": sellsy.client_secret}
    assert call("POST", "/accounts", json_body={"id": "acme", "name": "A", "webhook_signing_key": SIGNING_KEYS[0]})
    assert call("PUT", "/accounts/acme/connection", json_body=creds).status == 200
    assert call("PATCH", "/accounts/acme", json_body={"webhook_signing_key": SIGNING_KEYS[1]}).status == 200
    assert call("POST", "/accounts/acme/webhook", json_body={}).status == 200

    assert call("POST", "/accounts", json_body={"id": "pasted", "name": "P"}).status == 201
    token = sellsy.access_token()
    pasted = {"method": "access_token", "access_token": token}
    assert call("PUT", "/accounts/pasted/connection", json_body=pasted).status == 200
    bad = {**creds, "client_secret": sellsy.client_secret[::-1]}
    assert call("PUT", "/accounts/pasted/connection", json_body=bad).status == 400

    assert call("POST", "/accounts", json_body={"id": "oauth", "name": "O"}).status == 201
    start = call(
        "POST",
        "/accounts/oauth/connection/authorize",
        json_body={"client_id": sellsy.auth_code_client_id, "client_secret": sellsy.auth_code_client_secret},
    ).json
    back = parse_qs(urlparse(httpx.get(start["authorize_url"], timeout=10).headers["location"]).query)
    done = call("GET", "/oauth/callback", token=None, query={"code": back["code"][0], "state": back["state"][0]})
    assert done.status == 200

    # What flows do: read real objects full of personal data and record the exchange.
    client = factory.client_for_account("acme")
    companies = client.get("/companies", params={"limit": 5, "embed[]": ["main_contact", "invoicing_address"]})
    contacts = client.get("/contacts", params={"limit": 5})
    for company in companies["data"]:
        record_exchange(
            account_id="acme",
            direction="inbound",
            kind="object_read",
            status="ok",
            sellsy_type="company",
            sellsy_id=company["id"],
            response=company,
        )
    failed = record_exchange(
        account_id="acme",
        direction="outbound",
        kind="object_written",
        status="failed",
        sellsy_type="contact",
        sellsy_id=contacts["data"][0]["id"],
        request=contacts["data"][0],
        reason=f"Sellsy refused {contacts['data'][0].get('email')}",
        replay={"kind": "contact_update", "account_id": "acme", "payload": contacts["data"][0]},
    )
    assert call("POST", f"/accounts/acme/exchanges/{failed}/replay").status == 202
    listing = call("GET", "/accounts/acme/exchanges", query={"limit": 200})
    assert listing.status == 200 and len(listing.json["items"]) >= 7

    # An unexpected error whose message quotes personal data.
    from bridge.adapters import accounts_repo

    def boom(**_: Any) -> Any:
        raise RuntimeError(f"cannot list; last contact {contacts['data'][0].get('email')} token {token}")

    monkeypatch.setattr(accounts_repo, "list_accounts", boom)
    assert call("GET", "/accounts").status == 500

    needles = seeded_personal_data(sellsy) | issued_secrets(sellsy, extra=[api_token(), *SIGNING_KEYS])
    assert len(needles) > 50  # the search is meaningful: the sandbox is full of people
    haystack = "\n".join([leak_capture.text(), exchange_records_text(api_env), listing.text])
    assert contacts["data"][0]["id"] and str(contacts["data"][0]["id"]) in haystack  # we did capture the run
    assert find_leaks(haystack, needles) == []


def test_the_hunt_would_catch_a_leak(leak_capture: Any, sellsy: Any) -> None:
    import logging
    import sys

    from bridge.observability import logger

    email, other = sorted(v for v in seeded_personal_data(sellsy) if "@" in v)[:2]
    logger.info("masked", extra={"contact": email})  # our logger masks...
    assert find_leaks(leak_capture.text(), [email]) == []
    sys.stdout.write(f"raw {email}\n")  # ...but a stray print or a third-party logger would be caught
    logging.getLogger("third.party").warning("contact %s", other)
    assert len(find_leaks(leak_capture.text(), [email, other])) == 2
