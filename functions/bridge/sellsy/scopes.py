"""The OAuth scopes Sellsy requires on the routes the connector calls (each operation's ``security`` in
Sellsy's API description), so a 403 can name what the token lacks. A test checks this table against the
file; a route missing here only loses the scope's name in the message."""

from __future__ import annotations

import re
from functools import cache

# (method, path template) -> scopes, all required.
ROUTE_SCOPES: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/taxes"): ("taxes.read",),
    ("GET", "/units"): ("accounts.read",),
    ("GET", "/currencies"): ("accounts.read",),
    ("GET", "/quotas"): ("accounts.read",),
    ("GET", "/rate-categories"): ("rate-categories.read",),
    ("GET", "/custom-fields"): ("custom-fields.read",),
    ("POST", "/companies/search"): ("companies.read",),
    ("GET", "/companies/{id}"): ("companies.read",),
    ("PUT", "/companies/{id}"): ("companies.write",),
    ("POST", "/companies/{id}/convert"): ("companies.write",),
    ("GET", "/companies/{companyId}/addresses/{id}"): ("companies.read",),
    ("PUT", "/companies/{companyId}/addresses/{id}"): ("companies.write",),
    ("GET", "/companies/{id}/custom-fields"): ("companies.read", "custom-fields.read"),
    ("POST", "/individuals/search"): ("individuals.read",),
    ("GET", "/individuals/{id}"): ("individuals.read",),
    ("PUT", "/individuals/{id}"): ("individuals.write",),
    ("POST", "/individuals/{id}/convert"): ("individuals.write",),
    ("GET", "/individuals/{individualId}/addresses/{id}"): ("individuals.read",),
    ("PUT", "/individuals/{individualId}/addresses/{id}"): ("individuals.write",),
    ("GET", "/individuals/{id}/custom-fields"): ("individuals.read", "custom-fields.read"),
    ("POST", "/contacts/search"): ("contacts.read",),
    ("GET", "/contacts/{id}"): ("contacts.read",),
    ("PUT", "/contacts/{id}"): ("contacts.write",),
    ("GET", "/contacts/{contactId}/addresses/{id}"): ("contacts.read",),
    ("PUT", "/contacts/{contactId}/addresses/{id}"): ("contacts.write",),
    ("GET", "/staffs/{id}"): ("staffs.read",),
    ("POST", "/items/search"): ("items.read",),
    ("GET", "/items/{id}/prices"): ("items.read",),
    ("POST", "/estimates/search"): ("estimates.read",),
    ("GET", "/estimates/{id}"): ("estimates.read",),
    ("GET", "/estimates/{id}/custom-fields"): ("estimates.read", "custom-fields.read"),
    ("POST", "/estimates/{documentId}/files"): ("estimates.read", "files.write"),
    ("GET", "/estimates/{documentId}/files"): ("estimates.read", "files.read"),
    ("POST", "/opportunities/search"): ("opportunities.read",),
    ("GET", "/opportunities/{id}"): ("opportunities.read",),
    ("GET", "/opportunities/{id}/custom-fields"): ("opportunities.read", "custom-fields.read"),
    ("POST", "/opportunities/{opportunityId}/files"): ("opportunities.read", "files.write"),
    ("GET", "/opportunities/{opportunityId}/files"): ("opportunities.read", "files.read"),
    ("POST", "/invoices"): ("invoices.write",),
    ("POST", "/invoices/search"): ("invoices.read",),
    ("GET", "/invoices/{id}"): ("invoices.read",),
    ("POST", "/invoices/{id}/validate"): ("invoices.write",),
    ("POST", "/invoices/{documentId}/files"): ("invoices.read", "files.write"),
    ("GET", "/invoices/{documentId}/files"): ("invoices.read", "files.read"),
    ("POST", "/credit-notes/search"): ("credit-notes.read",),
    ("GET", "/credit-notes/{id}"): ("credit-notes.read",),
    ("GET", "/credit-notes/{id}/invoices"): ("credit-notes.read", "invoices.read"),
    ("POST", "/comments"): ("comments.write",),
    ("POST", "/comments/search"): ("comments.read",),
    ("GET", "/webhooks"): ("webhooks.read",),
    ("POST", "/webhooks"): ("webhooks.write",),
    ("GET", "/webhooks/events"): ("webhooks.read",),
    ("GET", "/webhooks/{id}"): ("webhooks.read",),
    ("PUT", "/webhooks/{id}"): ("webhooks.write",),
    ("DELETE", "/webhooks/{id}"): ("webhooks.write",),
}


def template_regex(template: str) -> re.Pattern[str]:
    """``/companies/{id}/addresses`` matches ``/companies/12/addresses``: each ``{name}`` stands for one segment."""
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")


@cache
def _patterns() -> list[tuple[str, re.Pattern[str], tuple[str, ...]]]:
    compiled = [(method, template_regex(template), scopes) for (method, template), scopes in ROUTE_SCOPES.items()]
    # Literal segments first: /webhooks/events must not match /webhooks/{id}.
    compiled.sort(key=lambda entry: entry[1].pattern.count("[^/]+"))
    return compiled


def required_scope(method: str | None, path: str | None) -> str | None:
    """``"accounts.read"`` for ``GET /units``; several scopes joined with " and "; None when unknown."""
    if not method or not path:
        return None
    bare = path.split("?", 1)[0].rstrip("/") or "/"
    for route_method, pattern, scopes in _patterns():
        if route_method == method.upper() and pattern.match(bare):
            return " and ".join(scopes)
    return None
