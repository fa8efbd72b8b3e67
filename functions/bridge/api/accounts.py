"""Accounts and their connection to Sellsy (F1): ``/accounts...``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bridge.adapters import accounts_repo
from bridge.api.app_errors import ApiError, error_responses
from bridge.domain.accounts import (
    ACCOUNT_ID_PATTERN,
    Account,
    AccountSettings,
    AccountStatus,
    CustomFieldRule,
    DeepLinkHost,
    SyncDirection,
    Trigger,
)
from bridge.flows import accounts as flow
from bridge.sellsy.errors import NeedsReconnect, SellsyError, SellsyUnavailable
from bridge.settings import get_settings

router = Router()
TAGS = ["accounts"]

AccountId = Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, max_length=64, description="Our account id")]
SigningKey = Annotated[str, Field(min_length=16, max_length=256, description="Write-only; kept in Secrets Manager")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AccountCreate(_Input):
    id: Annotated[str, Field(pattern=ACCOUNT_ID_PATTERN)] | None = Field(
        default=None, description="Chosen id (letters, digits, - and _); generated when omitted"
    )
    name: Annotated[str, Field(min_length=1, max_length=200)]
    settings: AccountSettings = Field(default_factory=AccountSettings)
    webhook_signing_key: SigningKey | None = None


class SettingsPatch(_Input):
    """Only the keys given are replaced (each one whole); the result is validated as a whole."""

    base_currency: str | None = None
    sync_direction: SyncDirection | None = None
    custom_field_rules: list[CustomFieldRule] | None = None
    triggers: list[Trigger] | None = None
    deep_link_host: DeepLinkHost | None = None
    daily_quota_reserve: Annotated[int, Field(ge=0, le=1_000_000)] | None = None


class AccountUpdate(_Input):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    settings: SettingsPatch | None = None
    webhook_signing_key: SigningKey | None = None
    expected_version: int | None = Field(default=None, description="Refuse (409) if the account changed")


class AccountPage(BaseModel):
    items: list[Account]
    next_cursor: str | None = None


class Connection(_Input):
    """Client credentials of a Sellsy personal client, or an access token pasted by the user."""

    method: Literal["client_credentials", "access_token"]
    client_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    client_secret: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    access_token: Annotated[str, Field(min_length=8, max_length=8192, pattern=r"^[A-Za-z0-9._~+/=-]+$")] | None = None
    expires_at: datetime | None = Field(default=None, description="When a pasted token expires, if known")

    @model_validator(mode="after")
    def _fields_for_method(self) -> Connection:
        needed = ("client_id", "client_secret") if self.method == "client_credentials" else ("access_token",)
        missing = [name for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(f"method {self.method!r} needs {', '.join(missing)}")
        return self


class AuthorizeRequest(_Input):
    client_id: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="Defaults to the deployed OAuth application (secret app/sellsy-oauth-client)"
    )
    client_secret: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    redirect_uri: Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=2000)] | None = Field(
        default=None, description="Defaults to this API's /oauth/callback"
    )


class AuthorizeAnswer(BaseModel):
    authorize_url: str = Field(description="Open it in a browser to grant access in Sellsy")
    state: str
    redirect_uri: str
    expires_at: datetime


class WebhookRegistration(_Input):
    endpoint_url: Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=2000)] | None = Field(
        default=None, description="Defaults to this API's /webhooks/sellsy/{account_id}"
    )
    events: Annotated[list[Annotated[str, Field(pattern=r"^[A-Za-z_]+\.[A-Za-z_]+$")]], Field(min_length=1)] | None = (
        None
    )


def public_base_url() -> str:
    """This API's own base URL (settings first; else the host the caller used)."""
    configured = get_settings().public_api_url
    if configured:
        return configured
    event: Any = router.current_event
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    host = headers.get("host") or event.request_context.domain_name
    local = host.startswith(("127.0.0.1", "localhost", "[::1]"))
    scheme = headers.get("x-forwarded-proto") or ("http" if local else "https")
    return f"{scheme}://{host}"


@router.post(
    "/accounts",
    summary="Create an account",
    tags=TAGS,
    status_code=201,
    responses=error_responses(success=201),
)
def create_account(body: Annotated[AccountCreate, Body()]) -> Account:
    return flow.create_account(
        name=body.name,
        account_id=body.id,
        settings=body.settings,
        webhook_signing_key=body.webhook_signing_key,
    )


@router.get("/accounts", summary="List accounts", tags=TAGS, responses=error_responses())
def list_accounts(
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    status: Annotated[AccountStatus | None, Query()] = None,
) -> AccountPage:
    try:
        items, next_cursor = accounts_repo.list_accounts(limit=limit, cursor=cursor, status=status)
    except ValueError as exc:
        raise ApiError(400, "bad_cursor", str(exc)) from exc
    return AccountPage(items=items, next_cursor=next_cursor)


@router.get("/accounts/<account_id>", summary="Read an account", tags=TAGS, responses=error_responses())
def get_account(account_id: AccountId) -> Account:
    return accounts_repo.require_account(account_id)


@router.patch(
    "/accounts/<account_id>",
    summary="Update name, settings or signing key",
    tags=TAGS,
    responses=error_responses(),
)
def update_account(account_id: AccountId, body: Annotated[AccountUpdate, Body()]) -> Account:
    patch = body.settings.model_dump(exclude_none=True, by_alias=True) if body.settings else None
    return flow.update_account(
        account_id,
        name=body.name,
        settings_patch=patch,
        webhook_signing_key=body.webhook_signing_key,
        expected_version=body.expected_version,
    )


@router.put(
    "/accounts/<account_id>/connection",
    summary="Connect with client credentials or a pasted access token",
    tags=TAGS,
    responses=error_responses(),
)
def connect(account_id: AccountId, body: Annotated[Connection, Body()]) -> Account:
    try:
        if body.method == "client_credentials":
            assert body.client_id and body.client_secret  # checked by the model
            return flow.connect_client_credentials(
                account_id, client_id=body.client_id, client_secret=body.client_secret
            )
        assert body.access_token
        return flow.connect_access_token(account_id, access_token=body.access_token, expires_at=body.expires_at)
    except flow.ConnectionRefused as exc:
        raise ApiError(400, "connection_refused", str(exc)) from exc
    except SellsyUnavailable as exc:
        raise ApiError(503, "sellsy_unavailable", "Sellsy could not be reached; try again later") from exc
    except SellsyError as exc:  # an answer we can't use (e.g. a token response without a token)
        raise ApiError(502, "sellsy_error", f"Sellsy answered unexpectedly: {exc.message}") from exc


@router.post(
    "/accounts/<account_id>/connection/authorize",
    summary="Start an authorization-code connection (PKCE)",
    description="Returns the Sellsy URL to open; Sellsy then redirects to /oauth/callback.",
    tags=TAGS,
    responses=error_responses(),
)
def authorize(account_id: AccountId, body: Annotated[AuthorizeRequest, Body()]) -> AuthorizeAnswer:
    redirect_uri = body.redirect_uri or f"{public_base_url()}/oauth/callback"
    try:
        pending = flow.start_authorization(
            account_id, client_id=body.client_id, client_secret=body.client_secret, redirect_uri=redirect_uri
        )
    except flow.OAuthAppMissing as exc:
        raise ApiError(400, "oauth_app_missing", str(exc)) from exc
    return AuthorizeAnswer(
        authorize_url=pending.authorize_url,
        state=pending.state,
        redirect_uri=pending.redirect_uri,
        expires_at=pending.expires_at,
    )


@router.delete(
    "/accounts/<account_id>/connection",
    summary="Disconnect (forget the Sellsy credentials)",
    tags=TAGS,
    responses=error_responses(),
)
def disconnect(account_id: AccountId) -> Account:
    return flow.disconnect(account_id)


@router.post(
    "/accounts/<account_id>/webhook",
    summary="Register (or update) the account's webhook in Sellsy",
    tags=TAGS,
    responses=error_responses(),
)
def register_webhook(account_id: AccountId, body: Annotated[WebhookRegistration, Body()]) -> Account:
    endpoint = body.endpoint_url or f"{public_base_url()}/webhooks/sellsy/{account_id}"
    try:
        if body.events:
            return flow.register_webhook(account_id, endpoint_url=endpoint, events=body.events)
        return flow.register_webhook(account_id, endpoint_url=endpoint)
    except flow.ConnectionRefused as exc:
        raise ApiError(409, "not_connected", str(exc)) from exc
    except flow.WebhookEventsRefused as exc:
        details = {"events": exc.events, "available": exc.available}
        raise ApiError(400, "webhook_events_refused", exc.message, details) from exc
    except NeedsReconnect as exc:
        accounts_repo.mark_needs_reconnect(account_id, exc.message)
        raise ApiError(409, "needs_reconnect", "Sellsy no longer accepts this account's credentials") from exc
    except SellsyUnavailable as exc:
        raise ApiError(503, "sellsy_unavailable", "Sellsy could not be reached; try again later") from exc
    except SellsyError as exc:
        raise ApiError(400, "sellsy_refused", f"Sellsy refused the webhook: {exc.message}", exc.details) from exc
