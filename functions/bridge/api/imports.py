"""Import runs: start one account on demand, list its runs, follow a run's progress and summary.

Starting records the run (or resumes the account's unfinished one) and starts an execution of the import
state machine for this account only; locally the embedded default plays that execution at once. A run
still worked on by a running execution is refused with 409, naming it.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, Field

from bridge.adapters import accounts_repo, executions, import_state
from bridge.api.app_errors import ApiError, error_responses
from bridge.domain.accounts import ACCOUNT_ID_PATTERN
from bridge.flows.importer.on_demand import AccountNotActive, ImportAlreadyRunning, start_account_import
from bridge.flows.importer.run import progress

router = Router()
TAGS = ["imports"]

AccountId = Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, max_length=64)]
RunId = Annotated[str, Path(pattern=r"^\d{8}T\d{6}Z-[0-9a-f]{6}$", description="Id of an import run")]


class ImportRun(BaseModel):
    account_id: str
    run_id: str
    status: str = Field(
        description="running, done, quota_reserve_reached, plan_limit_reached, needs_reconnect or failed"
    )
    started_at: str
    finished_at: str | None = None
    execution_arn: str | None = Field(default=None, description="The state machine execution working on the run")
    progress: dict[str, Any] = Field(description="Phase, per-stream counters, API calls, quota left, last error")
    summary: dict[str, Any] | None = None


class ImportRunPage(BaseModel):
    items: list[ImportRun] = Field(description="Newest first")


def to_run(state: dict[str, Any]) -> ImportRun:
    return ImportRun(
        account_id=state["account_id"],
        run_id=state["run_id"],
        status=state["status"],
        started_at=state["started_at"],
        finished_at=state.get("finished_at"),
        execution_arn=state.get("execution_arn"),
        progress=progress(state),
        summary=state.get("summary"),
    )


@router.post(
    "/accounts/<account_id>/imports",
    summary="Start an import for one account (resumes its unfinished run)",
    description="Starts a state machine execution for this account only. 409 `import_running` while an "
    "execution still works on the account's run (details: run_id, started_at, execution_arn).",
    tags=TAGS,
    status_code=202,
    responses=error_responses(success=202),
)
def post_import(account_id: AccountId) -> ImportRun:
    try:
        return to_run(start_account_import(account_id))
    except AccountNotActive as exc:
        raise ApiError(409, "account_not_active", str(exc)) from None
    except ImportAlreadyRunning as running:
        state = running.state
        raise ApiError(
            409,
            "import_running",
            f"import run {state['run_id']} (started {state['started_at']}) is still running",
            {"run_id": state["run_id"], "started_at": state["started_at"], "execution_arn": state.get("execution_arn")},
        ) from None
    except executions.NotConfigured as exc:
        raise ApiError(503, "imports_unavailable", "no import state machine is configured here") from exc


@router.get(
    "/accounts/<account_id>/imports",
    summary="List an account's import runs with status and progress",
    tags=TAGS,
    responses=error_responses(),
)
def list_imports(account_id: AccountId, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> ImportRunPage:
    accounts_repo.require_account(account_id)
    return ImportRunPage(items=[to_run(state) for state in import_state.list_runs(account_id, limit=limit)])


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
