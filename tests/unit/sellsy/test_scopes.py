"""The scope table used to name a 403's missing scope agrees with each operation's security in Sellsy's file."""

from __future__ import annotations

import pytest

from bridge.sellsy.scopes import ROUTE_SCOPES, required_scope
from tests.fixtures.contract import validator


def test_every_route_scope_is_the_files() -> None:
    paths = validator().raw["paths"]
    for (method, template), scopes in ROUTE_SCOPES.items():
        operation = paths[template][method.lower()]
        declared = {scope for entry in operation.get("security") or [] for values in entry.values() for scope in values}
        assert set(scopes) == declared, (method, template)


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/units", "accounts.read"),
        ("GET", "/webhooks/events", "webhooks.read"),
        ("GET", "/webhooks/12", "webhooks.read"),
        ("GET", "/companies/3/addresses/4", "companies.read"),
        ("GET", "/credit-notes/4/invoices", "credit-notes.read and invoices.read"),
        ("POST", "/units", None),
        ("GET", "/no-such-route", None),
    ],
)
def test_required_scope_matches_paths_to_templates(method: str, path: str, scope: str | None) -> None:
    assert required_scope(method, path) == scope
