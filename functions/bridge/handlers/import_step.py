"""Import Lambda, driven by the Step Functions state machine (or locally by infra/local/import_runner.py).

    {"action": "list_accounts"}                      -> {"accounts": [{"account_id": ...}, ...]}
    {"action": "chunk", "account_id", "run_id"?}     -> {"account_id", "run_id", "done", "status", "progress"}

A chunk works until the invocation's remaining time nears `IMPORT_MARGIN_MS`, saves its checkpoint and
returns `done: false`; the state machine loops until `done`.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bridge.flows.importer.accounts import active_account_ids, import_deps
from bridge.flows.importer.run import DEFAULT_MARGIN_MS, run_chunk
from bridge.observability import logger, metrics


class BadImportEvent(ValueError):
    pass


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    action = event.get("action") if isinstance(event, dict) else None
    if action == "list_accounts":
        return {"accounts": [{"account_id": account_id} for account_id in active_account_ids()]}
    if action == "chunk":
        account_id = event.get("account_id")
        if not isinstance(account_id, str) or not account_id:
            raise BadImportEvent("chunk needs an account_id")
        run_id = event.get("run_id")
        logger.append_keys(account_id=account_id, run_id=run_id)
        deps, stopped = import_deps(account_id)
        if stopped is not None:
            return stopped
        assert deps is not None
        return run_chunk(
            account_id,
            deps,
            run_id=run_id if isinstance(run_id, str) and run_id else None,
            remaining_ms=context.get_remaining_time_in_millis,
            margin_ms=int(os.environ.get("IMPORT_MARGIN_MS", DEFAULT_MARGIN_MS)),
        )
    raise BadImportEvent(f"unknown action {action!r}: expected list_accounts or chunk")
