"""Field keys: operators issue, list, rotate and revoke them; the gate authenticates with them.

A key is shown once, when issued (or rotated); afterwards only its metadata can be read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bridge.adapters import accounts_repo, field_keys_repo
from bridge.adapters.field_keys_repo import FieldKey, FieldKeyNotFound
from bridge.domain import access
from bridge.observability import logger


class TooManyKeys(Exception):
    """The account already holds the most active keys allowed: revoke some first."""


class AlreadyRevoked(Exception):
    """A revoked key cannot be rotated: issue a new one."""


@dataclass(frozen=True)
class IssuedKey:
    key: str  # the only time the key text exists outside the caller's hands
    info: FieldKey


def issue(account_id: str, *, label: str, issued_by: str, replaces: str | None = None) -> IssuedKey:
    accounts_repo.require_account(account_id)
    active = [k for k in field_keys_repo.list_keys(account_id) if k.active]
    if replaces is None and len(active) >= field_keys_repo.MAX_KEYS_PER_ACCOUNT:
        raise TooManyKeys(
            f"account {account_id!r} has {len(active)} active field keys (the most allowed): revoke unused ones"
        )
    key_id = access.new_key_id()
    key = access.new_field_key(account_id, key_id)
    info = FieldKey(
        key_id=key_id, account_id=account_id, label=label, created_at=datetime.now(UTC), created_by=issued_by
    )
    field_keys_repo.put_new(info, access.key_digest(key))
    logger.info("field key issued", extra={"account_id": account_id, "key_id": key_id})
    return IssuedKey(key=key, info=info)


def list_keys(account_id: str) -> list[FieldKey]:
    accounts_repo.require_account(account_id)
    return field_keys_repo.list_keys(account_id)


def revoke(account_id: str, key_id: str) -> FieldKey:
    revoked = field_keys_repo.revoke(account_id, key_id)
    logger.info("field key revoked", extra={"account_id": account_id, "key_id": key_id})
    return revoked


def rotate(account_id: str, key_id: str, *, issued_by: str) -> IssuedKey:
    """A new key with the same label; the old one is revoked at once (the field app switches to the new)."""
    old = field_keys_repo.get(account_id, key_id)
    if old is None:
        raise FieldKeyNotFound(account_id, key_id)
    if not old.active:
        raise AlreadyRevoked(f"field key {key_id!r} is already revoked: issue a new key instead")
    new = issue(account_id, label=old.label, issued_by=issued_by, replaces=key_id)
    field_keys_repo.revoke(account_id, key_id, replaced_by=new.info.key_id)
    return new


def authenticate(token: str) -> tuple[access.Principal | None, str]:
    """(principal, "") for a live key; (None, why) otherwise; the reason never holds the key."""
    presented = access.parse_field_key(token)
    if presented is None:
        return None, "invalid field key"
    found = field_keys_repo.get_with_hash(presented.account_id, presented.key_id)
    if found is None or not access.digest_matches(presented, found[1]):
        return None, "invalid field key"
    if not found[0].active:
        return None, "field key revoked"
    principal = access.Principal(
        role="field",
        label=f"field-key:{presented.account_id}/{presented.key_id}",
        account_id=presented.account_id,
        key_id=presented.key_id,
    )
    return principal, ""
