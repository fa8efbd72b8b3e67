"""The console's error pages through the real API handler (moto): an unexpected error shows the request
id and nothing else; console routes stay out of the JSON API's OpenAPI document."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridge.console import accounts, session
from tests.fixtures.api import api_token, invoke


def session_cookie() -> str:
    opened = session.new_session("operator")
    return f"{session.SESSION_COOKIE}={session.encode(opened, session.derive_key(api_token()))}"


def test_an_unexpected_error_is_a_500_page_with_the_request_id_only(
    api_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(accounts.accounts_repo, "list_accounts", broken)
    answer = invoke("GET", "/console/accounts", token=None, headers={"cookie": session_cookie()})
    assert answer.status == 500
    assert answer.headers["content-type"].startswith("text/html")
    assert "hunter2" not in answer.text and "RuntimeError" not in answer.text
    assert "request" in answer.text.lower()


def test_console_pages_are_not_in_the_openapi_document(api_env: Any) -> None:
    document = json.loads(invoke("GET", "/openapi.json", token=None).text)
    assert not [path for path in document["paths"] if path.startswith("/console")]


def test_html_pages_carry_a_content_security_policy_and_no_cache(api_env: Any) -> None:
    answer = invoke("GET", "/console/signin", token=None)
    assert answer.status == 200
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-store"
