"""Field → Sellsy customer push on the sandbox: contact phone/email, a new intervention address."""

from __future__ import annotations

import uuid
from typing import Any

from bridge.adapters import accounts_repo, field_repo
from bridge.domain.accounts import AccountSettings
from bridge.domain.interventions import FieldCustomer, Person
from bridge.flows import accounts as accounts_flow
from bridge.flows.outbound.customer_push import run_customer_push
from tests.integration.outbound.scenario import sellsy_client


def _company_with_contact(sellsy: Any) -> tuple[str, dict[str, Any], dict[str, Any], FieldCustomer]:
    account_id = f"push-{uuid.uuid4().hex[:8]}"
    accounts_flow.create_account(
        name="Push", account_id=account_id, settings=AccountSettings(sync_direction="field_to_sellsy")
    )
    accounts_repo.set_status(account_id, "active", None)
    company = sellsy.post("/companies", json={"type": "client", "name": f"Push {account_id}"})
    contact = sellsy.post("/contacts", json={"last_name": "Roux", "first_name": "Anne", "email": "anne@old.example"})
    sellsy.post(f"/companies/{company['id']}/contacts/{contact['id']}", json={"roles": ["main"]})
    customer = FieldCustomer(
        id=f"company-{company['id']}",
        account_id=account_id,
        sellsy_type="company",
        sellsy_id=company["id"],
        name=company["name"],
        main_contact=Person(id=contact["id"], name="Anne Roux", email="anne@old.example"),
    )
    field_repo.put_customer(customer)
    return account_id, company, contact, customer


def _push(account_id: str, customer_id: str, line: str, email: str) -> dict[str, Any]:
    return {
        "kind": "customer.push",
        "account_id": account_id,
        "payload": {
            "customer_id": customer_id,
            "change": {
                "address": {"lines": [line], "postal_code": "69002", "city": "Lyon", "country_code": "FR"},
                "main_contact": {"email": email},
            },
        },
    }


def test_a_replayed_push_sends_the_current_field_values_not_the_old_ones(aws, sandbox):
    sellsy = sellsy_client(sandbox)
    account_id, company, contact, customer = _company_with_contact(sellsy)
    old = _push(account_id, customer.id, "8 place Bellecour", "anne@old-change.example")
    run_customer_push(old, sellsy=sellsy)
    newer = _push(account_id, customer.id, "1 rue Neuve", "anne@newest.example")
    run_customer_push(newer, sellsy=sellsy)

    # The old message comes back through a replay (e.g. of its failed exchange).
    run_customer_push({**old, "replay_of": "20260101T000000Z-old"}, sellsy=sellsy)

    addresses = list(sellsy.iterate(f"/companies/{company['id']}/addresses", search=False))
    assert [a["address_line_1"] for a in addresses] == ["1 rue Neuve"]
    assert sellsy.get(f"/contacts/{contact['id']}")["email"] == "anne@newest.example"
    stored = field_repo.get_customer(account_id, customer.id)
    assert stored.address.lines == ["1 rue Neuve"] and stored.main_contact.email == "anne@newest.example"
    sellsy.close()


def test_contact_and_new_address_reach_sellsy_once_and_are_remembered_as_ours(aws, sandbox):
    sellsy = sellsy_client(sandbox)
    account_id, company, contact, customer = _company_with_contact(sellsy)
    message: dict[str, Any] = {
        "kind": "customer.push",
        "account_id": account_id,
        "payload": {
            "customer_id": customer.id,
            "change": {
                "address": {
                    "lines": ["8 place Bellecour"],
                    "postal_code": "69002",
                    "city": "Lyon",
                    "country_code": "FR",
                },
                "main_contact": {"phone": "+33 4 72 00 00 00", "email": "anne@new.example"},
            },
        },
    }

    written = run_customer_push(message, sellsy=sellsy)
    again = run_customer_push(message, sellsy=sellsy)  # a redelivery

    addresses = [a for a in sellsy.iterate(f"/companies/{company['id']}/addresses", search=False)]
    assert [(a["address_line_1"], a["postal_code"]) for a in addresses] == [("8 place Bellecour", "69002")]
    assert written == again == [("address", addresses[0]["id"]), ("contact", contact["id"])]
    now = sellsy.get(f"/contacts/{contact['id']}")
    assert (now["phone_number"], now["email"]) == ("+33 4 72 00 00 00", "anne@new.example")
    # What we wrote is remembered (hashed): Sellsy's webhook about it will be recognised as our echo.
    assert field_repo.is_echo(account_id, "contact", contact["id"], now)
    assert field_repo.is_echo(account_id, "address", addresses[0]["id"], addresses[0])
    assert not field_repo.is_echo(account_id, "contact", contact["id"], {**now, "email": "someone@else.example"})
    stored = field_repo.get_customer(account_id, customer.id)
    assert stored.address.id == addresses[0]["id"] and stored.address.lines == ["8 place Bellecour"]
    assert (stored.main_contact.phone, stored.main_contact.email) == ("+33 4 72 00 00 00", "anne@new.example")
    sellsy.close()
