"""Accounts pages: list with status and health, one account's detail, create, connect (OAuth button,
client credentials, pasted token), reconnect, register the webhook, disconnect (after a confirmation).

Every action calls the flow the JSON API calls (``bridge.flows.accounts``, ``bridge.flows.health``);
secrets typed into these forms go to the flow and are never rendered back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from pydantic import ValidationError

from bridge.adapters import accounts_repo
from bridge.adapters.accounts_repo import AccountConflict, AccountNotFound
from bridge.console import i18n, layout
from bridge.console.accounts_text import MESSAGES, problem_text
from bridge.console.layout import ConsoleError, ConsoleRequest
from bridge.domain.accounts import ACCOUNT_ID_PATTERN, Account
from bridge.flows import accounts as flow
from bridge.flows.health import account_health
from bridge.sellsy.errors import NeedsReconnect, SellsyError, SellsyUnavailable

PAGE_SIZE = 20  # each row reads the account's health
OAUTH_CALLBACK_PATH = "/oauth/callback"  # the API's own callback (the one registered with Sellsy)

i18n.add_messages(MESSAGES)


def _t(request: ConsoleRequest, key: str, **values: Any) -> str:
    return i18n.translate(request.lang, key, **values)


def _account(account_id: str) -> Account:
    import re

    if not re.fullmatch(ACCOUNT_ID_PATTERN, account_id) or len(account_id) > 64:
        raise ConsoleError(404, "error.not_found")
    try:
        return accounts_repo.require_account(account_id)
    except AccountNotFound as exc:
        raise ConsoleError(404, "error.not_found") from exc


def account_url(account_id: str, **query: str) -> str:
    from urllib.parse import urlencode

    return f"{layout.ROOT}/accounts/{account_id}" + (f"?{urlencode(query)}" if query else "")


# ---------------------------------------------------------------- pages


def list_accounts(request: ConsoleRequest) -> Response:
    try:
        items, next_cursor = accounts_repo.list_accounts(limit=PAGE_SIZE, cursor=request.query.get("cursor") or None)
    except ValueError as exc:
        raise ConsoleError(400, "error.bad_request") from exc
    rows = [{"account": account, "health": account_health(account.id)} for account in items]
    return layout.render(
        request,
        "accounts_list.html",
        section="accounts",
        rows=rows,
        next_cursor=next_cursor,
        problem_text=lambda issue: problem_text(request.lang, issue),
    )


def show_account(request: ConsoleRequest, account_id: str) -> Response:
    account = _account(account_id)
    return layout.render(
        request,
        "account_detail.html",
        section="accounts",
        account=account,
        health=account_health(account.id),
        notice=request.query.get("notice") if request.query.get("notice") in NOTICES else None,
        problem_text=lambda issue: problem_text(request.lang, issue),
    )


NOTICES = frozenset({"created", "connected", "disconnected", "webhook_registered", "saved"})


def new_account_form(request: ConsoleRequest, *, problem: str | None = None, status: int = 200) -> Response:
    return layout.render(
        request,
        "account_new.html",
        section="accounts",
        problem=problem,
        values={"name": request.value("name"), "account_id": request.value("account_id")},
        status=status,
    )


def create_account(request: ConsoleRequest) -> Response:
    name, chosen = request.value("name"), request.value("account_id") or None
    try:
        account = flow.create_account(name=name, account_id=chosen)
    except ValidationError:
        return new_account_form(request, problem=_t(request, "accounts.new.invalid"), status=400)
    except AccountConflict:
        return new_account_form(request, problem=_t(request, "accounts.new.taken"), status=409)
    return layout.redirect(account_url(account.id, notice="created"))


def connect_form(
    request: ConsoleRequest, account_id: str, *, problem: str | None = None, status: int = 200
) -> Response:
    account = _account(account_id)
    return layout.render(
        request,
        "account_connect.html",
        section="accounts",
        account=account,
        problem=problem,
        client_id=request.value("client_id"),  # never a secret: those fields always come back empty
        method=request.value("method"),
        status=status,
    )


def connect(request: ConsoleRequest, account_id: str) -> Response:
    """POST .../connect: client credentials or a pasted token (the OAuth button posts to connect/oauth)."""
    _account(account_id)
    method = request.value("method")
    try:
        if method == "client_credentials":
            client_id, client_secret = request.value("client_id"), request.value("client_secret")
            if not client_id or not client_secret:
                return connect_form(request, account_id, problem=_t(request, "connect.need_both"), status=400)
            flow.connect_client_credentials(account_id, client_id=client_id, client_secret=client_secret)
        elif method == "access_token":
            token = request.value("access_token")
            if len(token) < 8 or any(c.isspace() for c in token):
                return connect_form(request, account_id, problem=_t(request, "connect.bad_token"), status=400)
            try:
                expires = _expiry(request.value("expires_at"))
            except ValueError:
                return connect_form(request, account_id, problem=_t(request, "connect.bad_expiry"), status=400)
            flow.connect_access_token(account_id, access_token=token, expires_at=expires)
        else:
            raise ConsoleError(400, "error.bad_request")
    except flow.ConnectionRefused as exc:
        return connect_form(request, account_id, problem=_t(request, "connect.refused", reason=str(exc)), status=400)
    except SellsyUnavailable:
        return connect_form(request, account_id, problem=_t(request, "connect.unavailable"), status=503)
    except SellsyError as exc:
        return connect_form(request, account_id, problem=_t(request, "connect.refused", reason=exc.message), status=502)
    return layout.redirect(account_url(account_id, notice="connected"))


def _expiry(text: str) -> datetime | None:
    """A pasted token's expiry as typed (``2027-01-31 18:00``; None when blank; ValueError when unreadable)."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def start_oauth(request: ConsoleRequest, account_id: str) -> Response:
    """POST .../connect/oauth: off to Sellsy's consent page; Sellsy comes back to the API's callback."""
    _account(account_id)
    try:
        pending = flow.start_authorization(
            account_id,
            client_id=request.value("client_id") or None,
            client_secret=request.value("client_secret") or None,
            redirect_uri=request.origin + OAUTH_CALLBACK_PATH,
        )
    except flow.OAuthAppMissing:
        return connect_form(request, account_id, problem=_t(request, "connect.oauth_app_missing"), status=400)
    return layout.redirect(pending.authorize_url)


def confirm_disconnect(request: ConsoleRequest, account_id: str) -> Response:
    return layout.render(request, "account_disconnect.html", section="accounts", account=_account(account_id))


def disconnect(request: ConsoleRequest, account_id: str) -> Response:
    _account(account_id)
    if request.value("confirm") != "yes":
        return confirm_disconnect(request, account_id)
    flow.disconnect(account_id)
    return layout.redirect(account_url(account_id, notice="disconnected"))


def register_webhook(request: ConsoleRequest, account_id: str) -> Response:
    account = _account(account_id)
    endpoint = f"{request.origin}/webhooks/sellsy/{account_id}"

    def failed(key: str, status: int, **values: Any) -> Response:
        page = layout.render(
            request,
            "account_detail.html",
            section="accounts",
            account=account,
            health=account_health(account_id),
            notice=None,
            problem=_t(request, key, **values),
            problem_text=lambda issue: problem_text(request.lang, issue),
            status=status,
        )
        return page

    try:
        flow.register_webhook(account_id, endpoint_url=endpoint)
    except flow.ConnectionRefused:
        return failed("webhook.not_connected", 409)
    except flow.WebhookEventsRefused as exc:
        return failed("webhook.refused", 400, reason=exc.message)
    except NeedsReconnect as exc:
        accounts_repo.mark_needs_reconnect(account_id, exc.message)
        return failed("webhook.needs_reconnect", 409)
    except SellsyUnavailable:
        return failed("connect.unavailable", 503)
    except SellsyError as exc:
        return failed("webhook.refused", 400, reason=exc.message)
    return layout.redirect(account_url(account_id, notice="webhook_registered"))


def oauth_result_page(event: Any, *, account_id: str | None, problem: str | None) -> Response:
    """What a browser sees at the API's OAuth callback: the outcome and a link into the console.

    A page, not a redirect: after Sellsy's cross-site redirect a browser would not send the console's
    SameSite=Strict cookie on a redirected request; following this link (same site) it does.
    """
    request = layout.build_request(event)
    target = account_url(account_id, notice="connected") if account_id and not problem else f"{layout.ROOT}/accounts"
    if account_id and problem:
        target = f"{layout.ROOT}/accounts/{account_id}/connect"
    return layout.render(
        request,
        "oauth_result.html",
        status=400 if problem else 200,
        problem=problem,
        next=target,
    )
