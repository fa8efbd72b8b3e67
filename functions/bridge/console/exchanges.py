"""Exchange log pages: filter and page through an account's exchanges, read one, replay one, replay every
failure since a time (a confirmation page says what will be replayed and what left alone, then a report).

Views only read the request and call the exchange-log and replay flows the JSON API uses.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.event_handler import Response

from bridge.console import i18n, layout, per_account
from bridge.console.layout import ConsoleError, ConsoleRequest
from bridge.flows import exchange_log
from bridge.flows.exchange_log import DIRECTIONS, STATUSES, ExchangeRecord
from bridge.flows.replay import (
    BULK_REPLAY_MAX,
    ExchangeNotFound,
    NotReplayable,
    plan_failure_replay,
    replay_exchange,
    replay_failures,
)

PAGE_SIZE = 50
_EXCHANGE_ID = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{8}$")
_KIND = re.compile(r"^[a-z][a-z0-9_.\-]{0,63}$")
_TEXT = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
_INTERVENTION_ID = re.compile(r"^(est|opp)-\d+(-r\d+)?$")
DEFAULT_REPLAY_WINDOW = timedelta(hours=24)

i18n.add_messages(
    {
        "exchanges.title": {"en": "Exchange log", "fr": "Journal des échanges"},
        "exchanges.of": {"en": "Exchanges of {name}", "fr": "Échanges de {name}"},
        "exchanges.none": {
            "en": "No exchange matches these filters.",
            "fr": "Aucun échange ne correspond à ces filtres.",
        },
        "exchanges.direction": {"en": "Direction", "fr": "Sens"},
        "exchanges.kind": {"en": "Kind", "fr": "Type"},
        "exchanges.kind_hint": {"en": "e.g. intervention_created", "fr": "par ex. intervention_created"},
        "exchanges.status": {"en": "Status", "fr": "Statut"},
        "exchanges.sellsy_type": {"en": "Sellsy object type", "fr": "Type d'objet Sellsy"},
        "exchanges.sellsy_type_hint": {"en": "e.g. estimate, invoice", "fr": "par ex. estimate, invoice"},
        "exchanges.sellsy_id": {"en": "Sellsy object id", "fr": "Identifiant de l'objet Sellsy"},
        "exchanges.field_id": {"en": "Field record", "fr": "Fiche terrain"},
        "exchanges.since": {"en": "From", "fr": "Du"},
        "exchanges.until": {"en": "Until", "fr": "Au"},
        "exchanges.col.time": {"en": "Time", "fr": "Heure"},
        "exchanges.col.object": {"en": "Object", "fr": "Objet"},
        "exchanges.col.reason": {"en": "Reason", "fr": "Raison"},
        "exchanges.open": {"en": "Details", "fr": "Détails"},
        "exchanges.open_label": {"en": "Details of exchange {id}", "fr": "Détails de l'échange {id}"},
        "direction.inbound": {"en": "Sellsy → field", "fr": "Sellsy → terrain"},
        "direction.outbound": {"en": "Field → Sellsy", "fr": "Terrain → Sellsy"},
        "direction.import": {"en": "Import", "fr": "Import"},
        "direction.internal": {"en": "Internal", "fr": "Interne"},
        "status.ok": {"en": "Succeeded", "fr": "Réussi"},
        "status.skipped": {"en": "Skipped", "fr": "Ignoré"},
        "status.failed": {"en": "Failed", "fr": "Échec"},
        "status.fixed": {"en": "Failed, fixed later", "fr": "Échec, corrigé ensuite"},
        "exchange.title": {"en": "Exchange {id}", "fr": "Échange {id}"},
        "exchange.account": {"en": "Account", "fr": "Compte"},
        "exchange.when": {"en": "When", "fr": "Quand"},
        "exchange.duration": {"en": "Duration", "fr": "Durée"},
        "exchange.correlation": {"en": "Correlation id", "fr": "Identifiant de corrélation"},
        "exchange.request": {"en": "Request (masked summary)", "fr": "Requête (résumé masqué)"},
        "exchange.response": {"en": "Response (masked summary)", "fr": "Réponse (résumé masqué)"},
        "exchange.nothing": {"en": "Nothing recorded.", "fr": "Rien d'enregistré."},
        "exchange.fixed_by": {
            "en": "This failure was fixed by a later success:",
            "fr": "Cet échec a été corrigé par un succès ultérieur :",
        },
        "exchange.replay_of": {"en": "Replay of", "fr": "Rejeu de"},
        "exchange.replayed_by": {"en": "Replayed as", "fr": "Rejoué en"},
        "exchange.replay": {"en": "Replay this exchange", "fr": "Rejouer cet échange"},
        "exchange.replay_help": {
            "en": "Puts the work back on the queue; what already succeeded is not done twice.",
            "fr": "Remet le travail dans la file ; ce qui a déjà réussi n'est pas refait.",
        },
        "exchange.not_replayable": {
            "en": "This exchange cannot be replayed: {reason}",
            "fr": "Cet échange ne peut pas être rejoué : {reason}",
        },
        "exchange.replayed": {
            "en": "Replay requested: exchange {id} follows it.",
            "fr": "Rejeu demandé : l'échange {id} le suit.",
        },
        "exchange.already_replayed": {
            "en": "This exchange was replayed before; nothing was queued again.",
            "fr": "Cet échange a déjà été rejoué ; rien n'a été remis en file.",
        },
        "exchange.history": {"en": "History of this Sellsy object", "fr": "Historique de cet objet Sellsy"},
        "exchange.intervention": {"en": "Intervention {id}", "fr": "Intervention {id}"},
        "exchange.back": {"en": "Back to the exchange log", "fr": "Retour au journal"},
        "exchange.unknown": {"en": "There is no exchange {id}.", "fr": "Il n'y a pas d'échange {id}."},
        "bulk.title": {"en": "Replay every failure", "fr": "Rejouer tous les échecs"},
        "bulk.intro": {
            "en": "Replays every failed exchange of this account from this time on, oldest first.",
            "fr": "Rejoue tous les échanges en échec de ce compte depuis cette heure, du plus ancien au plus récent.",
        },
        "bulk.open": {"en": "Replay failures…", "fr": "Rejouer les échecs…"},
        "bulk.check": {"en": "See what would be replayed", "fr": "Voir ce qui serait rejoué"},
        "bulk.confirm_title": {"en": "Confirm the replay", "fr": "Confirmer le rejeu"},
        "bulk.will_replay": {
            "en": "{count} failed exchange(s) since {since} will be replayed.",
            "fr": "{count} échange(s) en échec depuis le {since} seront rejoués.",
        },
        "bulk.more": {
            "en": "More than {limit} to replay: this replays the {limit} oldest; ask again for the rest.",
            "fr": "Plus de {limit} à rejouer : ceci rejoue les {limit} plus anciens ; recommencez pour la suite.",
        },
        "bulk.will_skip": {
            "en": "{count} left alone (see why below).",
            "fr": "{count} laissé(s) de côté (raisons ci-dessous).",
        },
        "bulk.nothing": {"en": "Nothing to replay since {since}.", "fr": "Rien à rejouer depuis le {since}."},
        "bulk.confirm": {"en": "Replay {count} exchange(s)", "fr": "Rejouer {count} échange(s)"},
        "bulk.cancel": {"en": "Cancel", "fr": "Annuler"},
        "bulk.done_title": {"en": "Replay done", "fr": "Rejeu effectué"},
        "bulk.done": {
            "en": "{replayed} replayed, {skipped} skipped.",
            "fr": "{replayed} rejoué(s), {skipped} ignoré(s).",
        },
        "bulk.replayed_list": {"en": "Replayed", "fr": "Rejoués"},
        "bulk.skipped_list": {"en": "Left alone", "fr": "Laissés de côté"},
        "skip.fixed": {"en": "fixed by a later success", "fr": "corrigé par un succès ultérieur"},
        "skip.already_replayed": {"en": "replayed before", "fr": "déjà rejoué"},
        "skip.not_replayable": {"en": "nothing to replay", "fr": "rien à rejouer"},
        "bulk.col.exchange": {"en": "Exchange", "fr": "Échange"},
        "bulk.col.why": {"en": "Why", "fr": "Pourquoi"},
        "bulk.col.replay": {"en": "Replay exchange", "fr": "Échange de rejeu"},
    }
)


_base = per_account.base_of("exchanges")


def _filters(request: ConsoleRequest) -> per_account.QueryFilters:
    """The filters of the query string, as the flow takes them, and the problems of those that don't parse."""
    filters = per_account.QueryFilters(request)
    filters.one_of("direction", DIRECTIONS)
    filters.one_of("status", STATUSES)
    for name, pattern in (("kind", _KIND), ("sellsy_type", _TEXT), ("sellsy_id", _TEXT), ("field_id", _TEXT)):
        filters.accept(name, pattern.match)
    for name in ("since", "until"):
        filters.parsed(name, per_account.parse_utc, "problem.bad_time")
    return filters


def list_page(request: ConsoleRequest, account_id: str) -> Response:
    filters = _filters(request)
    shown = filters.shown("direction", "status", "kind", "sellsy_type", "sellsy_id", "field_id", "since", "until")
    for name in ("since", "until"):
        shown[name] = per_account.form_time(filters.values.get(name)) or shown[name]
    replay_since = filters.values.get("since") or datetime.now(UTC) - DEFAULT_REPLAY_WINDOW
    return per_account.list_page(
        request,
        account_id,
        "exchanges",
        filters,
        lambda cursor: exchange_log.list_exchanges(
            account_id, limit=PAGE_SIZE, cursor=cursor, summaries=False, **filters.values
        ),
        shown=shown,
        directions=DIRECTIONS,
        statuses=STATUSES,
        replay_since=per_account.form_time(replay_since),
    )


def _record_or_404(account_id: str, exchange_id: str) -> ExchangeRecord:
    record = exchange_log.get_exchange(account_id, exchange_id) if _EXCHANGE_ID.match(exchange_id) else None
    if record is None:
        raise ConsoleError(404, "exchange.unknown", id=exchange_id[:40])
    return record


def _pretty(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def detail_page(
    request: ConsoleRequest,
    account_id: str,
    exchange_id: str,
    *,
    notice: tuple[str, dict[str, str]] | None = None,
    problem: tuple[str, dict[str, str]] | None = None,
    status: int = 200,
) -> Response:
    account = per_account.account_or_404(account_id)
    record = _record_or_404(account_id, exchange_id)
    replayed = request.query.get("replayed", "")
    if notice is None and _EXCHANGE_ID.match(replayed):
        notice = ("exchange.replayed", {"id": replayed})
    elif notice is None and request.query.get("notice") == "already_replayed":
        notice = ("exchange.already_replayed", {})
    return layout.render(
        request,
        "exchange_detail.html",
        status=status,
        section="exchanges",
        account=account,
        base=_base(account_id),
        record=record,
        request_text=_pretty(record.request),
        response_text=_pretty(record.response),
        intervention_id=record.field_id if record.field_id and _INTERVENTION_ID.match(record.field_id) else None,
        notice=notice,
        problem=problem,
    )


def replay_one(request: ConsoleRequest, account_id: str, exchange_id: str) -> Response:
    per_account.account_or_404(account_id)
    _record_or_404(account_id, exchange_id)
    try:
        done = replay_exchange(account_id, exchange_id)
    except (NotReplayable, ExchangeNotFound) as exc:
        return detail_page(
            request, account_id, exchange_id, problem=("exchange.not_replayable", {"reason": str(exc)}), status=409
        )
    if done.already_replayed:
        return layout.redirect(f"{_base(account_id)}/{exchange_id}?notice=already_replayed")
    return layout.redirect(f"{_base(account_id)}/{exchange_id}?replayed={done.exchange_id}")


def _window(request: ConsoleRequest) -> tuple[datetime | None, datetime | None, list[tuple[str, dict[str, str]]]]:
    problems: list[tuple[str, dict[str, str]]] = []
    moments: list[datetime | None] = []
    for name in ("since", "until"):
        value = request.value(name)
        try:
            moments.append(per_account.parse_utc(value))
        except ValueError:
            problems.append(("problem.bad_time", {"value": value[:40]}))
            moments.append(None)
    if moments[0] is None and not problems:
        problems.append(("problem.bad_time", {"value": ""}))
    return moments[0], moments[1], problems


def confirm_replay_page(request: ConsoleRequest, account_id: str) -> Response:
    account = per_account.account_or_404(account_id)
    since, until, problems = _window(request)
    plan = None
    refusal = None
    if since is not None and not problems:
        try:
            plan = plan_failure_replay(account_id, since, until=until)
        except NotReplayable as exc:
            refusal = str(exc)
    return layout.render(
        request,
        "exchanges_replay_confirm.html",
        status=400 if problems else (409 if refusal else 200),
        section="exchanges",
        account=account,
        base=_base(account_id),
        since=since,
        until=until,
        since_value=per_account.form_time(since) or request.value("since"),
        until_value=per_account.form_time(until),
        plan=plan,
        refusal=refusal,
        problems=problems,
        limit=BULK_REPLAY_MAX,
    )


def replay_all(request: ConsoleRequest, account_id: str) -> Response:
    account = per_account.account_or_404(account_id)
    since, until, problems = _window(request)
    if problems or since is None:
        return confirm_replay_page(request, account_id)
    try:
        done = replay_failures(account_id, since, until=until)
    except NotReplayable:
        return confirm_replay_page(request, account_id)
    return layout.render(
        request,
        "exchanges_replay_done.html",
        section="exchanges",
        account=account,
        base=_base(account_id),
        since=since,
        done=done,
        limit=BULK_REPLAY_MAX,
    )
