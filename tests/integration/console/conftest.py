"""A browser-like client of the console on the embedded default (loopback gateway, moto, sandbox)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fixtures.api import reset_app_caches

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NONCE = re.compile(r'name="signin_nonce" value="([^"]+)"')


class Browser:
    """Follows no redirect by itself (tests look at them); sends Origin on POSTs as browsers do."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.client = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any], *, origin: str | None = "") -> httpx.Response:
        headers = {} if origin is None else {"Origin": origin or self.base_url}
        return self.client.post(path, data=data, headers=headers)

    def csrf(self, path: str = "/console/accounts") -> str:
        page = self.get(path)
        assert page.status_code == 200, page.text
        found = CSRF.search(page.text)
        assert found, page.text
        return found.group(1)

    def sign_in(self, token: str, next_path: str = "/console/accounts") -> httpx.Response:
        form = self.get("/console/signin")
        nonce = NONCE.search(form.text)
        assert nonce, form.text
        return self.post("/console/signin", {"token": token, "signin_nonce": nonce.group(1), "next": next_path})


@pytest.fixture
def console_stack(stack: Any) -> Any:
    from infra.local.stack import store_api_token

    store_api_token(stack.api_token)  # earlier tests may have wiped moto (aws_clean)
    reset_app_caches()
    return stack


@pytest.fixture
def browser(console_stack: Any) -> Iterator[Browser]:
    visitor = Browser(console_stack.api_url)
    yield visitor
    visitor.client.close()


@pytest.fixture
def signed_in(browser: Browser, console_stack: Any) -> Browser:
    answer = browser.sign_in(console_stack.api_token)
    assert answer.status_code == 303, answer.text
    return browser
