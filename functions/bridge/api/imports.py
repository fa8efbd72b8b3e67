"""Import runs (issue #5): start one account on demand, follow a run's progress and summary.

Starting records a run (or returns the unfinished one); the next import chunk picks it up: the state
machine in AWS (its nightly Map, or an execution started for the account), the local runner locally.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, Field

from bridge.adapters import accounts_repo, import_state
from bridge.api.app_errors import ApiError, error_responses
from bridge.domain.accounts import ACCOUNT_ID_PATTERN
from bridge.flows.importer.run import progress, start_run

router = Router()
TAGS = ["imports"]

AccountId = Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, max_length=64)]
RunId = Annotated[str, Path(pattern=r"^\d{8}T\d{6}Z-[0-9a-f]{6}$", description="Id of an import run")]


class ImportRun(BaseModel):
    account_id: str
    run_id: str
    status: str = Field(description="running, done, quota_reserve_reached, needs_reconnect or failed")
    started_at: str
    finished_at: str | None = None
    progress: dict[str, Any]
    summary: dict[str, Any] | None = None


def to_run(state: dict[str, Any]) -> ImportRun:
    return ImportRun(
        account_id=state["account_id"],
        run_id=state["run_id"],
        status=state["status"],
        started_at=state["started_at"],
        finished_at=state.get("finished_at"),
        progress=progress(state),
        summary=state.get("summary"),
    )


@router.post(
    "/accounts/<account_id>/imports",
    summary="Start an import for one account (or return its unfinished run)",
    tags=TAGS,
    status_code=202,
    responses=error_responses(success=202),
)
def start_import(account_id: AccountId) -> ImportRun:
    account = accounts_repo.require_account(account_id)
    if account.status != "active":
        raise ApiError(409, "account_not_active", f"account is {account.status}; reconnect it first")
    return to_run(start_run(account_id, account.settings.base_currency))


@router.get(
    "/accounts/<account_id>/imports/<run_id>",
    summary="Progress and summary of an import run",
    tags=TAGS,
    responses=error_responses(),
)
def get_import(account_id: AccountId, run_id: RunId) -> ImportRun:
    accounts_repo.require_account(account_id)
    state = import_state.load_run(account_id, run_id)
    if state is None:
        raise ApiError(404, "not_found", f"no import run {run_id!r}")
    return to_run(state)
