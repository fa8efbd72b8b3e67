"""Interventions in a real browser: find one, open it, see its actions and what they created in Sellsy, follow
its deep link to Sellsy and the link back; keyboard and labels on both pages."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser import a11y
from tests.browser.conftest import Console, connect_account, settle
from tests.fixtures.polling import wait_for
from tests.integration.outbound.scenario import make_scenario, sellsy_client

TRIGGERS = [
    {
        "name": "job done",
        "actions": [
            {"type": "convert_quote", "validate": False},
            {"type": "add_comment", "target": "opportunity", "template": "Intervention {number} terminée"},
        ],
    }
]


def completed_intervention(stack: Any) -> tuple[str, str, Any]:
    """An account whose accepted quote became an intervention, completed through the field API."""
    account_id = connect_account(stack, triggers=TRIGGERS, name="Field")
    client = sellsy_client(stack.sandbox)
    try:
        scenario = make_scenario(client)  # accepting the quote sends the webhook: the intervention is made
    finally:
        client.close()
    intervention_id = f"est-{scenario.estimate_id}"
    auth = {"Authorization": f"Bearer {stack.api_token}"}
    with httpx.Client(base_url=stack.api_url, headers=auth, timeout=30) as api:
        path = f"/accounts/{account_id}/interventions/{intervention_id}"
        assert wait_for(lambda: api.get(path).status_code == 200), f"no intervention {intervention_id}"
        done = api.post(f"{path}/complete", json={"technician": "Marc Dubois", "notes": "Filtre remplacé"})
        assert done.status_code == 202, done.text
    settle(stack)
    return account_id, intervention_id, scenario


def test_open_an_intervention_and_follow_its_deep_link(console: Console, stack: Any, shoot: Any) -> None:
    account_id, intervention_id, scenario = completed_intervention(stack)
    page = console.new_page(f"/accounts/{account_id}/interventions")
    a11y.assert_accessible(page)
    page.get_by_label("Status").select_option("completed")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=intervention_id, exact=True).click()
    page.wait_for_url(f"**/interventions/{intervention_id}")
    a11y.assert_accessible(page)
    expect(page.locator(".intervention-status")).to_have_text("Completed")
    actions = page.locator("table.actions-table tbody tr")
    expect(actions).to_have_count(2)
    expect(actions.filter(has_text="convert_quote").get_by_text("Done", exact=True)).to_be_visible()
    invoice_link = actions.filter(has_text="convert_quote").get_by_role("link")
    assert "/?_f=invoiceOverview&id=" in (invoice_link.get_attribute("href") or "")
    shoot(page, "intervention")
    shoot(page, "intervention-actions", at="#actions-title")

    # Sellsy's web app is not reachable from here: the browser's request for it is answered by the test.
    asked: list[str] = []

    def sellsy_web_app(route: Any) -> None:
        asked.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>Sellsy</title><h1>Sellsy</h1>")

    page.context.route("https://www.sellsy.com/**", sellsy_web_app)
    page.get_by_role("link", name="Open the estimate in Sellsy").click()
    page.wait_for_url("https://www.sellsy.com/**")
    assert asked == [f"https://www.sellsy.com/?_f=estimateOverview&id={scenario.estimate_id}"]
    page.go_back()
    link_back = page.get_by_label("Link to this page").input_value()
    assert link_back == console.url(f"/accounts/{account_id}/interventions/{intervention_id}")
    page.goto(link_back)
    expect(page.get_by_role("heading", level=1).filter(has_text=intervention_id)).to_be_visible()


def test_the_intervention_page_in_french_uses_sellsys_labels(console: Console, stack: Any) -> None:
    account_id, intervention_id, _ = completed_intervention(stack)
    page = console.new_page(f"/accounts/{account_id}/interventions/{intervention_id}", locale="fr-FR")
    expect(page.locator(".intervention-status")).to_have_text("Terminée")
    expect(page.get_by_text("Accepté", exact=True)).to_be_visible()  # the estimate's status, Sellsy's French label
    expect(page.get_by_role("link", name="Ouvrir le devis dans Sellsy")).to_be_visible()
