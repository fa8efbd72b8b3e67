"""One Sellsy token per account, shared by every Lambda.

Sellsy clients may have ``single_login``: each new token revokes the previous ones, so workers must
never fetch their own. The token values live in Secrets Manager (``{prefix}/accounts/{id}/sellsy``);
a small item in the accounts table (``pk=A#{id}``, ``sk=TOKEN``: version, expiry, lease) coordinates
renewal with conditional writes: exactly one worker takes the lease and renews, the others wait for
the version to change and re-read the secret. Each execution environment keeps the credentials in
memory, so a warm Lambda does not read Secrets Manager on every call.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from bridge.adapters.dynamo import account_pk, is_conditional_failure
from bridge.observability import logger
from bridge.sellsy.auth import STATIC_TOKEN, Credentials, TokenEndpoint, renew
from bridge.sellsy.errors import NeedsReconnect, SellsyUnavailable

TOKEN_SK = "TOKEN"  # noqa: S105 - a sort key, not a secret
LEASE_SECONDS = 30.0  # longer than a token request can take (15 s read timeout)
WAIT_SECONDS = 45.0  # how long a worker waits for another one's renewal before giving up


@dataclass(frozen=True)
class TokenMeta:
    version: int
    lease_owner: str | None
    lease_until: float
    expires_at: float


class TokenStore:
    """Credentials in Secrets Manager + the coordination item in the accounts table."""

    def __init__(
        self, *, table: Any, secrets: Any, secrets_prefix: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._table = table
        self._secrets = secrets
        self._prefix = secrets_prefix.rstrip("/")
        self._clock = clock

    def secret_name(self, account_id: str) -> str:
        return f"{self._prefix}/accounts/{account_id}/sellsy"

    def _key(self, account_id: str) -> dict[str, str]:
        return {"pk": account_pk(account_id), "sk": TOKEN_SK}

    # -- reads ------------------------------------------------------------------------------------
    def read_meta(self, account_id: str) -> TokenMeta:
        item = self._table.get_item(Key=self._key(account_id), ConsistentRead=True).get("Item") or {}
        return TokenMeta(
            version=int(item.get("version", 0)),
            lease_owner=item.get("lease_owner"),
            lease_until=float(item.get("lease_until", 0)),
            expires_at=float(item.get("expires_at", 0)),
        )

    def read_credentials(self, account_id: str) -> Credentials:
        try:
            secret = self._secrets.get_secret_value(SecretId=self.secret_name(account_id))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise NeedsReconnect("no Sellsy credentials stored for this account") from exc
            raise
        return Credentials.from_dict(json.loads(secret["SecretString"]))

    # -- writes -----------------------------------------------------------------------------------
    def save_credentials(self, account_id: str, credentials: Credentials) -> None:
        """Store new credentials (connection, renewal): the secret first, then bump the version."""
        self._write_secret(account_id, credentials)
        self._table.update_item(
            Key=self._key(account_id),
            UpdateExpression="SET version = if_not_exists(version, :zero) + :one, expires_at = :exp, "
            "grant_type = :grant, updated_at = :now REMOVE lease_owner, lease_until",
            ExpressionAttributeValues=self._values(credentials),
        )

    def try_lease(self, account_id: str, owner: str, seen_version: int, seconds: float = LEASE_SECONDS) -> bool:
        """Take the renewal lease if nobody renewed since ``seen_version`` and no live lease exists."""
        now = self._clock()
        try:
            self._table.update_item(
                Key=self._key(account_id),
                UpdateExpression="SET lease_owner = :owner, lease_until = :until",
                ConditionExpression="(attribute_not_exists(version) OR version = :seen) AND "
                "(attribute_not_exists(lease_until) OR lease_until < :now)",
                ExpressionAttributeValues={
                    ":owner": owner,
                    ":until": _num(now + seconds),
                    ":seen": seen_version,
                    ":now": _num(now),
                },
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def complete_renewal(self, account_id: str, owner: str, credentials: Credentials) -> None:
        self._write_secret(account_id, credentials)
        try:
            self._table.update_item(
                Key=self._key(account_id),
                UpdateExpression="SET version = if_not_exists(version, :zero) + :one, expires_at = :exp, "
                "grant_type = :grant, updated_at = :now REMOVE lease_owner, lease_until",
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeValues={**self._values(credentials), ":owner": owner},
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise
            logger.warning("token lease expired before the renewal completed", extra={"account_id": account_id})

    def abandon_lease(self, account_id: str, owner: str) -> None:
        try:
            self._table.update_item(
                Key=self._key(account_id),
                UpdateExpression="REMOVE lease_owner, lease_until",
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeValues={":owner": owner},
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise

    def delete_credentials(self, account_id: str) -> None:
        """Forget an account's credentials (disconnect)."""
        try:
            self._secrets.delete_secret(SecretId=self.secret_name(account_id), ForceDeleteWithoutRecovery=True)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
        self._table.delete_item(Key=self._key(account_id))

    def _write_secret(self, account_id: str, credentials: Credentials) -> None:
        name = self.secret_name(account_id)
        value = json.dumps(credentials.to_dict())
        try:
            self._secrets.put_secret_value(SecretId=name, SecretString=value)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            self._secrets.create_secret(Name=name, SecretString=value)

    def _values(self, credentials: Credentials) -> dict[str, Any]:
        return {
            ":zero": 0,
            ":one": 1,
            ":exp": _num(credentials.expires_at),
            ":grant": credentials.grant_type,
            ":now": _num(self._clock()),
        }


def _num(value: float) -> Any:
    from decimal import Decimal

    return Decimal(str(round(value, 3)))


class SharedTokenProvider:
    """Token provider for one account, coordinated through a ``TokenStore`` (see module doc)."""

    def __init__(
        self,
        account_id: str,
        store: TokenStore,
        endpoint: TokenEndpoint,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        lease_seconds: float = LEASE_SECONDS,
        wait_seconds: float = WAIT_SECONDS,
        poll_seconds: float = 0.1,
    ) -> None:
        self.account_id = account_id
        self._store = store
        self._endpoint = endpoint
        self._clock = clock
        self._sleep = sleep
        self._lease_seconds = lease_seconds
        self._wait_seconds = wait_seconds
        self._poll_seconds = poll_seconds
        self._owner = uuid.uuid4().hex
        self._lock = threading.Lock()
        self._credentials: Credentials | None = None
        self._version = -1
        self.renewals = 0  # renewals this provider performed itself

    def token(self) -> str:
        with self._lock:
            if self._credentials is not None and self._credentials.is_fresh(self._clock()):
                return self._credentials.access_token
            credentials = self._load()
            if credentials.is_fresh(self._clock()):
                return credentials.access_token
            return self._renew(rejected=None)

    def refresh(self, rejected: str) -> str:
        with self._lock:
            credentials = self._load()
            if credentials.access_token != rejected and credentials.is_fresh(self._clock()):
                return credentials.access_token  # another worker already renewed
            return self._renew(rejected=rejected)

    def forget(self) -> None:
        """Drop the in-memory copy (e.g. after the account reconnected with new credentials)."""
        with self._lock:
            self._credentials, self._version = None, -1

    def _load(self) -> Credentials:
        # Version first, then the secret: the renewer writes the secret before bumping the version,
        # so a secret read after seeing version v is at least as new as v.
        self._version = self._store.read_meta(self.account_id).version
        self._credentials = self._store.read_credentials(self.account_id)
        return self._credentials

    def _renew(self, rejected: str | None) -> str:
        assert self._credentials is not None
        if self._credentials.grant_type == STATIC_TOKEN:
            raise NeedsReconnect("the pasted Sellsy access token expired or was rejected", status=401)
        deadline = self._clock() + self._wait_seconds
        while True:
            if self._store.try_lease(self.account_id, self._owner, self._version, self._lease_seconds):
                return self._renew_holding_lease()
            if self._wait_for_other_renewal(deadline, rejected):
                assert self._credentials is not None
                return self._credentials.access_token

    def _renew_holding_lease(self) -> str:
        assert self._credentials is not None
        try:
            renewed = renew(self._endpoint, self._credentials)
        except Exception:
            self._store.abandon_lease(self.account_id, self._owner)
            raise
        self._store.complete_renewal(self.account_id, self._owner, renewed)
        self._credentials = renewed
        self._version += 1
        self.renewals += 1
        logger.info("sellsy token renewed", extra={"account_id": self.account_id, "grant": renewed.grant_type})
        return renewed.access_token

    def _wait_for_other_renewal(self, deadline: float, rejected: str | None) -> bool:
        """True when a renewed token was loaded; False to compete for the lease again."""
        while self._clock() < deadline:
            self._sleep(self._poll_seconds)
            meta = self._store.read_meta(self.account_id)
            if meta.version != self._version:
                credentials = self._load()
                usable = credentials.is_fresh(self._clock()) and credentials.access_token != rejected
                return usable
            if meta.lease_until < self._clock():
                return False  # the renewer died: take over
        raise SellsyUnavailable("timed out waiting for another worker to renew the Sellsy token")
