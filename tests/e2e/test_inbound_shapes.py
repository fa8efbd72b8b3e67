"""Customer deliveries in every shape real Sellsy sends (register entries W2, W4, W5), end to end.

Each test changes a customer in Sellsy, then posts one signed delivery written here in one of the shapes
public receivers of real Sellsy deliveries handle (not the sandbox emitter's), JSON or form ``notif``,
through the gateway, the queue and the worker; the field side must show the change.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

import bridge.handlers.api
import bridge.handlers.webhook
import bridge.handlers.worker  # noqa: F401  (loaded before the gateway/pump threads import them concurrently)
from bridge.domain.accounts import AccountSettings
from bridge.flows import accounts as account_flows
from tests.fixtures.polling import wait_for

SIGN_KEY = f"shapes-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def account_id(stack: Any) -> str:
    """Connected, no webhook registered: only the deliveries these tests post reach it."""
    account_id = f"sh-{uuid.uuid4().hex[:10]}"
    account_flows.create_account(
        name="Shapes e2e",
        account_id=account_id,
        settings=AccountSettings.model_validate({"sync_direction": "both"}),
        webhook_signing_key=SIGN_KEY,
    )
    account_flows.connect_client_credentials(
        account_id, client_id=stack.sandbox.client_id, client_secret=stack.sandbox.client_secret
    )
    return account_id


@pytest.fixture(scope="module")
def sellsy(stack: Any) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=stack.sandbox.api_url, headers={"Authorization": f"Bearer {stack.sandbox.access_token()}"}, timeout=30
    ) as client:
        yield client


def _deliver(stack: Any, account_id: str, fields: dict[str, Any], encoding: str) -> None:
    payload = {
        "eventType": "thirdlog",
        "event": "updated",
        "ownertype": "staff",
        "ownerid": "1",
        "timestamp": str(int(time.time())),
        "corpid": str(stack.sandbox.corp_id),
        **fields,
    }
    document = json.dumps(payload)
    if encoding == "json":
        body, content_type = document.encode(), "application/json"
    else:
        body, content_type = urlencode({"notif": document}).encode(), "application/x-www-form-urlencoded"
    signature = hashlib.sha1(SIGN_KEY.encode() + body, usedforsecurity=False).hexdigest()
    answer = httpx.post(
        f"{stack.api_url}/webhooks/sellsy/{account_id}",
        content=body,
        headers={"Content-Type": content_type, "X-Webhook-Signature": signature, "User-Agent": "Sellsy"},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text


def _next_second() -> None:
    """Sellsy sends no delivery id: two identical bodies in one second are one delivery (register W6)."""
    time.sleep(1.05 - time.time() % 1)


def _customer_when(api: httpx.Client, account_id: str, customer_id: str, check: Any) -> dict[str, Any]:
    def seen() -> dict[str, Any]:
        answer = api.get(f"/accounts/{account_id}/customers/{customer_id}")
        return answer.json() if answer.status_code == 200 else {}

    customer = wait_for(lambda: (found := seen()) and check(found) and found)
    assert customer, f"{customer_id} never matched; last seen {seen()}"
    return dict(customer)


def _new(sellsy: httpx.Client, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    response = sellsy.post(f"/{kind}", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# (kind of the Sellsy object, routing fields of the delivery, encoding)
SHAPES: list[tuple[str, dict[str, Any], str]] = [
    ("company", {"relatedtype": "client", "thirdtype": "client", "individual": "0"}, "json"),
    ("company", {"relatedtype": "prospect"}, "form"),  # no flag, no object: the worker reads both kinds
    ("individual", {"relatedtype": "client", "individual": "1"}, "form"),
    ("individual", {"relatedtype": "client", "thirdtype": "client", "individual": True}, "json"),
    ("company", {"relatedtype": "third", "thirdtype": "client"}, "json"),
    ("company", {"relatedtype": "company", "thirdtype": "client"}, "form"),  # the v2 words
]


@pytest.mark.parametrize(
    ("kind", "fields", "encoding"),
    SHAPES,
    ids=[f"{k}-{f['relatedtype']}-{e}-{i}" for i, (k, f, e) in enumerate(SHAPES)],
)
def test_a_third_party_delivery_in_each_real_shape_updates_the_field_customer(
    stack: Any,
    api: httpx.Client,
    sellsy: httpx.Client,
    account_id: str,
    kind: str,
    fields: dict[str, Any],
    encoding: str,
) -> None:
    plural = "companies" if kind == "company" else "individuals"
    third_type = "prospect" if fields["relatedtype"] == "prospect" else "client"
    body = (
        {"type": third_type, "name": "Shape SARL"} if kind == "company" else {"type": third_type, "last_name": "Shape"}
    )
    created = _new(sellsy, plural, body)
    _deliver(stack, account_id, {**fields, "relatedid": str(created["id"])}, encoding)
    customer_id = f"{kind}-{created['id']}"
    _customer_when(api, account_id, customer_id, lambda c: c["sellsy_id"] == created["id"])

    renamed = {"name": "Shape Renamed SARL"} if kind == "company" else {"last_name": "Renamed"}
    assert sellsy.put(f"/{plural}/{created['id']}", json=renamed).status_code == 200
    _next_second()
    _deliver(stack, account_id, {**fields, "relatedid": str(created["id"])}, encoding)
    customer = _customer_when(api, account_id, customer_id, lambda c: "Renamed" in (c.get("name") or ""))
    assert customer["sellsy_type"] == kind


@pytest.mark.parametrize("encoding", ["form", "json"])
def test_a_people_delivery_refreshes_the_customer_whose_main_contact_changed(
    stack: Any, api: httpx.Client, sellsy: httpx.Client, account_id: str, encoding: str
) -> None:
    company = _new(sellsy, "companies", {"type": "client", "name": "Contact Shape SARL"})
    contact = _new(sellsy, "contacts", {"last_name": "Dupont", "first_name": "Anne"})
    linked = sellsy.post(f"/companies/{company['id']}/contacts/{contact['id']}", json={"roles": ["main"]})
    assert linked.status_code == 201, linked.text
    _deliver(stack, account_id, {"relatedtype": "client", "individual": "0", "relatedid": str(company["id"])}, encoding)
    customer_id = f"company-{company['id']}"
    _customer_when(api, account_id, customer_id, lambda c: (c.get("main_contact") or {}).get("id") == contact["id"])

    assert sellsy.put(f"/contacts/{contact['id']}", json={"last_name": "Durand"}).status_code == 200
    _next_second()
    _deliver(
        stack, account_id, {"relatedtype": "people", "thirdtype": "people", "relatedid": str(contact["id"])}, encoding
    )
    customer = _customer_when(api, account_id, customer_id, lambda c: "Durand" in (c["main_contact"].get("name") or ""))
    assert customer["main_contact"]["name"] == "Anne Durand"
