"""Imports on demand: one state machine execution for one account, never two at once on the same run.

The run is recorded first (the account's unfinished run is resumed, else a new one), then claimed for a
new execution with a conditional write, then the execution starts with the account as its only item.
A run still worked on by a running execution (nightly or on demand) is refused with that run.
"""

from __future__ import annotations

import secrets
from typing import Any

from bridge.adapters import accounts_repo, executions, import_state
from bridge.flows.importer.run import RUNNING, start_run


class AccountNotActive(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(f"account is {status}; reconnect it first")
        self.status = status


class ImportAlreadyRunning(Exception):
    def __init__(self, state: dict[str, Any]) -> None:
        super().__init__(f"run {state['run_id']} is running")
        self.state = state


def execution_input(account_id: str) -> dict[str, Any]:
    """What the state machine takes for an on-demand start: the accounts to import, no listing."""
    return {"accounts": [{"account_id": account_id}], "max_concurrency": 1}


def is_worked_on(state: dict[str, Any]) -> bool:
    arn = state.get("execution_arn")
    return state["status"] == RUNNING and bool(arn) and executions.status(str(arn)) == executions.RUNNING


def start_import(account_id: str, base_currency: str) -> dict[str, Any]:
    state = start_run(account_id, base_currency)
    if is_worked_on(state):
        raise ImportAlreadyRunning(state)
    name = f"{account_id[:40]}-{state['run_id']}-{secrets.token_hex(3)}"
    claimed = {**state, "status": RUNNING, "error": None, "execution_arn": executions.execution_arn(name)}
    try:
        state = import_state.save_run({**claimed, "trigger": "api"})
    except import_state.CheckpointConflict:  # another start, or a chunk, wrote the run since we read it
        latest = import_state.load_run(account_id, state["run_id"]) or state
        raise ImportAlreadyRunning(latest) from None
    executions.start(name, execution_input(account_id))
    return state


def start_account_import(account_id: str) -> dict[str, Any]:
    """Start (or resume) the import of an active account in its base currency: what an operator asks for.

    Raises ``AccountNotFound``, ``AccountNotActive``, ``ImportAlreadyRunning`` or ``executions.NotConfigured``.
    """
    account = accounts_repo.require_account(account_id)
    if account.status != "active":
        raise AccountNotActive(account.status)
    return start_import(account_id, account.settings.base_currency)
