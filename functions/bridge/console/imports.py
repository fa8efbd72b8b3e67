"""Imports pages: start an import of one account, list its runs, follow a run live per stream, and read the
summary and reconciliation report of each run.

The run page works without JavaScript (a refresh link); ``imports.js`` polls the run's progress as JSON
(``.../imports/{run_id}/progress.json``, the same ``progress`` the JSON API returns) and fills the page in,
then reloads it once the run has ended so its summary shows. Starting uses the JSON API's flow.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aws_lambda_powertools.event_handler import Response

from bridge.adapters import executions, import_state
from bridge.console import i18n, layout, per_account
from bridge.console.layout import ConsoleError, ConsoleRequest
from bridge.domain.revenue import STREAMS
from bridge.flows.importer.merge import OUTCOMES
from bridge.flows.importer.on_demand import AccountNotActive, ImportAlreadyRunning, start_account_import
from bridge.flows.importer.reconciliation import report_of
from bridge.flows.importer.run import RUNNING, progress

RUNS_SHOWN = 20
POLL_SECONDS = 2
_RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
COUNTED = (*OUTCOMES, "not_seen")

i18n.add_messages(
    {
        "imports.of": {"en": "Imports of {name}", "fr": "Imports de {name}"},
        "imports.start": {"en": "Start an import now", "fr": "Lancer un import maintenant"},
        "imports.start_help": {
            "en": "Reads the account's customers, products, prices, invoices and credit notes from Sellsy "
            "(an unfinished run is resumed).",
            "fr": "Lit dans Sellsy les clients, produits, prix, factures et avoirs du compte "
            "(un import inachevé reprend).",
        },
        "imports.none": {"en": "No import has run for this account yet.", "fr": "Aucun import pour ce compte."},
        "imports.col.run": {"en": "Run", "fr": "Import"},
        "imports.col.status": {"en": "Status", "fr": "Statut"},
        "imports.col.started": {"en": "Started", "fr": "Début"},
        "imports.col.finished": {"en": "Finished", "fr": "Fin"},
        "imports.col.reconciliation": {"en": "Out of balance", "fr": "Déséquilibrés"},
        "imports.not_active": {
            "en": "This account is {status}: reconnect it before importing.",
            "fr": "Ce compte est {status} : reconnectez-le avant d'importer.",
        },
        "imports.already_running": {
            "en": "Run {run_id} is still running: here it is.",
            "fr": "L'import {run_id} est encore en cours : le voici.",
        },
        "imports.unavailable": {
            "en": "Imports cannot be started here (no import state machine is configured).",
            "fr": "Impossible de lancer un import ici (aucune machine à états d'import n'est configurée).",
        },
        "imports.started": {"en": "Import started.", "fr": "Import lancé."},
        "run.title": {"en": "Import run {run_id}", "fr": "Import {run_id}"},
        "run.back": {"en": "Back to the imports", "fr": "Retour aux imports"},
        "run.unknown": {"en": "There is no import run {run_id}.", "fr": "Il n'y a pas d'import {run_id}."},
        "run.phase": {"en": "Phase", "fr": "Étape"},
        "run.phase_of": {"en": "{phase} ({index} of {total})", "fr": "{phase} ({index} sur {total})"},
        "run.calls": {"en": "Sellsy API calls", "fr": "Appels à l'API Sellsy"},
        "run.calls_429": {"en": "Answered “too many requests”", "fr": "Réponses « trop de requêtes »"},
        "run.quota_left": {"en": "Daily quota left", "fr": "Quota journalier restant"},
        "run.error": {"en": "Last error", "fr": "Dernière erreur"},
        "run.refresh": {"en": "Refresh", "fr": "Actualiser"},
        "run.live": {
            "en": "This page follows the run by itself.",
            "fr": "Cette page suit l'import d'elle-même.",
        },
        "run.streams": {"en": "Progress per stream", "fr": "Avancement par flux"},
        "run.col.stream": {"en": "Stream", "fr": "Flux"},
        "run.col.details": {"en": "Details read", "fr": "Détails lus"},
        "outcome.created": {"en": "Created", "fr": "Créés"},
        "outcome.updated": {"en": "Updated", "fr": "Modifiés"},
        "outcome.unchanged": {"en": "Unchanged", "fr": "Inchangés"},
        "outcome.locked_skipped": {"en": "Kept (edited by hand)", "fr": "Conservés (modifiés à la main)"},
        "outcome.not_seen": {"en": "No longer in Sellsy", "fr": "Plus dans Sellsy"},
        "stream.customers": {"en": "Customers", "fr": "Clients"},
        "stream.products": {"en": "Products", "fr": "Produits"},
        "stream.prices": {"en": "Prices", "fr": "Prix"},
        "stream.invoices": {"en": "Invoices", "fr": "Factures"},
        "stream.invoice_lines": {"en": "Invoice lines", "fr": "Lignes de factures"},
        "stream.credit_notes": {"en": "Credit notes", "fr": "Avoirs"},
        "stream.credit_note_lines": {"en": "Credit note lines", "fr": "Lignes d'avoirs"},
        "run.summary": {"en": "Summary", "fr": "Résumé"},
        "run.duration": {"en": "Duration", "fr": "Durée"},
        "run.chunks": {"en": "Chunks", "fr": "Tranches"},
        "run.skipped": {"en": "Skipped for want of a scope", "fr": "Ignorés faute de droit"},
        "run.exports": {"en": "Exports", "fr": "Exports"},
        "run.reconciliation": {"en": "Reconciliation report", "fr": "Rapport de rapprochement"},
        "run.reconciliation_intro": {
            "en": "Imported lines against Sellsy's document totals, per stream and currency "
            "(tolerance {tolerance} per document).",
            "fr": "Lignes importées face aux totaux des documents Sellsy, par flux et devise "
            "(tolérance {tolerance} par document).",
        },
        "run.out_of_balance": {
            "en": "{count} document(s) out of balance.",
            "fr": "{count} document(s) déséquilibré(s).",
        },
        "run.col.currency": {"en": "Currency", "fr": "Devise"},
        "run.col.documents": {"en": "Documents", "fr": "Documents"},
        "run.col.doc_total": {"en": "Documents, excl. tax", "fr": "Documents, HT"},
        "run.col.lines_total": {"en": "Lines, excl. tax", "fr": "Lignes, HT"},
        "run.flagged": {"en": "Documents out of balance", "fr": "Documents déséquilibrés"},
        "run.col.number": {"en": "Number", "fr": "Numéro"},
        "run.col.difference": {"en": "Difference", "fr": "Écart"},
        "run.flagged_truncated": {"en": "Only the first ones are listed.", "fr": "Seuls les premiers sont listés."},
        "rstatus.running": {"en": "Running", "fr": "En cours"},
        "rstatus.done": {"en": "Done", "fr": "Terminé"},
        "rstatus.quota_reserve_reached": {
            "en": "Paused: quota reserve reached",
            "fr": "En pause : réserve de quota atteinte",
        },
        "rstatus.plan_limit_reached": {"en": "Paused: plan limit", "fr": "En pause : limite de l'offre"},
        "rstatus.needs_reconnect": {"en": "Stopped: reconnect the account", "fr": "Arrêté : reconnectez le compte"},
        "rstatus.failed": {"en": "Failed", "fr": "Échec"},
    }
)


_base = per_account.base_of("imports")


def list_page(
    request: ConsoleRequest,
    account_id: str,
    *,
    problem: tuple[str, dict[str, str]] | None = None,
    status: int = 200,
) -> Response:
    account = per_account.account_or_404(account_id)
    runs = import_state.list_runs(account_id, limit=RUNS_SHOWN)
    return layout.render(
        request,
        "imports_list.html",
        status=status,
        section="imports",
        account=account,
        base=_base(account_id),
        runs=[(run, report_of(run)["out_of_balance"]) for run in runs],
        problem=problem,
    )


def start(request: ConsoleRequest, account_id: str) -> Response:
    per_account.account_or_404(account_id)
    try:
        state = start_account_import(account_id)
    except AccountNotActive as exc:
        return list_page(request, account_id, problem=("imports.not_active", {"status": exc.status}), status=409)
    except ImportAlreadyRunning as running:
        run_id = running.state["run_id"]
        return layout.redirect(f"{_base(account_id)}/{run_id}?notice=already_running")
    except executions.NotConfigured:
        return list_page(request, account_id, problem=("imports.unavailable", {}), status=503)
    return layout.redirect(f"{_base(account_id)}/{state['run_id']}?notice=started")


def _run_or_404(account_id: str, run_id: str) -> dict[str, Any]:
    state = import_state.load_run(account_id, run_id) if _RUN_ID.match(run_id) else None
    if state is None:
        raise ConsoleError(404, "run.unknown", run_id=run_id[:40])
    return state


def stream_rows(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Per stream: its counters by outcome and the details read, in the streams' order."""
    counters = state.get("counters") or {}
    details = state.get("details") or {}
    return [
        {
            "stream": stream,
            "counts": {outcome: int((counters.get(stream) or {}).get(outcome, 0)) for outcome in COUNTED},
            "details": int(details.get(stream, 0)),
        }
        for stream in STREAMS
    ]


def progress_document(state: dict[str, Any]) -> dict[str, Any]:
    """What the run page's script reads: the JSON API's progress plus the rows it fills in."""
    return {
        "run_id": state["run_id"],
        "status": state["status"],
        "done": state["status"] != RUNNING,
        "finished_at": state.get("finished_at"),
        "progress": progress(state),
        "streams": stream_rows(state),
    }


def run_page(request: ConsoleRequest, account_id: str, run_id: str) -> Response:
    account = per_account.account_or_404(account_id)
    state = _run_or_404(account_id, run_id)
    notice = request.query.get("notice", "")
    notices = {"started": ("imports.started", {}), "already_running": ("imports.already_running", {"run_id": run_id})}
    summary = state.get("summary")
    return layout.render(
        request,
        "import_run.html",
        section="imports",
        account=account,
        base=_base(account_id),
        run=state,
        running=state["status"] == RUNNING,
        progress=progress(state),
        streams=stream_rows(state),
        outcomes=COUNTED,
        summary=summary,
        reconciliation=(summary or {}).get("reconciliation") or report_of(state),
        notice=notices.get(notice),
        progress_url=f"{_base(account_id)}/{run_id}/progress.json",
        poll_seconds=POLL_SECONDS,
    )


def run_progress(request: ConsoleRequest, account_id: str, run_id: str) -> Response:
    per_account.account_or_404(account_id)
    state = _run_or_404(account_id, run_id)
    return Response(
        status_code=200,
        content_type="application/json",
        body=json.dumps(progress_document(state), default=str),
        headers={"Cache-Control": "no-store", **layout.SECURITY_HEADERS},
    )
