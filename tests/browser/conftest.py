"""Browser tests of the console: Playwright (sync API) driving Debian's Chromium, never a downloaded browser.

- ``browser``: one headless Chromium per test process, launched from ``/usr/bin/chromium`` (Playwright gives
  every launch a fresh temporary profile). Without that binary every test here is skipped with one message;
  ``.ci/run`` installs it, so CI runs them.
- ``console``: the embedded default (the shared ``stack`` fixture: moto server, Sellsy sandbox, local gateway,
  queue pump, import runner) and the console's base URL, plus an operator session signed in once with the
  stack's API token and reused by every test (``console.new_page()`` opens a page already signed in).
- ``shoot(page, name)``: a PNG of the page. Into ``tests/browser/screenshots/`` (the pictures README shows)
  when ``BROWSER_SCREENSHOTS=1``, else into the test's temporary folder, so a normal run leaves the tree clean.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
VIEWPORT = {"width": 1100, "height": 720}
SKIP_REASON = "browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium; .ci/run does it)"
ACTION_TIMEOUT_MS = 15_000


def _chromium_missing() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return True
    return not os.access(CHROMIUM, os.X_OK)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    mine = [item for item in items if here in Path(str(item.fspath)).parents]
    for item in mine:
        item.add_marker(pytest.mark.browser)
        item.add_marker(pytest.mark.e2e)
    if mine and _chromium_missing():
        skip = pytest.mark.skip(reason=SKIP_REASON)
        for item in mine:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Console:
    """The running console and a signed-in operator session to open pages with."""

    base_url: str  # e.g. http://127.0.0.1:8123/console
    api_url: str
    api_token: str
    browser: Any
    storage_state: dict[str, Any] = field(default_factory=dict)
    _contexts: list[Any] = field(default_factory=list)

    def url(self, path: str = "") -> str:
        return self.base_url + path

    def new_context(self, *, signed_in: bool = True, locale: str = "en-GB") -> Any:
        context = self.browser.new_context(
            viewport=VIEWPORT,
            locale=locale,
            extra_http_headers={"Accept-Language": locale},
            storage_state=self.storage_state if signed_in else None,
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        self._contexts.append(context)
        return context

    def new_page(self, path: str = "", *, signed_in: bool = True, locale: str = "en-GB") -> Any:
        page = self.new_context(signed_in=signed_in, locale=locale).new_page()
        if path:
            page.goto(self.url(path))
        return page

    def sign_in(self, page: Any) -> None:
        """The local sign-in: paste the embedded default's API token into the sign-in form."""
        page.goto(self.url("/"))
        token = page.locator("form input[type=password]")
        token.fill(self.api_token)
        token.press("Enter")
        page.wait_for_load_state()
        assert page.locator("form input[type=password]").count() == 0, "sign-in did not open a session"

    def close_contexts(self) -> None:
        for context in self._contexts:
            context.close()
        self._contexts.clear()


@pytest.fixture(scope="session")
def console_session(stack: Any, browser: Any) -> Console:
    console = Console(
        base_url=f"{stack.api_url}/console", api_url=stack.api_url, api_token=stack.api_token, browser=browser
    )
    context = console.new_context(signed_in=False)
    page = context.new_page()
    console.sign_in(page)
    console.storage_state = context.storage_state()
    console.close_contexts()
    return console


@pytest.fixture
def console(console_session: Console) -> Iterator[Console]:
    """The console with a signed-in session; pages opened in a test are closed after it. (A test that wipes moto
    keeps the session valid: the stack stores its API token, the local session key, again after every reset.)"""
    yield console_session
    console_session.close_contexts()


def connect_account(
    stack: Any, *, triggers: list[dict[str, Any]] | None = None, name: str = "Console test", webhook: bool = True
) -> str:
    """A new account connected to the stack's Sellsy sandbox (client credentials), its webhook registered."""
    from bridge.domain.accounts import AccountSettings
    from bridge.flows import accounts as account_flows

    account_id = f"ui-{uuid.uuid4().hex[:10]}"
    account_flows.create_account(
        name=f"{name} {account_id[-4:]}",
        account_id=account_id,
        settings=AccountSettings.model_validate({"triggers": triggers or [], "sync_direction": "both"}),
        webhook_signing_key=f"key-{uuid.uuid4().hex}",
    )
    account_flows.connect_client_credentials(
        account_id, client_id=stack.sandbox.client_id, client_secret=stack.sandbox.client_secret
    )
    if webhook:
        account_flows.register_webhook(account_id, endpoint_url=f"{stack.api_url}/webhooks/sellsy/{account_id}")
    return account_id


def settle(stack: Any) -> None:
    """Every webhook the sandbox owes delivered and every queued message worked."""
    stack.sandbox.wait_webhooks_idle()
    assert stack.pump.wait_idle(timeout=60)


@pytest.fixture
def shoot(tmp_path: Path) -> Callable[..., Path]:
    """``shoot(page, "exchanges")`` saves a PNG of the page's viewport from the top (or from the element ``at``
    names, a CSS selector) and returns its path."""
    folder = SCREENSHOTS if os.environ.get("BROWSER_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str, at: str | None = None) -> Path:
        page.evaluate("() => window.scrollTo(0, 0)")
        if at:
            page.locator(at).first.evaluate("(element) => element.scrollIntoView()")
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), type="png")
        assert path.stat().st_size > 1000, f"screenshot {name} is empty"
        return path

    return take
