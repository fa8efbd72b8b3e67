"""`make smoke` against the embedded default: the same code a deployed stack is checked with."""

from __future__ import annotations

from typing import Any

import pytest

from infra.smoke import bearer_caller, run

pytestmark = [pytest.mark.e2e]


def test_smoke_passes_against_the_embedded_default(stack: Any, capsys: Any) -> None:
    from infra.local.stack import store_api_token
    from tests.fixtures.api import reset_app_caches

    store_api_token(stack.api_token)  # earlier tests may have wiped moto (aws_clean)
    reset_app_caches()
    account_id = run(stack.api_url, bearer_caller(stack.api_url, stack.api_token))
    out = capsys.readouterr().out
    assert account_id.startswith("smoke-") and "FAIL" not in out
    assert out.count("ok  ") == 12


def test_smoke_fails_loudly_when_the_api_refuses_the_caller(stack: Any) -> None:
    with pytest.raises(SystemExit, match="create account: 401"):
        run(stack.api_url, bearer_caller(stack.api_url, "not-the-token"))
