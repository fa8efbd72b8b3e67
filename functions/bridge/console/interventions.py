"""Interventions pages: filter and page through an account's interventions (status, customer, creation days),
and one intervention with its whole context, deep links to Sellsy (the account's deep-link host) and back to
this page, and the outbound actions of its completion with what each created in Sellsy.

Views read through the same adapters as the field API (``field_repo``, ``ledger_repo``); nothing is written.
"""

from __future__ import annotations

import json
import re
from functools import partial
from typing import Any

from aws_lambda_powertools.event_handler import Response

from bridge.adapters import field_repo, ledger_repo
from bridge.console import i18n, layout, per_account
from bridge.console.layout import ConsoleError, ConsoleRequest
from bridge.domain import sellsy_rules
from bridge.domain.interventions import CUSTOMER_ID, STATUSES, Intervention, deep_link

PAGE_SIZE = 50
_INTERVENTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# Extra fields the outbound side adds that the page shows in their own sections.
_SHOWN_APART = frozenset({"outbound", "sellsy_links"})

i18n.add_messages(
    {
        "interventions.of": {"en": "Interventions of {name}", "fr": "Interventions de {name}"},
        "interventions.none": {
            "en": "No intervention matches these filters.",
            "fr": "Aucune intervention ne correspond à ces filtres.",
        },
        "interventions.none_yet": {
            "en": "None on this page: the search goes on in the next one.",
            "fr": "Aucune sur cette page : la recherche continue à la page suivante.",
        },
        "interventions.status": {"en": "Status", "fr": "Statut"},
        "interventions.customer": {"en": "Customer", "fr": "Client"},
        "interventions.customer_hint": {
            "en": "Customer id (company-12) or part of the name, as written",
            "fr": "Identifiant (company-12) ou partie du nom, tel qu'écrit",
        },
        "interventions.created_from": {"en": "Created from", "fr": "Créée à partir du"},
        "interventions.created_to": {"en": "Created until", "fr": "Créée jusqu'au"},
        "interventions.col.id": {"en": "Intervention", "fr": "Intervention"},
        "interventions.col.subject": {"en": "Subject", "fr": "Objet"},
        "interventions.col.source": {"en": "Source in Sellsy", "fr": "Origine dans Sellsy"},
        "interventions.col.created": {"en": "Created", "fr": "Créée"},
        "interventions.col.due": {"en": "Due", "fr": "Échéance"},
        "interventions.flagged": {"en": "Needs attention", "fr": "À vérifier"},
        "iv_status.new": {"en": "New", "fr": "Nouvelle"},
        "iv_status.scheduled": {"en": "Scheduled", "fr": "Planifiée"},
        "iv_status.in_progress": {"en": "In progress", "fr": "En cours"},
        "iv_status.completed": {"en": "Completed", "fr": "Terminée"},
        "iv_status.cancelled": {"en": "Cancelled", "fr": "Annulée"},
        "source.estimate": {"en": "Estimate", "fr": "Devis"},
        "source.opportunity": {"en": "Opportunity", "fr": "Opportunité"},
        "intervention.title": {"en": "Intervention {id}", "fr": "Intervention {id}"},
        "intervention.back": {"en": "Back to the interventions", "fr": "Retour aux interventions"},
        "intervention.unknown": {"en": "There is no intervention {id}.", "fr": "Il n'y a pas d'intervention {id}."},
        "intervention.links": {"en": "Links", "fr": "Liens"},
        "intervention.open_estimate": {"en": "Open the estimate in Sellsy", "fr": "Ouvrir le devis dans Sellsy"},
        "intervention.open_opportunity": {
            "en": "Open the opportunity in Sellsy",
            "fr": "Ouvrir l'opportunité dans Sellsy",
        },
        "intervention.open_customer": {"en": "Open the customer in Sellsy", "fr": "Ouvrir le client dans Sellsy"},
        "intervention.link_back": {"en": "Link to this page", "fr": "Lien vers cette page"},
        "intervention.link_back_help": {
            "en": "Paste it in Sellsy (a comment, a note) to come back here.",
            "fr": "Collez-le dans Sellsy (commentaire, note) pour revenir ici.",
        },
        "intervention.exchanges.estimate": {
            "en": "Exchanges about this estimate",
            "fr": "Échanges concernant ce devis",
        },
        "intervention.exchanges.opportunity": {
            "en": "Exchanges about this opportunity",
            "fr": "Échanges concernant cette opportunité",
        },
        "intervention.source_status": {"en": "Status in Sellsy", "fr": "Statut dans Sellsy"},
        "intervention.amount": {"en": "Amount excl. tax", "fr": "Montant HT"},
        "intervention.number": {"en": "Number", "fr": "Numéro"},
        "intervention.sales_rep": {"en": "Sales rep", "fr": "Commercial"},
        "intervention.contact": {"en": "Contact", "fr": "Contact"},
        "intervention.address": {"en": "Address", "fr": "Adresse"},
        "intervention.completed_at": {"en": "Completed at", "fr": "Terminée le"},
        "intervention.parent": {"en": "Follows", "fr": "Suite de"},
        "intervention.recurrence": {"en": "Recurrence", "fr": "Récurrence"},
        "intervention.updated": {"en": "Updated", "fr": "Mise à jour"},
        "intervention.rows": {"en": "Work to do", "fr": "Travaux prévus"},
        "intervention.row.reference": {"en": "Reference", "fr": "Référence"},
        "intervention.row.description": {"en": "Description", "fr": "Description"},
        "intervention.row.quantity": {"en": "Quantity", "fr": "Quantité"},
        "intervention.row.amount": {"en": "Amount excl. tax", "fr": "Montant HT"},
        "intervention.public_note": {"en": "Note for the customer", "fr": "Note pour le client"},
        "intervention.private_notes": {"en": "Internal notes", "fr": "Notes internes"},
        "intervention.custom_fields": {"en": "Custom fields", "fr": "Champs personnalisés"},
        "intervention.attributes": {"en": "Attributes", "fr": "Attributs"},
        "intervention.tags": {"en": "Tags", "fr": "Étiquettes"},
        "intervention.flags": {"en": "Needs attention", "fr": "À vérifier"},
        "intervention.actions": {"en": "Outbound actions", "fr": "Actions vers Sellsy"},
        "intervention.actions_none": {
            "en": "No action has run for this intervention yet (they run when it is completed).",
            "fr": "Aucune action n'a encore été lancée (elles partent à la fin de l'intervention).",
        },
        "action.col.action": {"en": "Action", "fr": "Action"},
        "action.col.state": {"en": "State", "fr": "État"},
        "action.col.created": {"en": "Created in Sellsy", "fr": "Créé dans Sellsy"},
        "action.col.attempts": {"en": "Attempts", "fr": "Tentatives"},
        "action.col.when": {"en": "Last change", "fr": "Dernier changement"},
        "action.state.intent": {"en": "Running or interrupted", "fr": "En cours ou interrompue"},
        "action.state.done": {"en": "Done", "fr": "Faite"},
        "action.state.failed": {"en": "Failed", "fr": "Échec"},
        "action.open": {"en": "Open {what} {id} in Sellsy", "fr": "Ouvrir {what} {id} dans Sellsy"},
        "intervention.completion": {"en": "Completion and other data", "fr": "Fin d'intervention et autres données"},
    }
)


_base = per_account.base_of("interventions")


def list_page(request: ConsoleRequest, account_id: str) -> Response:
    filters = per_account.QueryFilters(request)
    filters.one_of("status", STATUSES)
    customer = filters.raw("customer")[:128]
    if customer:
        filters.values["customer"] = customer
    for name in ("created_from", "created_to"):
        filters.parsed(name, per_account.parse_day, "problem.bad_day")
    return per_account.list_page(
        request,
        account_id,
        "interventions",
        filters,
        lambda cursor: field_repo.list_interventions(
            account_id, limit=PAGE_SIZE, cursor=cursor, newest_first=True, summary=True, **filters.values
        ),
        shown=filters.shown("status", "customer", "created_from", "created_to"),
        statuses=STATUSES,
        source_label=partial(source_status_label, request.lang),
    )


def source_status_label(lang: str, source_type: str, status: str | None) -> str:
    """Sellsy's status of the source document: the French label of the domain's table in French."""
    if not status:
        return ""
    if lang == "fr":
        try:
            return sellsy_rules.status_label(source_type, status)
        except sellsy_rules.UnknownValue:
            return status
    return status


def _sellsy_links(intervention: Intervention, host: str) -> list[tuple[str, dict[str, str], str]]:
    """(message key, values, URL) of every Sellsy object the intervention comes from."""
    links: list[tuple[str, dict[str, str], str]] = []
    if intervention.estimate_id:
        url = deep_link("estimate", intervention.estimate_id, host)
        if url:
            links.append(("intervention.open_estimate", {}, url))
    if intervention.opportunity_id:
        url = deep_link("opportunity", intervention.opportunity_id, host)
        if url:
            links.append(("intervention.open_opportunity", {}, url))
    customer = CUSTOMER_ID.match(intervention.customer_id or "")
    if customer:
        url = deep_link(customer["type"], customer["id"], host)
        if url:
            links.append(("intervention.open_customer", {}, url))
    return links


def _created_link(entry: ledger_repo.LedgerEntry, host: str) -> str | None:
    if entry.links:
        return next(iter(entry.links.values()))
    if entry.sellsy_type and entry.sellsy_id and entry.sellsy_id.isdigit():
        return deep_link(entry.sellsy_type, entry.sellsy_id, host)
    return None


def detail_page(request: ConsoleRequest, account_id: str, intervention_id: str) -> Response:
    account = per_account.account_or_404(account_id)
    found = (
        field_repo.get_intervention(account_id, intervention_id, consistent=False)
        if _INTERVENTION_ID.match(intervention_id)
        else None
    )
    if found is None:
        raise ConsoleError(404, "intervention.unknown", id=intervention_id[:60])
    host = account.settings.deep_link_host
    entries = sorted(ledger_repo.list_entries(account_id, intervention_id), key=lambda e: e.action_key)
    actions = [(entry, _created_link(entry, host)) for entry in entries]
    extras = {k: v for k, v in (found.model_extra or {}).items() if k not in _SHOWN_APART}
    path = f"{_base(account_id)}/{intervention_id}"
    return layout.render(
        request,
        "intervention_detail.html",
        section="interventions",
        account=account,
        base=_base(account_id),
        item=found,
        source_status=source_status_label(request.lang, found.source_type, found.source_status),
        sellsy_links=_sellsy_links(found, host),
        link_back=f"{request.origin}{path}",
        exchanges_link=(
            f"{layout.ROOT}/accounts/{account_id}/exchanges?sellsy_type={found.source_type}&sellsy_id={found.source_id}"
        ),
        actions=actions,
        extras_text=json.dumps(extras, indent=2, ensure_ascii=False, sort_keys=True, default=str) if extras else None,
        custom_fields_text=_pretty(found.custom_fields),
        attributes_text=_pretty(found.attributes),
    )


def _pretty(value: dict[str, Any]) -> str | None:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str) if value else None
