"""`make validate`: transform template.yaml offline with aws-sam-translator, then cfn-lint the result.

cfn-lint on the SAM source alone misses errors inside SAM resources (a bad runtime in Globals, an
unknown property of an event); on the transformed CloudFormation it sees them. Tests in tests/infra
assert on ``transformed_template()``.

aws-sam-translator pins pydantic to one minor series, so the translator and cfn-lint live in their own
venv (.local/validate-venv, `make validate-venv`), never in the one that runs the application's tests.
Called from another venv, ``transformed_template()`` and ``lint()`` run this module in that one.

    python -m infra.validate              # exit 1 on any error or warning
    python -m infra.validate --print      # also print the transformed template (JSON)
"""

from __future__ import annotations

import argparse
import copy
import fcntl
import importlib.util
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from infra.template_tools import REPO_ROOT, TEMPLATE_PATH

REGION = "eu-west-3"
# Local code locations are uploaded by `sam build`/`sam deploy`; the translator only accepts S3 URIs.
PLACEHOLDER_CODE_URI = "s3://offline-placeholder/code.zip"
VALIDATE_VENV = REPO_ROOT / ".local" / "validate-venv"


class _NoManagedPolicies:
    """Stub policy loader: the translator would otherwise call IAM ListPolicies for managed-policy names."""

    def load(self) -> dict[str, str]:
        return {}


def _prepare_offline(sam: dict[str, Any], repo_root: Path) -> dict[str, Any]:
    """Replace what needs an upload (code, state machine definition files) with offline equivalents."""
    sam = copy.deepcopy(sam)
    globals_function = sam.get("Globals", {}).get("Function", {})
    if "CodeUri" in globals_function:
        globals_function["CodeUri"] = PLACEHOLDER_CODE_URI
    for resource in sam["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and "CodeUri" in props:
            props["CodeUri"] = PLACEHOLDER_CODE_URI
        if resource["Type"] == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            # Inline the definition so the linter checks the ASL too.
            definition_file = repo_root / props.pop("DefinitionUri")
            props["Definition"] = json.loads(definition_file.read_text(encoding="utf-8"))
    return sam


def transform_template(
    template_path: str | Path = TEMPLATE_PATH, parameters: dict[str, str] | None = None
) -> dict[str, Any]:
    """The CloudFormation template SAM would deploy, produced offline."""
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    template_path = Path(template_path)
    sam = yaml_parse(template_path.read_text(encoding="utf-8"))
    prepared = _prepare_offline(sam, template_path.resolve().parent)
    values = {"AWS::Region": os.environ["AWS_DEFAULT_REGION"], **(parameters or {})}
    return transform(prepared, values, _NoManagedPolicies())


def _in_validate_venv(*args: str, stdin: str | None = None) -> str:
    """Run this module with ``args`` in the validate venv (created on first use), return its stdout."""
    if Path(sys.prefix).resolve() == VALIDATE_VENV.resolve():
        raise RuntimeError(f"{VALIDATE_VENV} lacks aws-sam-translator or cfn-lint: run `make validate-venv`")
    VALIDATE_VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VALIDATE_VENV.parent / "validate-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # test workers may all get here at once
        made = subprocess.run(["make", "-s", "validate-venv"], cwd=REPO_ROOT, capture_output=True, text=True)  # noqa: S607
    if made.returncode != 0:
        raise RuntimeError(f"make validate-venv failed:\n{made.stdout[-2000:]}{made.stderr[-2000:]}")
    result = subprocess.run(  # noqa: S603 - our own venv and module
        [str(VALIDATE_VENV / "bin" / "python"), "-m", "infra.validate", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": f"functions{os.pathsep}."},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"infra.validate {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return result.stdout


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@cache
def transformed_template() -> dict[str, Any]:
    """Transformed template.yaml of this repository (cached; callers must not mutate it)."""
    if _importable("samtranslator"):
        return transform_template()
    transformed: dict[str, Any] = json.loads(_in_validate_venv("--transform-only"))
    return transformed


def state_machine_definitions(cfn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Logical id → ASL of every state machine in a transformed template (SAM emits a joined string)."""
    definitions = {}
    for logical_id, resource in cfn["Resources"].items():
        if resource["Type"] != "AWS::StepFunctions::StateMachine":
            continue
        props = resource["Properties"]
        if "Definition" in props:
            definitions[logical_id] = props["Definition"]
            continue
        text = props["DefinitionString"]
        if isinstance(text, dict) and "Fn::Join" in text:
            separator, parts = text["Fn::Join"]
            if all(isinstance(part, str) for part in parts):
                text = separator.join(parts)
        if isinstance(text, str):
            definitions[logical_id] = json.loads(text)
    return definitions


def asl_graph_problems(definition: dict[str, Any], where: str = "") -> list[str]:
    """Dangling transitions, unreachable states and dead ends (the ASL schema check can't see them)."""
    states: dict[str, Any] = definition.get("States", {})
    problems: list[str] = []
    if definition.get("StartAt") not in states:
        problems.append(f"{where}StartAt {definition.get('StartAt')!r} is not a state")
    edges: dict[str, set[str]] = {}
    for name, state in states.items():
        targets = {state[key] for key in ("Next", "Default") if key in state}
        targets |= {choice["Next"] for choice in state.get("Choices", [])}
        targets |= {catch["Next"] for catch in state.get("Catch", [])}
        edges[name] = targets
        for target in targets - states.keys():
            problems.append(f"{where}{name} goes to unknown state {target!r}")
        terminal = state.get("End") or state.get("Type") in ("Succeed", "Fail", "Choice")
        if not terminal and "Next" not in state:
            problems.append(f"{where}{name} has neither Next nor End")
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                problems += asl_graph_problems(state[key], f"{where}{name}/")
        for index, branch in enumerate(state.get("Branches", [])):
            problems += asl_graph_problems(branch, f"{where}{name}[{index}]/")
    seen, todo = set(), [definition.get("StartAt")]
    while todo:
        current = todo.pop()
        if current in seen or current not in states:
            continue
        seen.add(current)
        todo += edges[current]
    problems += [f"{where}{name} is unreachable" for name in states.keys() - seen]
    return problems


def lint(cfn: dict[str, Any]) -> list[str]:
    """cfn-lint findings (errors, warnings, informational) on a CloudFormation template, plus ASL checks."""
    if not _importable("cfnlint"):
        findings: list[str] = json.loads(_in_validate_venv("--lint-stdin", stdin=json.dumps(cfn)))
        return findings
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    # cfn-lint validates a state machine's Definition object, not SAM's Fn::Join'ed DefinitionString.
    linted = copy.deepcopy(cfn)
    problems = []
    for logical_id, definition in state_machine_definitions(cfn).items():
        props = linted["Resources"][logical_id]["Properties"]
        props.pop("DefinitionString", None)
        props["Definition"] = definition
        problems += [f"ASL {logical_id}: {problem}" for problem in asl_graph_problems(definition)]
    for finding in cfn_lint(json.dumps(linted), config=ManualArgs(regions=[REGION])):
        where = "/".join(str(part) for part in getattr(finding, "path", []) or [])
        problems.append(f"{finding.rule.id} at {where}: {finding.message}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--template", default=str(TEMPLATE_PATH))
    parser.add_argument("--print", action="store_true", help="print the transformed template")
    parser.add_argument("--transform-only", action="store_true", help="print the transformed template, no lint")
    parser.add_argument("--lint-stdin", action="store_true", help="lint the CloudFormation JSON on stdin")
    args = parser.parse_args(argv)
    if args.lint_stdin:
        sys.stdout.write(json.dumps(lint(json.load(sys.stdin))) + "\n")
        return 0
    try:
        cfn = transform_template(args.template)
    except Exception as error:  # the translator raises several types; all mean "template is invalid"
        sys.stderr.write(f"SAM transform failed: {error}\n")
        return 1
    if args.print or args.transform_only:
        sys.stdout.write(json.dumps(cfn, indent=2) + "\n")
    if args.transform_only:
        return 0
    findings = lint(cfn)
    for finding in findings:
        sys.stderr.write(f"{finding}\n")
    shown = os.path.relpath(args.template, REPO_ROOT)
    resources = len(cfn.get("Resources", {}))
    if findings:
        sys.stderr.write(f"{shown}: {len(findings)} cfn-lint finding(s) in the transformed template\n")
        return 1
    sys.stderr.write(f"{shown}: SAM transform OK ({resources} CloudFormation resources), cfn-lint clean\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
