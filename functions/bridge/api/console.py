"""The operator console's routes (HTML under ``/console``): thin, each one calls a view of ``bridge.console``.

Every route runs ``console_middleware`` (session, CSRF, language, HTML errors); routes stay out of the
OpenAPI document, which describes the JSON API only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from bridge.console import accounts, layout, session_cognito, session_views, settings
from bridge.console.layout import current_request
from bridge.console.session_gate import console_middleware

router = Router()


def page(rule: str, method: str = "GET") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a console route: HTML, behind the console's gate, not in the OpenAPI document."""
    return router.route(rule, method, include_in_schema=False, middlewares=[console_middleware])


@page("/console")
@page("/console/")
def console_home() -> Response[Any]:
    return layout.redirect(f"{layout.ROOT}/accounts", status=302)


@page("/console/static/<name>")
def console_static(name: str) -> Response[Any]:
    request = current_request()
    return layout.static_response(name, request.query.get("v"), request.headers.get("if-none-match"))


@page("/console/signin")
def console_signin_page() -> Response[Any]:
    return session_views.show_signin(current_request())


@page("/console/signin", "POST")
def console_signin() -> Response[Any]:
    return session_views.sign_in_with_token(current_request())


@page("/console/auth/start")
def console_auth_start() -> Response[Any]:
    return session_cognito.start(current_request())


@page("/console/auth/callback")
def console_auth_callback() -> Response[Any]:
    return session_cognito.callback(current_request())


@page("/console/signout", "POST")
def console_signout() -> Response[Any]:
    return session_views.sign_out(current_request())


@page("/console/accounts")
def console_accounts() -> Response[Any]:
    return accounts.list_accounts(current_request())


@page("/console/accounts/new")
def console_account_new() -> Response[Any]:
    return accounts.new_account_form(current_request())


@page("/console/accounts/new", "POST")
def console_account_create() -> Response[Any]:
    return accounts.create_account(current_request())


@page("/console/accounts/<account_id>")
def console_account(account_id: str) -> Response[Any]:
    return accounts.show_account(current_request(), account_id)


@page("/console/accounts/<account_id>/connect")
def console_connect_form(account_id: str) -> Response[Any]:
    return accounts.connect_form(current_request(), account_id)


@page("/console/accounts/<account_id>/connect", "POST")
def console_connect(account_id: str) -> Response[Any]:
    return accounts.connect(current_request(), account_id)


@page("/console/accounts/<account_id>/connect/oauth", "POST")
def console_connect_oauth(account_id: str) -> Response[Any]:
    return accounts.start_oauth(current_request(), account_id)


@page("/console/accounts/<account_id>/disconnect")
def console_disconnect_confirm(account_id: str) -> Response[Any]:
    return accounts.confirm_disconnect(current_request(), account_id)


@page("/console/accounts/<account_id>/disconnect", "POST")
def console_disconnect(account_id: str) -> Response[Any]:
    return accounts.disconnect(current_request(), account_id)


@page("/console/accounts/<account_id>/webhook", "POST")
def console_register_webhook(account_id: str) -> Response[Any]:
    return accounts.register_webhook(current_request(), account_id)


@page("/console/accounts/<account_id>/settings")
def console_settings_page(account_id: str) -> Response[Any]:
    return settings.show(current_request(), account_id)


@page("/console/accounts/<account_id>/settings/general", "POST")
def console_settings_general(account_id: str) -> Response[Any]:
    return settings.save_general(current_request(), account_id)


@page("/console/accounts/<account_id>/settings/triggers/new")
def console_trigger_new(account_id: str) -> Response[Any]:
    return settings.trigger_form(current_request(), account_id)


@page("/console/accounts/<account_id>/settings/triggers/edit")
def console_trigger_edit(account_id: str) -> Response[Any]:
    return settings.show_saved_trigger(current_request(), account_id)


@page("/console/accounts/<account_id>/settings/triggers", "POST")
def console_trigger_save(account_id: str) -> Response[Any]:
    return settings.save_trigger(current_request(), account_id)


@page("/console/accounts/<account_id>/settings/triggers/delete")
def console_trigger_delete_confirm(account_id: str) -> Response[Any]:
    return settings.confirm_delete(current_request(), account_id, settings.TRIGGER_DELETION)


@page("/console/accounts/<account_id>/settings/triggers/delete", "POST")
def console_trigger_delete(account_id: str) -> Response[Any]:
    return settings.delete(current_request(), account_id, settings.TRIGGER_DELETION)


@page("/console/accounts/<account_id>/settings/triggers/preview")
def console_trigger_preview(account_id: str) -> Response[Any]:
    return settings.preview_trigger(current_request(), account_id)


@page("/console/accounts/<account_id>/settings/rules/new")
def console_rule_new(account_id: str) -> Response[Any]:
    return settings.rule_form(current_request(), account_id)


@page("/console/accounts/<account_id>/settings/rules/edit")
def console_rule_edit(account_id: str) -> Response[Any]:
    return settings.rule_form(current_request(), account_id)


@page("/console/accounts/<account_id>/settings/rules", "POST")
def console_rule_save(account_id: str) -> Response[Any]:
    return settings.save_rule(current_request(), account_id)


@page("/console/accounts/<account_id>/settings/rules/delete")
def console_rule_delete_confirm(account_id: str) -> Response[Any]:
    return settings.confirm_delete(current_request(), account_id, settings.RULE_DELETION)


@page("/console/accounts/<account_id>/settings/rules/delete", "POST")
def console_rule_delete(account_id: str) -> Response[Any]:
    return settings.delete(current_request(), account_id, settings.RULE_DELETION)
