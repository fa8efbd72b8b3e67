"""A small Amazon States Language interpreter (the JSONPath subset our state machines use).

moto stores state machines and records executions but cannot run Lambda tasks without Docker, so the
embedded default (infra/local/executions.py) and the tests play the deployed definition here, with a
Python callable standing in for each Lambda function. Supported: Pass, Task (lambda:invoke), Choice,
Map (inline, run in order), Succeed, Fail; Parameters, ItemSelector, ResultSelector, ResultPath,
InputPath, OutputPath, Retry (without the waits), Catch; the context object's ``$$.Execution`` and
``$$.Map.Item``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_TRANSITIONS = 10_000  # Step Functions has a 25,000-event history limit per execution


class StatesError(Exception):
    """An error as Step Functions sees it: a name (``Error``) and a cause."""

    def __init__(self, error: str, cause: str = ""):
        super().__init__(f"{error}: {cause}")
        self.error, self.cause = error, cause


@dataclass
class Execution:
    functions: dict[str, Callable[[dict[str, Any]], Any]]  # function ARN (after substitution) → handler
    arn: str = "arn:aws:states:eu-west-3:123456789012:execution:local:test"  # $$.Execution.Id
    transitions: int = 0
    map_concurrency: list[int] = field(default_factory=list)  # MaxConcurrency of each Map run
    history: list[tuple[str, str]] = field(default_factory=list)  # (state name, event)


_MISSING = object()


def _path_get(document: Any, path: str, context: dict[str, Any]) -> Any:
    root: Any
    if path.startswith("$$"):
        root, rest = context, path[2:]
    elif path.startswith("$"):
        root, rest = document, path[1:]
    else:
        raise StatesError("States.Runtime", f"not a path: {path}")
    for part in [p for p in rest.split(".") if p]:
        if not isinstance(root, dict) or part not in root:
            return _MISSING
        root = root[part]
    return root


def _path_set(document: Any, path: str | None, value: Any) -> Any:
    if path is None:
        return document
    if path == "$":
        return value
    document = copy.deepcopy(document) if isinstance(document, dict) else {}
    target = document
    parts = path[2:].split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value
    return document


def _template(spec: Any, document: Any, context: dict[str, Any]) -> Any:
    """Evaluate a Parameters-like payload template: keys ending in ``.$`` are paths."""
    if isinstance(spec, dict):
        out = {}
        for key, value in spec.items():
            if key.endswith(".$"):
                found = _path_get(document, value, context)
                if found is _MISSING:
                    raise StatesError("States.Runtime", f"path {value} not found for {key}")
                out[key[:-2]] = found
            else:
                out[key] = _template(value, document, context)
        return out
    if isinstance(spec, list):
        return [_template(item, document, context) for item in spec]
    return spec


def _matches(error: str, names: list[str]) -> bool:
    if error in names:
        return True
    # As in Step Functions: States.ALL catches everything except States.Runtime (bad paths in the definition).
    return "States.ALL" in names and error != "States.Runtime"


def _choice(rule: dict[str, Any], document: Any, context: dict[str, Any]) -> bool:
    value = _path_get(document, rule["Variable"], context)
    if "IsPresent" in rule:
        return (value is not _MISSING) == rule["IsPresent"]
    if value is _MISSING:
        raise StatesError("States.Runtime", f"{rule['Variable']} not present")
    for operator, expected in rule.items():
        if operator == "BooleanEquals":
            return isinstance(value, bool) and value == expected
        if operator in ("StringEquals", "NumericEquals"):
            return bool(value == expected)
    raise NotImplementedError(f"choice rule {rule}")


class Machine:
    def __init__(self, definition: dict[str, Any], execution: Execution):
        self.definition, self.execution = definition, execution

    def run(self, document: Any, context: dict[str, Any] | None = None) -> Any:
        context = context or {"Execution": {"Id": self.execution.arn, "Input": document}}
        name = self.definition["StartAt"]
        while True:
            self.execution.transitions += 1
            if self.execution.transitions > MAX_TRANSITIONS:
                raise AssertionError("state machine did not finish (runaway loop)")
            state = self.definition["States"][name]
            self.execution.history.append((name, "entered"))
            kind = state["Type"]
            if kind == "Succeed":
                return document
            if kind == "Fail":
                raise StatesError(state.get("Error", "States.Fail"), state.get("Cause", ""))
            if kind == "Choice":
                matched = [c["Next"] for c in state["Choices"] if _choice(c, document, context)]
                name = matched[0] if matched else state["Default"]
                continue
            effective = _path_get(document, state.get("InputPath", "$"), context)
            try:
                output = self._execute(name, state, effective, document, context)
            except StatesError as error:
                catcher = next((c for c in state.get("Catch", []) if _matches(error.error, c["ErrorEquals"])), None)
                if catcher is None:
                    raise
                self.execution.history.append((name, f"caught {error.error}"))
                failure = {"Error": error.error, "Cause": error.cause}
                document = _path_set(document, catcher.get("ResultPath", "$"), failure)
                name = catcher["Next"]
                continue
            document = _path_get(output, state.get("OutputPath", "$"), context)
            if state.get("End"):
                return document
            name = state["Next"]

    def _execute(self, name: str, state: dict[str, Any], effective: Any, document: Any, context: dict) -> Any:
        kind = state["Type"]
        if kind == "Pass":
            if "Parameters" in state:
                result = _template(state["Parameters"], effective, context)
            else:
                result = state.get("Result", effective)
        elif kind == "Task":
            result = self._task(name, state, effective, context)
        elif kind == "Map":
            result = self._map(state, effective, context)
        else:
            raise NotImplementedError(kind)
        if "ResultSelector" in state:
            result = _template(state["ResultSelector"], result, context)
        return _path_set(document, state.get("ResultPath", "$"), result)

    def _task(self, name: str, state: dict[str, Any], effective: Any, context: dict) -> Any:
        if state["Resource"] != "arn:aws:states:::lambda:invoke":
            raise NotImplementedError(state["Resource"])
        parameters = _template(state.get("Parameters", {}), effective, context)
        handler = self.execution.functions[parameters["FunctionName"]]
        attempts: dict[int, int] = {}
        while True:
            try:
                payload = handler(json.loads(json.dumps(parameters.get("Payload", effective))))
                return {"Payload": json.loads(json.dumps(payload)), "StatusCode": 200}
            except StatesError as error:
                for index, retrier in enumerate(state.get("Retry", [])):
                    if _matches(error.error, retrier["ErrorEquals"]):
                        attempts[index] = attempts.get(index, 0) + 1
                        if attempts[index] <= retrier.get("MaxAttempts", 3):
                            self.execution.history.append((name, f"retry {error.error}"))
                            break
                        raise
                else:
                    raise

    def _map(self, state: dict[str, Any], effective: Any, context: dict) -> list[Any]:
        items = _path_get(effective, state.get("ItemsPath", "$"), context)
        if not isinstance(items, list):
            raise StatesError("States.Runtime", "ItemsPath is not a list")
        if "MaxConcurrencyPath" in state:
            self.execution.map_concurrency.append(int(_path_get(effective, state["MaxConcurrencyPath"], context)))
        else:
            self.execution.map_concurrency.append(int(state.get("MaxConcurrency", 0)))
        processor = state.get("ItemProcessor") or state["Iterator"]
        results = []
        for index, item in enumerate(items):
            item_context = {**context, "Map": {"Item": {"Index": index, "Value": item}}}
            selector = state.get("ItemSelector") or state.get("Parameters")
            item_input = _template(selector, effective, item_context) if selector else item
            results.append(Machine(processor, self.execution).run(item_input, item_context))
        return results


def substitute(definition: dict[str, Any], substitutions: dict[str, str]) -> dict[str, Any]:
    """Apply DefinitionSubstitutions the way CloudFormation does (textual ``${Name}``)."""
    text = json.dumps(definition)
    for key, value in substitutions.items():
        text = text.replace("${" + key + "}", value)
    return json.loads(text)
