"""Plays the import state machine's executions that moto records, so an on-demand import runs locally at once.

The API starts an execution with StartExecution, exactly as in AWS; moto records it as RUNNING but cannot
run Lambda tasks without Docker. This runner polls moto for RUNNING executions of the state machine, plays
each with the definition moto stores (the deployed one, substitutions applied) through infra/local/asl.py,
the Lambda task being the real import handler, then writes the outcome on moto's execution record
(SUCCEEDED with its output, or FAILED with error and cause).

    runner = ExecutionRunner(os.environ["IMPORT_STATE_MACHINE_ARN"]).start()   # background polling
    runner.run_pending()                                                      # or one pass, now

Any number of runners may poll the same moto: each execution is played once per process.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.local.asl import Execution, Machine, StatesError
from infra.local.lambda_context import LocalContext

log = logging.getLogger(__name__)
Progress = Callable[[dict[str, Any]], None]

_claims_lock = threading.Lock()
_finished: dict[str, threading.Event] = {}  # execution ARN → set once played (by any runner here)


def _claim(arn: str) -> bool:
    with _claims_lock:
        if arn in _finished:
            return False
        _finished[arn] = threading.Event()
        return True


def wait_played(arn: str, timeout: float = 120.0) -> bool:
    """Block until a runner of this process has played the execution (False on timeout or if none took it)."""
    with _claims_lock:
        event = _finished.get(arn)
    return event is not None and event.wait(timeout)


def _function_names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "FunctionName" and isinstance(value, str):
                yield value
            else:
                yield from _function_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _function_names(item)


class ExecutionRunner:
    def __init__(
        self,
        state_machine_arn: str,
        *,
        poll_seconds: float = 0.5,
        chunk_seconds: float = 900.0,
        on_progress: Progress | None = None,
    ) -> None:
        self.state_machine_arn = state_machine_arn
        self.poll_seconds = poll_seconds
        self.chunk_seconds = chunk_seconds
        self.on_progress = on_progress
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="local-step-functions", daemon=True)

    def start(self) -> ExecutionRunner:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _poll(self) -> None:
        while not self._stopped.is_set():
            try:
                self.run_pending()
            except Exception:  # keep polling: a broken pass must not end local imports for good
                log.exception("local step functions: a pass failed")
            self._stopped.wait(self.poll_seconds)

    def run_pending(self) -> list[str]:
        """Play every RUNNING execution no runner of this process has taken yet, oldest first."""
        from bridge.adapters.aws import client

        try:
            listed = client("stepfunctions").list_executions(
                stateMachineArn=self.state_machine_arn, statusFilter="RUNNING"
            )["executions"]
        except (ClientError, BotoCoreError):  # e.g. moto being reset by a test
            return []
        played = []
        for item in sorted(listed, key=lambda e: e["startDate"]):
            arn = str(item["executionArn"])
            if _claim(arn):
                try:
                    self.play(arn)
                finally:
                    _finished[arn].set()
                played.append(arn)
        return played

    def play(self, arn: str) -> dict[str, Any]:
        from bridge.adapters.aws import client

        sfn = client("stepfunctions")
        described = sfn.describe_execution(executionArn=arn)
        definition = json.loads(sfn.describe_state_machine(stateMachineArn=self.state_machine_arn)["definition"])
        functions = {name: self._lambda(name) for name in set(_function_names(definition))}
        document = json.loads(described.get("input") or "{}")
        outcome: dict[str, Any]
        try:
            output = Machine(definition, Execution(functions=functions, arn=arn)).run(document)
            outcome = {"status": "SUCCEEDED", "output": output}
        except StatesError as error:
            outcome = {"status": "FAILED", "error": error.error, "cause": error.cause}
        record_outcome(arn, **outcome)
        return outcome

    def _lambda(self, function_arn: str) -> Callable[[dict[str, Any]], Any]:
        """The import handler as Step Functions invokes it: an exception becomes the task's error."""
        function_name = function_arn.rsplit(":", 1)[-1]

        def invoke(payload: dict[str, Any]) -> Any:
            from bridge.handlers.import_step import lambda_handler

            try:
                answer = lambda_handler(payload, LocalContext(function_name, timeout_seconds=self.chunk_seconds))
            except Exception as exc:  # Lambda's error shape: errorType names the error, the cause is JSON
                cause = json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__})
                raise StatesError(type(exc).__name__, cause) from exc
            if self.on_progress is not None and payload.get("action") == "chunk":
                self.on_progress(answer)
            return answer

        return invoke


def record_outcome(
    arn: str, *, status: str, output: Any = None, error: str | None = None, cause: str | None = None
) -> None:
    """Write how the execution ended on moto's record. moto's API can only abort an execution, so the record
    is updated in moto's in-process backend; a moto in another process gets StopExecution instead."""
    try:
        from moto.backends import get_backend

        _, _, _, region, account, _ = arn.split(":", 5)
        record = get_backend("stepfunctions")[account][region].describe_execution(arn)
    except Exception:
        from bridge.adapters.aws import client

        log.warning("local step functions: moto is not in this process; %s is stopped, not %s", arn, status)
        try:
            client("stepfunctions").stop_execution(executionArn=arn, error=error or "", cause=(cause or "")[:32000])
        except (ClientError, BotoCoreError):
            log.warning("local step functions: %s vanished (moto reset?)", arn)
        return
    record.status = status
    record.stop_date = datetime.now(UTC)
    record.output = None if output is None else json.dumps(output)
    record.error, record.cause = error, cause
