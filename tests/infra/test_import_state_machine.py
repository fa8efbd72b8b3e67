"""The import state machine honours its contract with the import handler (played by a fake here).

Contract: {"action": "list_accounts"} → {"accounts": [{"account_id"}, ...]} (skipped when the input names
its accounts); then per account, loop {"action": "chunk", "account_id", "run_id", "execution_arn"} →
{"account_id", "run_id", "done", "status"} until done; a chunk failing beyond its retries is reported with
{"action": "record_failure", "account_id", "run_id", "error", "cause", "execution_arn"}.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.local.asl import Execution, Machine, StatesError, substitute
from infra.template_tools import REPO_ROOT, load_template, parameter_defaults

FUNCTION_ARN = "arn:aws:lambda:eu-west-3:123456789012:function:import"
TEMPLATE = load_template()
STATE_MACHINE = TEMPLATE["Resources"]["ImportStateMachine"]["Properties"]


def _definition() -> dict[str, Any]:
    raw = json.loads((REPO_ROOT / STATE_MACHINE["DefinitionUri"]).read_text())
    return substitute(raw, {"ImportFunctionArn": FUNCTION_ARN})


class FakeImport:
    """Stands in for bridge.handlers.import_step: N chunks per account, optional failures."""

    def __init__(
        self,
        chunks: dict[str, int],
        fail: dict[str, StatesError] | None = None,
        flaky: int = 0,
        recording_fails: bool = False,
    ):
        self.chunks, self.fail, self.flaky, self.recording_fails = chunks, fail or {}, flaky, recording_fails
        self.calls: list[dict[str, Any]] = []
        self.sweeps: list[dict[str, Any]] = []  # the nightly sweep after each account's import
        self.sweep_fails = False

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        if event["action"] == "sweep":
            self.sweeps.append(event)
            if self.sweep_fails:
                raise StatesError("SellsyUnavailable", "sweep could not read Sellsy")
            return {"status": "ok"}
        self.calls.append(event)
        if self.flaky:
            self.flaky -= 1
            raise StatesError("Lambda.ServiceException", "transient")
        if event["action"] == "list_accounts":
            return {"accounts": [{"account_id": account_id} for account_id in self.chunks]}
        if event["action"] == "record_failure":
            if self.recording_fails:
                raise StatesError("Lambda.ServiceException", "still down")
            reported = {k: event[k] for k in ("account_id", "run_id", "error", "cause")}
            return {**reported, "done": False, "status": "failed"}
        assert event["action"] == "chunk"
        account_id = event["account_id"]
        if account_id in self.fail:
            raise self.fail[account_id]
        run_id = event["run_id"] or f"run-{account_id}"
        done_so_far = sum(1 for call in self.calls if call.get("account_id") == account_id)
        done = done_so_far >= self.chunks[account_id]
        return {"account_id": account_id, "run_id": run_id, "done": done, "status": "ok" if done else "running"}

    def chunk_calls(self, account_id: str) -> list[dict[str, Any]]:
        return [call for call in self.calls if call.get("account_id") == account_id and call["action"] == "chunk"]


def _run(fake: FakeImport, start: dict[str, Any]) -> tuple[dict[str, Any], Execution]:
    execution = Execution(functions={FUNCTION_ARN: fake})
    return Machine(_definition(), execution).run(start), execution


def test_definition_file_is_referenced_and_substituted_with_the_import_function():
    assert (REPO_ROOT / STATE_MACHINE["DefinitionUri"]).is_file()
    assert STATE_MACHINE["DefinitionSubstitutions"] == {"ImportFunctionArn": {"Fn::GetAtt": ["ImportFunction", "Arn"]}}
    assert "${ImportFunctionArn}" in Path(REPO_ROOT / STATE_MACHINE["DefinitionUri"]).read_text()


def test_every_account_is_imported_chunk_by_chunk_until_done():
    fake = FakeImport({"a1": 1, "a2": 3, "a3": 2})
    output, _ = _run(fake, {"action": "list_accounts", "max_concurrency": 4})

    assert fake.calls[0] == {"action": "list_accounts"}
    assert [len(fake.chunk_calls(a)) for a in ("a1", "a2", "a3")] == [1, 3, 2]
    # The first chunk starts a run; every later chunk carries the run id the handler returned.
    assert [call["run_id"] for call in fake.chunk_calls("a2")] == [None, "run-a2", "run-a2"]
    assert all(call["action"] == "chunk" for call in fake.calls[1:])
    assert output["results"] == [
        {"account_id": a, "run_id": f"run-{a}", "done": True, "status": "ok"} for a in ("a1", "a2", "a3")
    ]


def test_each_imported_account_is_swept_after_its_import_and_a_failed_sweep_changes_nothing():
    fake = FakeImport({"a1": 2, "a2": 1})
    output, _ = _run(fake, {"action": "list_accounts", "max_concurrency": 2})
    assert sorted(s["account_id"] for s in fake.sweeps) == ["a1", "a2"]
    assert all(s == {"action": "sweep", "mode": "nightly", "account_id": s["account_id"]} for s in fake.sweeps)

    failing = FakeImport({"a1": 2, "a2": 1})
    failing.sweep_fails = True
    failed_output, _ = _run(failing, {"action": "list_accounts", "max_concurrency": 2})
    # The import's result stands; the sweep's error is shown beside it.
    assert [{k: v for k, v in r.items() if k != "sweep_error"} for r in failed_output["results"]] == output["results"]
    assert all(r["sweep_error"]["Error"] == "SellsyUnavailable" for r in failed_output["results"])


def test_a_failing_account_is_recorded_and_the_others_still_complete():
    fake = FakeImport({"a1": 2, "bad": 2, "a3": 1}, fail={"bad": StatesError("SellsyUnavailable", "boom")})
    output, execution = _run(fake, {"action": "list_accounts", "max_concurrency": 2})

    by_account = {result["account_id"]: result for result in output["results"]}
    assert by_account["bad"]["status"] == "failed"
    assert by_account["bad"]["error"] == "SellsyUnavailable"
    assert by_account["bad"]["done"] is False
    assert by_account["a1"]["done"] is True and by_account["a3"]["done"] is True
    # The handler is told, so the run is marked failed and the alarm's metric goes out.
    [reported] = [call for call in fake.calls if call["action"] == "record_failure"]
    assert reported == {
        "action": "record_failure",
        "account_id": "bad",
        "run_id": None,
        "execution_arn": execution.arn,
        "error": "SellsyUnavailable",
        "cause": "boom",
    }


def test_when_recording_the_failure_fails_too_the_account_is_still_reported_failed():
    fake = FakeImport({"bad": 1, "a2": 1}, fail={"bad": StatesError("SellsyUnavailable", "boom")}, recording_fails=True)
    output, _ = _run(fake, {"max_concurrency": 1})
    by_account = {result["account_id"]: result for result in output["results"]}
    assert by_account["bad"] == {
        "account_id": "bad",
        "run_id": None,
        "done": False,
        "status": "failed",
        "error": "SellsyUnavailable",
        "cause": "boom",
    }
    assert by_account["a2"]["done"] is True


def test_an_on_demand_start_imports_only_the_accounts_it_names():
    fake = FakeImport({"a1": 1, "a2": 2, "a3": 1})
    output, execution = _run(fake, {"accounts": [{"account_id": "a2"}], "max_concurrency": 1})
    assert [call["action"] for call in fake.calls] == ["chunk", "chunk"]  # no listing of every account
    assert {call["account_id"] for call in fake.calls} == {"a2"}
    assert all(call["execution_arn"] == execution.arn for call in fake.calls)
    assert output["results"] == [{"account_id": "a2", "run_id": "run-a2", "done": True, "status": "ok"}]
    assert execution.map_concurrency == [1]


def test_lambda_service_errors_are_retried_not_recorded_as_failures():
    fake = FakeImport({"a1": 1}, flaky=2)
    output, execution = _run(fake, {"action": "list_accounts", "max_concurrency": 1})
    assert output["results"][0]["done"] is True
    assert sum(1 for _, event in execution.history if event.startswith("retry")) == 2


def test_a_timed_out_chunk_is_retried_then_recorded_as_failed():
    fake = FakeImport({"slow": 5}, fail={"slow": StatesError("Sandbox.Timedout", "Task timed out")})
    output, _ = _run(fake, {"action": "list_accounts", "max_concurrency": 1})
    assert len(fake.chunk_calls("slow")) == 3  # first try + 2 retries
    assert output["results"][0]["status"] == "failed"


@pytest.mark.parametrize(("start", "expected"), [({"action": "list_accounts"}, 4), ({"max_concurrency": 7}, 7)])
def test_map_concurrency_comes_from_the_input_with_a_default(start, expected):
    _, execution = _run(FakeImport({"a1": 1}), start)
    assert execution.map_concurrency == [expected]


def test_the_nightly_schedule_input_starts_a_valid_run_with_the_concurrency_parameter():
    schedule = TEMPLATE["Resources"]["ImportStateMachine"]["Properties"]["Events"]["Nightly"]["Properties"]
    text = schedule["Input"]["Fn::Sub"]
    start = json.loads(text.replace("${ImportMaxConcurrency}", parameter_defaults(TEMPLATE)["ImportMaxConcurrency"]))
    fake = FakeImport({"a1": 2})
    output, execution = _run(fake, start)
    assert execution.map_concurrency == [int(parameter_defaults(TEMPLATE)["ImportMaxConcurrency"])]
    assert output["results"][0]["done"] is True


def test_no_accounts_means_an_empty_successful_run():
    output, _ = _run(FakeImport({}), {"max_concurrency": 4})
    assert output["results"] == []


def test_an_answer_breaking_the_contract_fails_the_whole_execution():
    """A chunk answer without `done` is a States.Runtime error, which no Catch can absorb: keep the contract."""

    def bad_handler(event: dict[str, Any]) -> dict[str, Any]:
        if event["action"] == "list_accounts":
            return {"accounts": [{"account_id": "a1"}]}
        return {"account_id": "a1", "run_id": "r", "status": "ok"}

    execution = Execution(functions={FUNCTION_ARN: bad_handler})
    with pytest.raises(StatesError) as raised:
        Machine(_definition(), execution).run({"max_concurrency": 1})
    assert raised.value.error == "States.Runtime"
