"""The import state machine's definition drives the REAL import handler (moto + Sellsy sandbox).

Step Functions cannot run locally with Lambda tasks, so infra/local/asl.py plays the definition exactly as
deployed (same payloads, ResultSelector, Choice loop, Catch); the handler is bridge.handlers.import_step.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from infra.local.asl import Execution, Machine, StatesError, substitute
from infra.local.lambda_context import LocalContext
from infra.template_tools import REPO_ROOT, load_template

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FUNCTION_ARN = "arn:aws:lambda:eu-west-3:123456789012:function:import"


class ShortLivedContext(LocalContext):
    """A context whose invocation 'runs out of time' after a few checks, so the import needs several chunks."""

    def __init__(self, checks_before_timeout: int):
        super().__init__("import", timeout_seconds=900)
        self._checks = checks_before_timeout

    def get_remaining_time_in_millis(self) -> int:
        self._checks -= 1
        return 900_000 if self._checks >= 0 else 0


def _definition() -> dict[str, Any]:
    props = load_template()["Resources"]["ImportStateMachine"]["Properties"]
    raw = json.loads((REPO_ROOT / props["DefinitionUri"]).read_text())
    return substitute(raw, {"ImportFunctionArn": FUNCTION_ARN})


def _connected_account(api: Any, sandbox: Any) -> str:
    account_id = f"sm{secrets.token_hex(4)}"
    created = api.post(
        "/accounts",
        json={"id": account_id, "name": "State machine test", "settings": {"base_currency": "EUR"}},
    )
    assert created.status_code == 201, created.text
    connection = {
        "method": "client_credentials",
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
    }
    connected = api.put(f"/accounts/{account_id}/connection", json=connection)
    assert connected.status_code == 200, connected.text
    return account_id


def test_nightly_run_imports_an_account_over_several_chunks(stack, api):
    from bridge.handlers.import_step import lambda_handler

    account_id = _connected_account(api, stack.sandbox)
    listed: list[str] = []

    def import_function(event: dict[str, Any]) -> Any:
        try:
            answer = lambda_handler(event, ShortLivedContext(checks_before_timeout=3))
        except Exception as error:  # a Lambda function error, as Step Functions names it
            raise StatesError(type(error).__name__, str(error)) from error
        if event["action"] == "list_accounts":
            listed.extend(entry["account_id"] for entry in answer["accounts"])
            # Other tests share this moto: import only the account made here.
            answer = {"accounts": [entry for entry in answer["accounts"] if entry["account_id"] == account_id]}
        return answer

    execution = Execution(functions={FUNCTION_ARN: import_function})
    try:
        output = Machine(_definition(), execution).run({"action": "list_accounts", "max_concurrency": 4})
    finally:  # leave no active account behind for other tests' nightly runs
        assert api.delete(f"/accounts/{account_id}/connection").status_code in (200, 204)

    assert account_id in listed
    [result] = output["results"]
    assert result["account_id"] == account_id
    assert result["done"] is True and result["status"] == "done", json.dumps(result)[:3000]
    chunks = sum(1 for name, event in execution.history if name == "ImportChunk" and event == "entered")
    assert chunks > 1, "the test context should have cut the import into several chunks"
    assert result["run_id"]
