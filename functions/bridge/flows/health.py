"""An account's health, for operators: what was received, imported and failed lately, and what is wrong.

Read only, from what the flows already store: the exchange log (last delivery, failures), the import runs,
the latest quota figures Sellsy answered, and the account (connection, webhook registration).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr

from bridge.adapters import accounts_repo, exchanges_repo, import_state, quota_figures
from bridge.domain.accounts import Account
from bridge.settings import get_settings

FAILURE_WINDOW = timedelta(hours=24)
IMPORT_OVERDUE = timedelta(hours=26)  # the nightly import, plus slack: the same bar as the alarm
MAX_COUNTED_FAILURES = 1000
RECENT_RUNS = 20


def account_health(account_id: str, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    account = accounts_repo.require_account(account_id)
    retention = timedelta(days=get_settings().exchange_retention_days)

    deliveries, _ = exchanges_repo.query(
        account_id, since=now - retention, until=now, limit=1, filters=Attr("kind").eq("webhook_received")
    )
    failures, more = exchanges_repo.query(
        account_id,
        since=now - FAILURE_WINDOW,
        until=now,
        limit=MAX_COUNTED_FAILURES,
        filters=Attr("status").eq("failed"),
    )
    runs = import_state.list_runs(account_id, limit=RECENT_RUNS)
    last_run = runs[0] if runs else None
    succeeded = next((run for run in runs if run["status"] == "done"), None)
    quota = quota_figures.load(account_id)

    last_success_at = succeeded.get("finished_at") if succeeded else None
    issues = health_issues(account, last_run, last_success_at, failures=len(failures), capped=more is not None, now=now)

    return {
        "account_id": account_id,
        "status": account.status,
        "checked_at": now.isoformat(timespec="seconds"),
        "last_webhook": _delivery(deliveries[0]) if deliveries else None,
        "last_import": _run(last_run) if last_run else None,
        "last_successful_import_at": last_success_at,
        "failures_24h": len(failures),
        "failures_24h_capped": more is not None,
        "quota": quota,
        "webhook": {
            "registered": account.sellsy_webhook_id is not None,
            "sellsy_webhook_id": account.sellsy_webhook_id,
            "signing_key_set": account.webhook_signing_key_set,
        },
        "problems": [problem_text(issue) for issue in issues],
        "issues": issues,
    }


# What needs attention, as codes with their values (the console words them in French or English)...
def health_issues(
    account: Account,
    last_run: dict[str, Any] | None,
    last_success_at: str | None,
    *,
    failures: int,
    capped: bool,
    now: datetime,
) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = []
    if account.status != "active":
        issues.append({"code": "not_active", "status": account.status, "reason": account.status_reason or ""})
    if account.sellsy_webhook_id is None:
        issues.append({"code": "no_webhook"})
    if not account.webhook_signing_key_set:
        issues.append({"code": "no_signing_key"})
    if last_run is not None and last_run["status"] not in ("done", "running"):
        issues.append({"code": "last_import", "status": last_run["status"]})
    if account.status == "active" and (
        last_success_at is None or now - datetime.fromisoformat(last_success_at) > IMPORT_OVERDUE
    ):
        issues.append({"code": "import_overdue"})
    if failures:
        issues.append({"code": "failures", "count": failures, "capped": capped})
    return issues


# ...and in English for the JSON API's ``problems``.
def problem_text(issue: dict[str, Any]) -> str:
    code = issue["code"]
    if code == "not_active":
        return f"account is {issue['status']}" + (f": {issue['reason']}" if issue["reason"] else "")
    if code == "failures":
        return f"{issue['count']}{'+' if issue['capped'] else ''} failed exchanges in 24 h"
    return {
        "no_webhook": "no webhook registered in Sellsy",
        "no_signing_key": "no webhook signing key: every delivery is refused",
        "last_import": f"last import {issue.get('status')}",
        "import_overdue": "no successful import in 26 h",
    }[code]


def _delivery(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "exchange_id": item["sk"],
        "at": item.get("created_at"),
        "sellsy_type": item.get("sellsy_type"),
        "sellsy_id": item.get("sellsy_id"),
    }


def _run(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": state["run_id"],
        "status": state["status"],
        "started_at": state["started_at"],
        "finished_at": state.get("finished_at"),
        "error": state.get("error"),
    }
