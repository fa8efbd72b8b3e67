"""What the exchange log, interventions and imports pages share: they show one account at a time.

``/console/exchanges`` (and the same for interventions and imports) lists the accounts to choose from and
goes straight to the only one when there is one; the pages themselves live under
``/console/accounts/{account_id}/...``. Times typed in the forms are UTC (``datetime-local`` fields carry
no time zone); a value that does not parse is a problem shown on the page, never a 500.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
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
    if not value:
        return ""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


layout.add_template_globals(shown_time=shown_time, first_page=first_page)
