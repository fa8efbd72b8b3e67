"""Import Lambda, driven by the Step Functions state machine (or locally by infra/local/import_runner.py).

    {"action": "list_accounts"}                      -> {"accounts": [{"account_id": ...}, ...]}
    {"action": "chunk", "account_id", "run_id"?, "execution_arn"?}
                                                     -> {"account_id", "run_id", "done", "status", "progress"}
    {"action": "record_failure", "account_id", "run_id", "error", "cause", "execution_arn"?}
                                                     -> {"account_id", "run_id", "done": false, "status": "failed", ...}
    {"action": "sweep", "account_id", "mode"?}       -> the account's reconciliation sweep (nightly, after its import)
    {"action": "sweep_all", "mode"?}                 -> every active account's sweep (the hourly schedule)

A chunk works until the invocation's remaining time nears `IMPORT_MARGIN_MS`, saves its checkpoint and
returns `done: false`; the state machine loops until `done`. A chunk that fails beyond its retries is
caught by the state machine, which calls `record_failure` (the run is marked failed, a metric goes out).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bridge.flows.importer.accounts import active_account_ids, import_deps
from bridge.flows.importer.run import DEFAULT_MARGIN_MS, record_failure, run_chunk
from bridge.observability import invocation_log_keys, logger, metrics
from bridge.settings import load_settings

# Cold start: a variable with a bad value stops the function here, named in the error (bridge.settings).
load_settings()


class BadImportEvent(ValueError):
    pass


@invocation_log_keys
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    action = event.get("action") if isinstance(event, dict) else None
    if action == "list_accounts":
        return {"accounts": [{"account_id": account_id} for account_id in active_account_ids()]}
    if action in ("sweep", "sweep_all"):
        return _sweep(event, action)
    if action not in ("chunk", "record_failure"):
        raise BadImportEvent(f"unknown action {action!r}: expected list_accounts, chunk or record_failure")
    account_id = event.get("account_id")
    if not isinstance(account_id, str) or not account_id:
        raise BadImportEvent(f"{action} needs an account_id")
    run_id = _text(event.get("run_id"))
    execution_arn = _text(event.get("execution_arn"))
    logger.append_keys(account_id=account_id, run_id=run_id, execution_arn=execution_arn)
    if action == "record_failure":
        return record_failure(
            account_id,
            run_id,
            error=str(event.get("error") or "States.TaskFailed"),
            cause=str(event.get("cause") or ""),
            execution_arn=execution_arn,
        )
    deps, stopped = import_deps(account_id)
    if stopped is not None:
        return stopped
    assert deps is not None
    return run_chunk(
        account_id,
        deps,
        run_id=run_id,
        remaining_ms=context.get_remaining_time_in_millis,
        margin_ms=int(os.environ.get("IMPORT_MARGIN_MS", DEFAULT_MARGIN_MS)),
        execution_arn=execution_arn,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _sweep(event: dict[str, Any], action: str) -> dict[str, Any]:
    from bridge.flows.inbound import sweep

    mode = event.get("mode") or "hourly"
    if mode not in sweep.MODES:
        raise BadImportEvent(f"unknown sweep mode {mode!r}: expected one of {', '.join(sweep.MODES)}")
    if action == "sweep_all":
        return sweep.sweep_all(mode)
    account_id = event.get("account_id")
    if not isinstance(account_id, str) or not account_id:
        raise BadImportEvent("sweep needs an account_id")
    logger.append_keys(account_id=account_id)
    return sweep.sweep_account(account_id, mode=mode)
