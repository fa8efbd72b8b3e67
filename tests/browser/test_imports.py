"""Imports in a real browser: start one, watch its progress per stream until it finishes, read its summary and
reconciliation report; without JavaScript the page offers a refresh link instead."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser import a11y
from tests.browser.conftest import Console, connect_account


def test_start_an_import_and_watch_it_finish(console: Console, stack: Any, shoot: Any) -> None:
    account_id = connect_account(stack, name="Import", webhook=False)
    page = console.new_page(f"/accounts/{account_id}/imports")
    expect(page.get_by_text("No import has run for this account yet.")).to_be_visible()
    a11y.assert_accessible(page)
    page.get_by_role("button", name="Start an import now").click()
    page.wait_for_url("**/imports/*?notice=started")
    expect(page.get_by_role("status").filter(has_text="Import started.")).to_be_visible()
    # Dozens of Sellsy calls take seconds: the run page first shows it running, with its live note.
    assert page.locator("#run-status").get_attribute("data-status") == "running"
    expect(page.get_by_text("This page follows the run by itself.")).to_be_visible()
    # The page polls the run's progress and reloads itself once the run has ended.
    page.wait_for_selector('#run-status[data-status="done"]', timeout=90_000)
    expect(page.locator("#run-status")).to_have_text("Done")
    customers = page.locator('tr[data-stream="customers"] td[data-outcome="created"]')
    assert int(customers.inner_text()) > 0
    expect(page.locator("#run-summary")).to_be_visible()
    expect(page.locator("#reconciliation").get_by_text("document(s) out of balance")).to_be_visible()
    expect(page.locator("#run-live")).to_have_count(0)  # nothing left to follow
    a11y.assert_accessible(page)
    shoot(page, "import-run")
    shoot(page, "import-reconciliation", at="#reconciliation-title")

    page.get_by_role("link", name="Back to the imports").click()
    run = page.locator("table.runs tbody tr")
    expect(run).to_have_count(1)
    expect(run.get_by_text("Done")).to_be_visible()


def test_without_javascript_a_running_import_offers_a_refresh_link(console: Console, stack: Any) -> None:
    from bridge.flows.importer.run import start_run

    account_id = connect_account(stack, name="No JS", webhook=False)
    state = start_run(account_id, "EUR")  # recorded, not yet worked on: it stays running
    context = console.browser.new_context(java_script_enabled=False, storage_state=console.storage_state)
    try:
        page = context.new_page()
        page.goto(console.url(f"/accounts/{account_id}/imports/{state['run_id']}"))
        expect(page.locator("#run-status")).to_have_text("Running")
        refresh = page.get_by_role("link", name="Refresh")
        expect(refresh).to_be_visible()
        refresh.click()
        expect(page.locator("#run-status")).to_have_text("Running")
        a11y.assert_fields_labelled(page)
    finally:
        context.close()
