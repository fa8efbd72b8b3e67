"""Which accounts the nightly import covers, and the ready-made dependencies of one account's chunk."""

from __future__ import annotations

from typing import Any

from bridge.adapters import accounts_repo
from bridge.domain.accounts import MissingScope
from bridge.flows.importer.run import NEEDS_RECONNECT, ImportDeps
from bridge.settings import get_settings


def active_account_ids() -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        accounts, cursor = accounts_repo.list_accounts(limit=100, cursor=cursor, status="active")
        ids.extend(account.id for account in accounts)
        if not cursor:
            return ids


def _reconnect(account_id: str, reason: str) -> None:
    accounts_repo.mark_needs_reconnect(account_id, reason)


def _note_missing_scopes(account_id: str, skipped: dict[str, Any]) -> None:
    """The last finished run's missing scopes replace the previous ones (granting a scope clears it)."""
    scopes: dict[str, MissingScope] = {}
    for feature, why in sorted(skipped.items()):
        scope = why.get("scope") or "unknown scope"
        entry = scopes.setdefault(scope, MissingScope(scope=scope, message=why.get("message")))
        entry.features.append(feature)
    accounts_repo.update_health(
        account_id, lambda health: health.model_copy(update={"missing_scopes": list(scopes.values())})
    )


def import_deps(account_id: str) -> tuple[ImportDeps | None, dict[str, Any] | None]:
    """(deps, None) for an active account; (None, a final answer) when the account cannot import."""
    from bridge.sellsy.factory import client_for_account

    account = accounts_repo.require_account(account_id)
    if account.status != "active":
        status = NEEDS_RECONNECT if account.status == "needs_reconnect" else "failed"
        return None, {
            "account_id": account_id,
            "run_id": None,
            "done": True,
            "status": status,
            "progress": {"error": f"account is {account.status}"},
        }
    settings = account.settings
    client = client_for_account(account_id, daily_reserve=int(settings.daily_quota_reserve))
    deps = ImportDeps(
        client=client,
        base_currency=settings.base_currency,
        export_bucket=get_settings().reports_bucket,
        on_reconnect=_reconnect,
        on_missing_scopes=_note_missing_scopes,
    )
    return deps, None
