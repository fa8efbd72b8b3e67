"""What the exchange log, interventions and imports pages share: they show one account at a time.

``/console/exchanges`` (and the same for interventions and imports) lists the accounts to choose from and
goes straight to the only one when there is one; the pages themselves live under
``/console/accounts/{account_id}/...``. Times typed in the forms are UTC (``datetime-local`` fields carry
no time zone); a value that does not parse is a problem shown on the page, never a 500.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools.event_handler import Response

from bridge.adapters import accounts_repo
from bridge.console import i18n, layout
from bridge.console.layout import ConsoleError, ConsoleRequest
from bridge.domain.accounts import ACCOUNT_ID_PATTERN, Account

_ACCOUNT_ID = re.compile(ACCOUNT_ID_PATTERN)
CHOOSER_LIMIT = 200
SECTIONS = ("exchanges", "interventions", "imports")

i18n.add_messages(
    {
        "choose.title": {"en": "Choose an account", "fr": "Choisissez un compte"},
        "choose.intro": {
            "en": "Each account has its own {what}. Open them for:",
            "fr": "Chaque compte a ses propres {what}. Ouvrez-les pour :",
        },
        "choose.none": {
            "en": "No account yet: connect one on the Accounts page first.",
            "fr": "Aucun compte pour l'instant : connectez-en un d'abord sur la page Comptes.",
        },
        "choose.what.exchanges": {"en": "exchanges", "fr": "échanges"},
        "choose.what.interventions": {"en": "interventions", "fr": "interventions"},
        "choose.what.imports": {"en": "imports", "fr": "imports"},
        "account.unknown": {"en": "There is no account {account_id}.", "fr": "Il n'y a pas de compte {account_id}."},
        "time.utc_hint": {"en": "UTC, e.g. 2026-11-21 08:00", "fr": "UTC, par ex. 2026-11-21 08:00"},
        "paging.next": {"en": "Next page", "fr": "Page suivante"},
        "paging.first": {"en": "First page", "fr": "Première page"},
        "paging.label": {"en": "Pages", "fr": "Pages"},
        "filters.apply": {"en": "Filter", "fr": "Filtrer"},
        "filters.reset": {"en": "Clear the filters", "fr": "Effacer les filtres"},
        "filters.any": {"en": "Any", "fr": "Tous"},
        "filters.legend": {"en": "Filters", "fr": "Filtres"},
        "problem.bad_time": {
            "en": "“{value}” is not a date and time (use 2026-11-21T08:00).",
            "fr": "« {value} » n'est pas une date et une heure (utilisez 2026-11-21T08:00).",
        },
        "problem.bad_day": {
            "en": "“{value}” is not a date (use 2026-11-21).",
            "fr": "« {value} » n'est pas une date (utilisez 2026-11-21).",
        },
        "problem.bad_value": {
            "en": "“{value}” is not a valid {field}.",
            "fr": "« {value} » n'est pas une valeur valide pour {field}.",
        },
        "problem.bad_cursor": {
            "en": "This page link has expired: start again from the first page.",
            "fr": "Ce lien de page a expiré : recommencez depuis la première page.",
        },
    }
)


def account_or_404(account_id: str) -> Account:
    account = accounts_repo.get_account(account_id) if _ACCOUNT_ID.match(account_id) else None
    if account is None:
        raise ConsoleError(404, "account.unknown", account_id=account_id[:64])
    return account


def base_of(section: str) -> Callable[[str], str]:
    """The address of an account's ``section`` pages, from the account id."""
    return lambda account_id: f"{layout.ROOT}/accounts/{account_id}/{section}"


Problem = tuple[str, dict[str, str]]


class QueryFilters:
    """A list page's filters as its query string gives them (``values``, as the flow takes them), and the
    problems of those that do not parse (shown on the page instead of the list)."""

    def __init__(self, request: ConsoleRequest) -> None:
        self._query = request.query
        self.values: dict[str, Any] = {}
        self.problems: list[Problem] = []

    def raw(self, name: str) -> str:
        return self._query.get(name, "").strip()

    def shown(self, *names: str) -> dict[str, str]:
        """The values as typed, for the form to show them again."""
        return {name: self._query.get(name, "") for name in names}

    def accept(self, name: str, valid: Callable[[str], object]) -> None:
        """Keep ``name`` when ``valid`` says so; a value that is not is a problem."""
        value = self.raw(name)
        if value and not valid(value):
            self.problems.append(("problem.bad_value", {"value": value[:40], "field": name}))
        elif value:
            self.values[name] = value

    def one_of(self, name: str, allowed: Container[str]) -> None:
        self.accept(name, lambda value: value in allowed)

    def parsed(self, name: str, parse: Callable[[str], Any], problem: str) -> None:
        """Keep what ``parse`` makes of ``name``; a ValueError is the problem ``problem``."""
        value = self.raw(name)
        try:
            parsed = parse(value)
        except ValueError:
            self.problems.append((problem, {"value": value[:40]}))
            return
        if parsed:
            self.values[name] = parsed


def list_page(
    request: ConsoleRequest,
    account_id: str,
    section: str,
    filters: QueryFilters,
    read: Callable[[str | None], tuple[list[Any], str | None]],
    **context: Any,
) -> Response:
    """One page of an account's ``section`` list (``{section}_list.html``): what ``read`` gives from the
    request's cursor, unless a filter did not parse; a cursor ``read`` refuses (ValueError) is a problem too."""
    account = account_or_404(account_id)
    cursor = request.query.get("cursor") or None
    items: list[Any] = []
    next_cursor = None
    if not filters.problems:
        try:
            items, next_cursor = read(cursor)
        except ValueError:
            filters.problems.append(("problem.bad_cursor", {}))
    return layout.render(
        request,
        f"{section}_list.html",
        status=400 if filters.problems else 200,
        section=section,
        heading=f"{section}.of",
        account=account,
        base=base_of(section)(account_id),
        items=items,
        next_cursor=next_cursor,
        paged=bool(cursor),
        problems=filters.problems,
        **context,
    )


def choose_account(request: ConsoleRequest, section: str) -> Response:
    """The accounts to open ``section`` for; the only account's page directly."""
    accounts, _ = accounts_repo.list_accounts(limit=CHOOSER_LIMIT)
    accounts.sort(key=lambda a: (a.name.lower(), a.id))
    if len(accounts) == 1:
        return layout.redirect(f"{layout.ROOT}/accounts/{accounts[0].id}/{section}", status=302)
    return layout.render(request, "choose_account.html", section=section, accounts=accounts)


def first_page(request: ConsoleRequest) -> str:
    """This page's address with the same filters and no cursor."""
    kept = {k: v for k, v in request.query.items() if k not in ("cursor", "lang")}
    return f"{request.path}?{urlencode(kept)}" if kept else request.path


def parse_utc(value: str) -> datetime | None:
    """``2026-11-21T08:00`` (a form's datetime-local, taken as UTC) or ISO 8601 with a zone; ValueError else."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace(" ", "T", 1))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_day(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def form_time(moment: datetime | None) -> str:
    """A time as a datetime-local field shows it (UTC, minutes)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if moment else ""


def shown_time(value: str | datetime | None) -> str:
    """A stored ISO time as people read it: ``2026-11-21 08:00:05 UTC``."""
    return layout.format_moment(value, "%Y-%m-%d %H:%M:%S UTC")


layout.add_template_globals(shown_time=shown_time, first_page=first_page)
