"""The sign-in page in a real browser: the token opens a session, the pages behind it open, keyboard and labels."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import a11y
from tests.browser.conftest import Console


def test_signing_in_with_the_token_opens_the_console(console: Console) -> None:
    page = console.new_page("/exchanges", signed_in=False)
    assert "/console/signin" in page.url
    a11y.assert_accessible(page)
    page.get_by_label("API token").fill(console.api_token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/**exchanges**")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def test_a_wrong_token_keeps_the_sign_in_page(console: Console) -> None:
    page = console.new_page("/accounts", signed_in=False)
    page.get_by_label("API token").fill("not-the-token-at-all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert "/console/signin" in page.url or page.locator("input[type=password]").count() == 1


@pytest.mark.parametrize("locale", ["fr-FR", "en-GB"])
def test_the_signed_in_session_follows_the_browser_language(console: Console, locale: str) -> None:
    page = console.new_page("/exchanges", locale=locale)
    nav = page.get_by_role("navigation")
    expect(nav.get_by_role("link", name="Échanges" if locale == "fr-FR" else "Exchanges")).to_be_visible()
