"""F1 use cases: create/update accounts, connect them to Sellsy, disconnect, register the webhook.

Token logic (endpoint calls, PKCE, the shared token store) belongs to ``bridge.sellsy``; this module
only decides *when* to call it and what the account looks like afterwards. Credentials go to Secrets
Manager through ``sellsy.token_cache.TokenStore``; the account item records the method and status.
"""

from __future__ import annotations

import secrets as pysecrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bridge.adapters import accounts_repo, secrets
from bridge.adapters.accounts_repo import AccountConflict
from bridge.domain.accounts import Account, AccountSettings, AuthMethod, new_account_id
from bridge.flows.exchange_log import record_exchange
from bridge.observability import logger
from bridge.sellsy import factory
from bridge.sellsy.auth import (
    AUTHORIZATION_CODE,
    CLIENT_CREDENTIALS,
    STATIC_TOKEN,
    Credentials,
    TokenEndpoint,
    authorize_url,
    new_pkce_pair,
)
from bridge.sellsy.client import SellsyClient
from bridge.sellsy.errors import NeedsReconnect, SellsyError, SellsyUnavailable
from bridge.settings import get_settings

PENDING_TTL_SECONDS = 600  # Sellsy authorization codes live 10 minutes; so does our PKCE verifier
# Events the connector listens to: documents, opportunities, third parties and their addresses
# (register entries W7, W8). An account's own event listing decides which of these are registered.
THIRD_EVENTS = ("created", "updated", "deleted", "addressadded", "addressupdated", "addressremoved", "mainaddress")
DEFAULT_WEBHOOK_EVENTS = (
    "estimate.step",
    "invoice.created",
    "invoice.step",
    "opportunity.step",
    *(f"client.{event}" for event in THIRD_EVENTS),
    *(f"prospect.{event}" for event in THIRD_EVENTS),
    "people.created",
    "people.updated",
    "people.deleted",
)


class ConnectionRefused(Exception):
    """Sellsy refused the credentials or the code: the user must check what they entered."""


class OAuthAppMissing(Exception):
    """No client_id in the request and the deployed OAuth application's secret is still empty."""


class BadState(Exception):
    """The OAuth ``state`` is unknown, used or expired."""


class WebhookEventsRefused(Exception):
    """Sellsy does not offer (or refused) some of the events asked for; ``events`` names them."""

    def __init__(self, events: list[str], message: str, available: list[str] | None = None) -> None:
        super().__init__(message)
        self.events = events
        self.message = message
        self.available = available


# --- accounts ------------------------------------------------------------------------------------


def create_account(
    *,
    name: str,
    account_id: str | None = None,
    settings: AccountSettings | None = None,
    webhook_signing_key: str | None = None,
) -> Account:
    account = Account(
        id=account_id or new_account_id(),
        name=name,
        settings=settings or AccountSettings(),
        webhook_signing_key_set=bool(webhook_signing_key),
    )
    stored = accounts_repo.put_account(account, create=True)
    if webhook_signing_key:
        secrets.put_webhook_signing_key(stored.id, webhook_signing_key)
    logger.info("account created", extra={"account_id": stored.id})
    return stored


def update_account(
    account_id: str,
    *,
    name: str | None = None,
    settings_patch: dict[str, Any] | None = None,
    webhook_signing_key: str | None = None,
    expected_version: int | None = None,
) -> Account:
    account = accounts_repo.require_account(account_id, consistent=True)
    if expected_version is not None and expected_version != account.version:
        raise AccountConflict(
            f"account {account_id!r} is at version {account.version}, not {expected_version}: re-read it"
        )
    if settings_patch:
        account = account.with_settings_patch(settings_patch)
    if name is not None:
        account = account.model_copy(update={"name": name})
    if webhook_signing_key:
        secrets.put_webhook_signing_key(account_id, webhook_signing_key)
        account = account.model_copy(update={"webhook_signing_key_set": True})
    return accounts_repo.put_account(Account.model_validate(account.model_dump(by_alias=True)))


# --- connection ----------------------------------------------------------------------------------


def _endpoint(endpoint: TokenEndpoint | None) -> TokenEndpoint:
    return endpoint or factory.token_endpoint()


def _activate(account_id: str, method: AuthMethod, credentials: Credentials) -> Account:
    factory.token_store().save_credentials(account_id, credentials)
    factory.forget_account(account_id)  # cached clients of this process hold the old tokens
    account = accounts_repo.set_status(account_id, "active", None, auth_method=method, connected_at=datetime.now(UTC))
    record_exchange(
        account_id=account_id,
        direction="internal",
        kind="account_connected",
        status="ok",
        request={"method": method},
    )
    _replay_parked(account_id)
    return account


def _replay_parked(account_id: str) -> None:
    """Deliveries parked while the account needed reconnecting run again now (never fails the connect)."""
    from bridge.flows.inbound.parked import replay_parked

    try:
        replay_parked(account_id)
    except Exception:  # the connection stands; the parked exchanges stay replayable by hand
        logger.exception("parked deliveries not replayed after reconnect", extra={"account_id": account_id})


def connect_client_credentials(
    account_id: str, *, client_id: str, client_secret: str, endpoint: TokenEndpoint | None = None
) -> Account:
    accounts_repo.require_account(account_id)
    try:
        tokens = _endpoint(endpoint).client_credentials(client_id, client_secret)
    except NeedsReconnect as exc:
        raise ConnectionRefused(f"Sellsy refused these client credentials: {exc.message}") from exc
    credentials = Credentials(
        grant_type=CLIENT_CREDENTIALS, client_id=client_id, client_secret=client_secret
    ).with_tokens(tokens)
    return _activate(account_id, "client_credentials", credentials)


def connect_access_token(
    account_id: str,
    *,
    access_token: str,
    expires_at: datetime | None = None,
    verify: Callable[[str], None] | None = None,
) -> Account:
    """A token pasted by the user; checked with one cheap read before it is trusted."""
    accounts_repo.require_account(account_id)
    try:
        (verify or verify_token)(access_token)
    except NeedsReconnect as exc:
        raise ConnectionRefused("Sellsy rejected this access token (expired, revoked or mistyped)") from exc
    except SellsyUnavailable:
        raise
    except SellsyError as exc:  # e.g. 403: the token works but may not read companies
        raise ConnectionRefused(f"Sellsy refused a test read with this token: {exc.message}") from exc
    credentials = Credentials(
        grant_type=STATIC_TOKEN,
        access_token=access_token,
        expires_at=expires_at.timestamp() if expires_at else 0.0,
    )
    return _activate(account_id, "access_token", credentials)


def verify_token(access_token: str) -> None:
    """One list call with the smallest page; raises NeedsReconnect on 401/402."""
    from bridge.sellsy.auth import StaticTokenProvider

    client = SellsyClient(get_settings().sellsy_api_url, StaticTokenProvider(access_token), max_retries=1)
    try:
        client.get("/companies", params={"limit": 1})
    finally:
        client.close()


@dataclass(frozen=True)
class PendingAuthorization:
    authorize_url: str
    state: str
    redirect_uri: str
    expires_at: datetime


def _pending_name(account_id: str, nonce: str) -> str:
    return secrets.account_secret_name(account_id, f"{secrets.OAUTH_PENDING}/{nonce}")


def start_authorization(
    account_id: str, *, client_id: str | None, client_secret: str | None, redirect_uri: str
) -> PendingAuthorization:
    """Build Sellsy's authorize URL with a PKCE challenge; the verifier waits in Secrets Manager.

    ``state`` = ``{account_id}.{nonce}``: the callback finds the pending secret from it alone.
    Without a ``client_id``, the deployed OAuth application (its secret in Secrets Manager) is used.
    """
    accounts_repo.require_account(account_id)
    if not client_id:
        app = secrets.get_oauth_app()
        if app is None:
            raise OAuthAppMissing(
                f"send client_id, or fill client_id and client_secret in the secret "
                f"{get_settings().secrets_prefix}/{secrets.OAUTH_APP}"
            )
        client_id, client_secret = app
    pkce = new_pkce_pair()
    nonce = pysecrets.token_urlsafe(24)
    state = f"{account_id}.{nonce}"
    expires = time.time() + PENDING_TTL_SECONDS
    secrets.write_json(
        _pending_name(account_id, nonce),
        {
            "verifier": pkce.verifier,
            "client_id": client_id,
            "client_secret": client_secret or "",
            "redirect_uri": redirect_uri,
            "expires_at": expires,
        },
        description="sellsy-bridge pending OAuth connection (10 min)",
    )
    url = authorize_url(
        get_settings().sellsy_authorize_url,
        client_id=client_id,
        redirect_uri=redirect_uri,
        challenge=pkce.challenge,
        state=state,
    )
    return PendingAuthorization(url, state, redirect_uri, datetime.fromtimestamp(expires, UTC))


def complete_authorization(state: str, code: str, *, endpoint: TokenEndpoint | None = None) -> Account:
    """The callback: exchange the code (once) and store the tokens."""
    account_id, _, nonce = state.partition(".")
    if not account_id or not nonce or accounts_repo.get_account(account_id) is None:
        raise BadState("unknown OAuth state: start the connection again")
    name = _pending_name(account_id, nonce)
    pending = secrets.read_json(name, force=True)
    if not pending:
        raise BadState("unknown or already used OAuth state: start the connection again")
    secrets.delete(name)  # single use, whatever happens next
    if float(pending.get("expires_at", 0)) < time.time():
        raise BadState("this OAuth state expired: start the connection again")
    try:
        tokens = _endpoint(endpoint).exchange_code(
            client_id=pending["client_id"],
            client_secret=pending.get("client_secret", ""),
            code=code,
            verifier=pending["verifier"],
            redirect_uri=pending["redirect_uri"],
        )
    except NeedsReconnect as exc:
        raise ConnectionRefused(f"Sellsy refused the authorization code: {exc.message}") from exc
    credentials = Credentials(
        grant_type=AUTHORIZATION_CODE,
        client_id=pending["client_id"],
        client_secret=pending.get("client_secret", ""),
        redirect_uri=pending["redirect_uri"],
    ).with_tokens(tokens)
    return _activate(account_id, "authorization_code", credentials)


def disconnect(account_id: str) -> Account:
    accounts_repo.require_account(account_id)
    factory.token_store().delete_credentials(account_id)
    factory.forget_account(account_id)
    account = accounts_repo.set_status(account_id, "disconnected", "disconnected by a user", auth_method=None)
    record_exchange(account_id=account_id, direction="internal", kind="account_disconnected", status="ok")
    return account


# --- webhook registration in Sellsy (optional) ---------------------------------------------------


def register_webhook(
    account_id: str,
    *,
    endpoint_url: str,
    events: tuple[str, ...] | list[str] = DEFAULT_WEBHOOK_EVENTS,
    client: SellsyClient | None = None,
) -> Account:
    """Create (or replace) the account's HTTP webhook in Sellsy, signed with the account's key.

    A signing key is generated when the account has none. JSON bodies with the object inside, so
    the receiver sees the new status without an extra read. Event ids are checked against the
    account's ``GET /webhooks/events`` listing first: events asked for by name that Sellsy does not
    offer raise ``WebhookEventsRefused`` naming them; of the defaults, those offered are registered.
    """
    account = accounts_repo.require_account(account_id)
    if not account.can_sync:
        raise ConnectionRefused(f"account {account_id!r} is {account.status}: connect it first")
    sellsy = client or factory.client_for_account(account_id)
    events = _offered_events(sellsy, list(events), explicit=events is not DEFAULT_WEBHOOK_EVENTS)
    keys = secrets.get_webhook_signing_keys(account_id)
    sign_key = keys[0] if keys else pysecrets.token_hex(24)
    if not keys:
        secrets.put_webhook_signing_key(account_id, sign_key)
    body = {
        "type": "http",
        "name": f"sellsy-bridge {account_id}",
        "endpoint": endpoint_url,
        "is_enabled": True,
        "json_content_type": True,
        "object_in_payload": True,
        "sign_key": sign_key,
        "configuration": [{"id": event, "is_enabled": True} for event in events],
    }
    started = time.perf_counter()
    try:
        if account.sellsy_webhook_id:
            # The edit schema has no "type" (a webhook's kind can't change).
            edit = {k: v for k, v in body.items() if k != "type"}
            created = sellsy.put(f"/webhooks/{account.sellsy_webhook_id}", json=edit)
        else:
            created = sellsy.post("/webhooks", json=body)
    except SellsyError as exc:
        record_exchange(
            account_id=account_id,
            direction="outbound",
            kind="webhook_registered",
            status="failed",
            sellsy_type="webhook",
            reason=f"{type(exc).__name__}: {exc.message}",
            request=body,
            duration_ms=(time.perf_counter() - started) * 1000,
        )
        if exc.status == 400:
            named = [event for event in events if event in f"{exc.message} {exc.details}"] or list(events)
            raise WebhookEventsRefused(
                named, f"Sellsy refused the webhook for event(s) {', '.join(named)}: {exc.message}"
            ) from exc
        raise
    webhook_id = int(created["id"]) if isinstance(created, dict) and created.get("id") else None
    record_exchange(
        account_id=account_id,
        direction="outbound",
        kind="webhook_registered",
        status="ok",
        sellsy_type="webhook",
        sellsy_id=webhook_id,
        request=body,
        response=created,
        duration_ms=(time.perf_counter() - started) * 1000,
    )
    updated = accounts_repo.require_account(account_id, consistent=True).model_copy(
        update={"sellsy_webhook_id": webhook_id, "webhook_signing_key_set": True}
    )
    return accounts_repo.put_account(updated)


def _offered_events(sellsy: SellsyClient, events: list[str], *, explicit: bool) -> list[str]:
    """The events to register, checked against what this Sellsy account offers."""
    try:
        listing = sellsy.get("/webhooks/events")
    except (NeedsReconnect, SellsyUnavailable):
        raise
    except SellsyError as exc:  # no webhooks.read scope, say: Sellsy's own answer to the POST decides
        logger.warning("webhook event listing unreadable", extra={"status": exc.status})
        return events
    entries = listing if isinstance(listing, list) else (listing or {}).get("data", [])
    offered = sorted(
        f"{entry['id']}.{name}"
        for entry in entries
        if isinstance(entry, dict) and entry.get("id") and isinstance(entry.get("events"), dict)
        for name in entry["events"]
    )
    missing = [event for event in events if event not in offered]
    if missing and (explicit or len(missing) == len(events)):
        raise WebhookEventsRefused(missing, f"Sellsy does not offer the webhook event(s) {', '.join(missing)}", offered)
    if missing:
        logger.warning("default webhook events not offered by this account", extra={"events": missing})
    return [event for event in events if event in offered]
