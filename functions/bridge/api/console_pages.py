"""The console's exchange log, interventions and imports routes (HTML under ``/console``): thin, each one
calls a view of ``bridge.console``. Like ``bridge.api.console``, every route runs ``console_middleware``
(session, CSRF, language, HTML errors) and stays out of the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from bridge.console import exchanges, imports, interventions, per_account
from bridge.console.layout import current_request
from bridge.console.session_gate import console_middleware

router = Router()
ACCOUNT = "/console/accounts/<account_id>"


def page(rule: str, method: str = "GET") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return router.route(rule, method, include_in_schema=False, middlewares=[console_middleware])


@page("/console/exchanges")
def console_exchanges_choose() -> Response[Any]:
    return per_account.choose_account(current_request(), "exchanges")


@page(f"{ACCOUNT}/exchanges")
def console_exchanges(account_id: str) -> Response[Any]:
    return exchanges.list_page(current_request(), account_id)


@page(f"{ACCOUNT}/exchanges/replay-failures")
def console_exchanges_replay_confirm(account_id: str) -> Response[Any]:
    return exchanges.confirm_replay_page(current_request(), account_id)


@page(f"{ACCOUNT}/exchanges/replay-failures", "POST")
def console_exchanges_replay_all(account_id: str) -> Response[Any]:
    return exchanges.replay_all(current_request(), account_id)


@page(f"{ACCOUNT}/exchanges/<exchange_id>")
def console_exchange(account_id: str, exchange_id: str) -> Response[Any]:
    return exchanges.detail_page(current_request(), account_id, exchange_id)


@page(f"{ACCOUNT}/exchanges/<exchange_id>/replay", "POST")
def console_exchange_replay(account_id: str, exchange_id: str) -> Response[Any]:
    return exchanges.replay_one(current_request(), account_id, exchange_id)


@page("/console/interventions")
def console_interventions_choose() -> Response[Any]:
    return per_account.choose_account(current_request(), "interventions")


@page(f"{ACCOUNT}/interventions")
def console_interventions(account_id: str) -> Response[Any]:
    return interventions.list_page(current_request(), account_id)


@page(f"{ACCOUNT}/interventions/<intervention_id>")
def console_intervention(account_id: str, intervention_id: str) -> Response[Any]:
    return interventions.detail_page(current_request(), account_id, intervention_id)


@page("/console/imports")
def console_imports_choose() -> Response[Any]:
    return per_account.choose_account(current_request(), "imports")


@page(f"{ACCOUNT}/imports")
def console_imports(account_id: str) -> Response[Any]:
    return imports.list_page(current_request(), account_id)


@page(f"{ACCOUNT}/imports", "POST")
def console_import_start(account_id: str) -> Response[Any]:
    return imports.start(current_request(), account_id)


@page(f"{ACCOUNT}/imports/<run_id>")
def console_import_run(account_id: str, run_id: str) -> Response[Any]:
    return imports.run_page(current_request(), account_id, run_id)


@page(f"{ACCOUNT}/imports/<run_id>/progress.json")
def console_import_progress(account_id: str, run_id: str) -> Response[Any]:
    return imports.run_progress(current_request(), account_id, run_id)
