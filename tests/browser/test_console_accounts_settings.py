"""In Chromium: connect an account (client credentials, then the OAuth button through the Sellsy sandbox),
and edit one trigger while the others stay untouched. Each page is checked for labelled fields and
keyboard navigation; the screenshots are the ones README shows."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser import a11y

TRIGGERS = [
    {
        "name": "invoice",
        "when": {"status": "completed", "has_estimate": True},
        "actions": [{"type": "convert_quote", "validate": False}],
    },
    {
        "name": "comment",
        "when": {"status": "completed"},
        "actions": [{"type": "add_comment", "target": "estimate", "template": "Done by {technician}."}],
    },
    {"name": "report", "actions": [{"type": "upload_report", "target": "opportunity"}]},
]


def api(console: Any) -> httpx.Client:
    return httpx.Client(base_url=console.api_url, headers={"Authorization": f"Bearer {console.api_token}"})


@pytest.fixture
def restored_token(stack: Any) -> None:
    """Earlier tests may have wiped moto: the session key is derived from the stored API token."""
    from infra.local.stack import store_api_token
    from tests.fixtures.api import reset_app_caches

    store_api_token(stack.api_token)
    reset_app_caches()


def test_connect_an_account(console: Any, stack: Any, restored_token: None, shoot: Callable[[Any, str], Path]) -> None:
    account_id = f"br-{uuid.uuid4().hex[:8]}"
    page = console.new_page("/accounts")
    a11y.assert_accessible(page)
    page.get_by_role("link", name="New account").click()
    page.get_by_label("Name").fill("Plomberie Dupont")
    page.get_by_label("Account id (optional)").fill(account_id)
    a11y.assert_fields_labelled(page)
    page.get_by_role("button", name="Create the account").click()
    assert page.get_by_role("status").inner_text().startswith("Account created")
    page.get_by_role("link", name="Connect", exact=True).click()
    a11y.assert_accessible(page)
    shoot(page, "console-connect")
    page.get_by_label("Client id", exact=True).fill(stack.sandbox.client_id)
    page.get_by_label("Client secret", exact=True).fill(stack.sandbox.client_secret)
    page.get_by_label("Client secret", exact=True).press("Enter")  # keyboard only
    expect(page.get_by_role("status")).to_have_text("Connected to Sellsy.")
    assert stack.sandbox.client_secret not in page.content()
    shoot(page, "console-account")

    # Reconnect with the OAuth button: Sellsy's consent (the sandbox grants at once) and back.
    page.get_by_role("link", name="Reconnect").click()
    page.get_by_label("Client id (optional)").fill(stack.sandbox.auth_code_client_id)
    page.get_by_label("Client secret (optional)").fill(stack.sandbox.auth_code_client_secret)
    page.get_by_role("button", name="Continue with Sellsy").click()
    page.wait_for_url(f"**/console/accounts/{account_id}?notice=connected")
    expect(page.get_by_role("status")).to_have_text("Connected to Sellsy.")
    assert "Sellsy sign-in (OAuth)" in page.locator("dl.facts").first.inner_text()

    page.goto(console.url("/accounts"))
    row = page.locator(f'tr[data-account="{account_id}"]')
    assert "Connected" in row.inner_text()
    shoot(page, "console-accounts")


def test_edit_one_trigger_and_see_the_others_untouched(
    console: Any, restored_token: None, shoot: Callable[[Any, str], Path]
) -> None:
    account_id = f"bt-{uuid.uuid4().hex[:8]}"
    with api(console) as client:
        created = client.post(
            "/accounts", json={"id": account_id, "name": "Chauffage Martin", "settings": {"triggers": TRIGGERS}}
        )
        assert created.status_code == 201, created.text
        before = created.json()["settings"]["triggers"]

    page = console.new_page(f"/accounts/{account_id}/settings", locale="fr-FR")
    a11y.assert_accessible(page)
    shoot(page, "console-settings")
    page.get_by_role("link", name="Modifier comment").click()
    a11y.assert_accessible(page)
    template = page.get_by_label("Texte du commentaire").first
    assert template.input_value() == "Done by {technician}."
    template.fill("Intervention {number} terminée par {technicien}.")
    page.get_by_role("button", name="Enregistrer").click()
    assert "{technicien}" in page.get_by_role("alert").inner_text()  # refused on save, named
    page.get_by_label("Texte du commentaire").first.fill("Intervention {number} terminée par {technician}.")
    page.get_by_role("button", name="Enregistrer").click()
    assert "Intervention INT-0042 terminée par Camille Martin." in page.get_by_role("status").inner_text()
    shoot(page, "console-trigger")

    with api(console) as client:
        after = client.get(f"/accounts/{account_id}").json()["settings"]["triggers"]
    assert [after[0], after[2]] == [before[0], before[2]]
    assert after[1]["actions"][0]["template"] == "Intervention {number} terminée par {technician}."
    page.goto(console.url(f"/accounts/{account_id}/settings"))
    names = page.locator("tr[data-trigger]").evaluate_all("rows => rows.map(r => r.dataset.trigger)")
    assert names == ["invoice", "comment", "report"]
