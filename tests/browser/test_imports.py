"""Imports in a real browser: start one, watch its progress per stream until it finishes, read its summary and
reconciliation report; without JavaScript the page offers a refresh link instead."""

from __future__ import annotations

from typing import Any

from tests.browser import a11y
from tests.browser.conftest import Console, connect_account


def test_start_an_import_and_watch_it_finish(console: Console, stack: Any, shoot: Any) -> None:
    account_id = connect_account(stack, name="Import", webhook=False)
    page = console.new_page(f"/accounts/{account_id}/imports")
    assert page.get_by_text("No import has run for this account yet.").is_visible()
    a11y.assert_accessible(page)
    page.get_by_role("button", name="Start an import now").click()
    page.wait_for_url("**/imports/*?notice=started")
    assert page.get_by_role("status").filter(has_text="Import started.").is_visible()
    # Dozens of Sellsy calls take seconds: the run page first shows it running, with its live note.
    assert page.locator("#run-status").get_attribute("data-status") == "running"
    assert page.get_by_text("This page follows the run by itself.").is_visible()
    # The page polls the run's progress and reloads itself once the run has ended.
    page.wait_for_selector('#run-status[data-status="done"]', timeout=90_000)
    assert page.locator("#run-status").inner_text() == "Done"
    customers = page.locator('tr[data-stream="customers"] td[data-outcome="created"]')
    assert int(customers.inner_text()) > 0
    assert page.locator("#run-summary").is_visible()
    assert page.locator("#reconciliation").get_by_text("document(s) out of balance").is_visible()
    assert page.locator("#run-live").count() == 0  # nothing left to follow
    a11y.assert_accessible(page)
    shoot(page, "import-run")
    shoot(page, "import-reconciliation", at="#reconciliation-title")

    page.get_by_role("link", name="Back to the imports").click()
    run = page.locator("table.runs tbody tr")
    assert run.count() == 1 and run.get_by_text("Done").is_visible()


def test_without_javascript_a_running_import_offers_a_refresh_link(console: Console, stack: Any) -> None:
    from bridge.flows.importer.run import start_run

    account_id = connect_account(stack, name="No JS", webhook=False)
    state = start_run(account_id, "EUR")  # recorded, not yet worked on: it stays running
    context = console.browser.new_context(java_script_enabled=False, storage_state=console.storage_state)
    try:
        page = context.new_page()
        page.goto(console.url(f"/accounts/{account_id}/imports/{state['run_id']}"))
        assert page.locator("#run-status").inner_text() == "Running"
        refresh = page.get_by_role("link", name="Refresh")
        assert refresh.is_visible()
        refresh.click()
        assert page.locator("#run-status").inner_text() == "Running"
        a11y.assert_fields_labelled(page)
    finally:
        context.close()
