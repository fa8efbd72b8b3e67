"""An account's health, for operators: what was received, imported and failed lately, and what is wrong.

Read only, from what the flows already store: the exchange log's health figures (the latest delivery and
failures per minute, kept as each exchange is recorded, so health costs two small reads whatever the log's
size), the import runs, the latest quota figures Sellsy answered, and the account (connection, webhook).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.adapters import accounts_repo, exchanges_repo, import_state, quota_figures
from bridge.domain.accounts import Account
from bridge.settings import get_settings

FAILURE_WINDOW = timedelta(hours=24)
IMPORT_OVERDUE = timedelta(hours=26)  # the nightly import, plus slack: the same bar as the alarm
RECENT_RUNS = 20


def account_health(account_id: str, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    account = accounts_repo.require_account(account_id)
    retention = timedelta(days=get_settings().exchange_retention_days)

    # Two small reads of figures kept at record time (bridge.flows.exchange_log), not a scan of the log.
    delivery = exchanges_repo.last_webhook(account_id)
    if delivery and delivery.get("at") and datetime.fromisoformat(str(delivery["at"])) < now - retention:
        delivery = None  # older than the log itself keeps
    failures = exchanges_repo.failures_since(account_id, now - FAILURE_WINDOW)
    runs = import_state.list_runs(account_id, limit=RECENT_RUNS)
    last_run = runs[0] if runs else None
    succeeded = next((run for run in runs if run["status"] == "done"), None)
    quota = quota_figures.load(account_id)

    last_success_at = succeeded.get("finished_at") if succeeded else None
    issues = health_issues(account, last_run, last_success_at, failures=failures, capped=False, now=now)

    return {
        "account_id": account_id,
        "status": account.status,
        "checked_at": now.isoformat(timespec="seconds"),
        "last_webhook": delivery,
        "last_import": _run(last_run) if last_run else None,
        "last_successful_import_at": last_success_at,
        "failures_24h": failures,
        "failures_24h_capped": False,  # counted, not listed: never capped (kept for the API's callers)
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


def _run(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": state["run_id"],
        "status": state["status"],
        "started_at": state["started_at"],
        "finished_at": state.get("finished_at"),
        "error": state.get("error"),
    }
