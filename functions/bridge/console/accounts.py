"""Accounts pages: the list with each account's status and health."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from bridge.adapters import accounts_repo
from bridge.console import i18n, layout
from bridge.console.layout import ConsoleRequest

PAGE_SIZE = 50

i18n.add_messages(
    {
        "accounts.title": {"en": "Accounts", "fr": "Comptes"},
        "accounts.none": {"en": "No account yet.", "fr": "Aucun compte pour l'instant."},
        "accounts.col.name": {"en": "Name", "fr": "Nom"},
        "accounts.col.id": {"en": "Id", "fr": "Identifiant"},
        "accounts.col.status": {"en": "Status", "fr": "Statut"},
        "accounts.next_page": {"en": "Next accounts", "fr": "Comptes suivants"},
    }
)


def list_accounts(request: ConsoleRequest) -> Response:
    try:
        items, next_cursor = accounts_repo.list_accounts(limit=PAGE_SIZE, cursor=request.query.get("cursor") or None)
    except ValueError as exc:
        raise layout.ConsoleError(400, "error.bad_request") from exc
    return layout.render(request, "accounts_list.html", section="accounts", accounts=items, next_cursor=next_cursor)
