"""Field keys of one account (management, operators only): ``/accounts/{account_id}/field-keys...``.

- ``POST``: issue a key; the answer holds the key, shown this once (give it to the field app).
- ``GET``: the account's keys, metadata only (never a key, never a hash).
- ``POST .../{key_id}/rotate``: a new key with the same label; the old one stops working at once.
- ``DELETE .../{key_id}``: revoke; the key then gets 401 everywhere. The record stays, marked revoked.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from pydantic import BaseModel, ConfigDict, Field

from bridge.adapters.field_keys_repo import FieldKey, FieldKeyNotFound
from bridge.api.app_errors import ApiError, error_responses
from bridge.domain.access import KEY_ID_PATTERN, Principal
from bridge.domain.accounts import ACCOUNT_ID_PATTERN
from bridge.flows import field_keys as flow

router = Router()
TAGS = ["field keys"]

AccountId = Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, max_length=64)]
KeyId = Annotated[str, Path(pattern=KEY_ID_PATTERN, max_length=14)]


class FieldKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    label: Annotated[str, Field(min_length=1, max_length=100, description="Which app or device holds it")]


class FieldKeyInfo(BaseModel):
    key_id: str
    account_id: str
    label: str
    created_at: str
    created_by: str
    active: bool
    revoked_at: str | None = None
    replaced_by: str | None = None


class IssuedFieldKey(FieldKeyInfo):
    key: str = Field(description="Shown once: send it as 'Authorization: Bearer <key>' from the field app")


class FieldKeyList(BaseModel):
    items: list[FieldKeyInfo]


def _info(key: FieldKey) -> FieldKeyInfo:
    return FieldKeyInfo(
        key_id=key.key_id,
        account_id=key.account_id,
        label=key.label,
        created_at=key.created_at.isoformat(),
        created_by=key.created_by,
        active=key.active,
        revoked_at=key.revoked_at.isoformat() if key.revoked_at else None,
        replaced_by=key.replaced_by,
    )


def _issued(issued: flow.IssuedKey) -> IssuedFieldKey:
    return IssuedFieldKey(key=issued.key, **_info(issued.info).model_dump())


def _operator() -> str:
    principal = router.context.get("principal")
    return principal.label if isinstance(principal, Principal) else "unknown"


@router.post(
    "/accounts/<account_id>/field-keys",
    summary="Issue a field key for this account (the key is shown once)",
    tags=TAGS,
    status_code=201,
    responses=error_responses(400, 401, 403, 404, 409, 422, 500, success=201),
)
def issue_field_key(account_id: AccountId, body: Annotated[FieldKeyRequest, Body()]) -> IssuedFieldKey:
    try:
        return _issued(flow.issue(account_id, label=body.label, issued_by=_operator()))
    except flow.TooManyKeys as exc:
        raise ApiError(409, "too_many_keys", str(exc)) from exc


@router.get(
    "/accounts/<account_id>/field-keys",
    summary="List the account's field keys (metadata only)",
    tags=TAGS,
    responses=error_responses(401, 403, 404, 422, 500),
)
def list_field_keys(account_id: AccountId) -> FieldKeyList:
    return FieldKeyList(items=[_info(k) for k in flow.list_keys(account_id)])


@router.post(
    "/accounts/<account_id>/field-keys/<key_id>/rotate",
    summary="Replace a field key: a new key (shown once), the old one revoked at once",
    tags=TAGS,
    status_code=201,
    responses=error_responses(401, 403, 404, 409, 422, 500, success=201),
)
def rotate_field_key(account_id: AccountId, key_id: KeyId) -> IssuedFieldKey:
    try:
        return _issued(flow.rotate(account_id, key_id, issued_by=_operator()))
    except FieldKeyNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    except flow.AlreadyRevoked as exc:
        raise ApiError(409, "already_revoked", str(exc)) from exc


@router.delete(
    "/accounts/<account_id>/field-keys/<key_id>",
    summary="Revoke a field key (it then gets 401)",
    tags=TAGS,
    responses=error_responses(401, 403, 404, 422, 500),
)
def revoke_field_key(account_id: AccountId, key_id: KeyId) -> FieldKeyInfo:
    try:
        return _info(flow.revoke(account_id, key_id))
    except FieldKeyNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
