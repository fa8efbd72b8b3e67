"""Dependency locks: every install is hash-pinned, the runtime is resolved alone, and every import is declared.

The locks are compiled by `make lock` from the ``.in`` file beside each (requirements.txt from
infra/requirements/runtime.in). These tests read files only; the artifact check (test_build.py) proves
that the runtime lock alone is enough for every handler to start.
"""

from __future__ import annotations

import ast
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from infra.template_tools import REPO_ROOT
from tests.infra.locks import input_requirements, locked_pins, normalize

DEPS = REPO_ROOT / "infra" / "requirements"
RUNTIME_LOCK = REPO_ROOT / "requirements.txt"
# lock file → the input `make lock` compiles it from
LOCKS = {
    RUNTIME_LOCK: DEPS / "runtime.in",
    DEPS / "local.txt": DEPS / "local.in",
    REPO_ROOT / "tests" / "requirements.txt": REPO_ROOT / "tests" / "requirements.in",
    DEPS / "validate.txt": DEPS / "validate.in",
    DEPS / "sam.txt": DEPS / "sam.in",
}
# Imported only inside the validate venv (see infra/validate.py); the test venv has neither.
VALIDATE_ONLY_IMPORTS = {"samtranslator": "aws-sam-translator", "cfnlint": "cfn-lint"}


@pytest.mark.parametrize("lock", list(LOCKS), ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_every_locked_package_is_pinned_with_hashes_and_matches_its_input(lock: Path):
    pins = locked_pins(lock)
    assert pins, lock
    assert [name for name, pin in pins.items() if pin.hashes == 0] == []
    for name, version in input_requirements(LOCKS[lock]).items():
        assert name in pins, f"{name} is in {LOCKS[lock].name} but not in {lock.name}: run `make lock`"
        if version is not None:
            assert pins[name].version == version, f"{name}: {lock.name} differs from its input: run `make lock`"


def test_runtime_versions_are_the_same_wherever_the_runtime_is_installed():
    runtime = locked_pins(RUNTIME_LOCK)
    for lock in (DEPS / "local.txt", REPO_ROOT / "tests" / "requirements.txt"):
        pins = locked_pins(lock)
        moved = {name: (pin.version, pins[name].version) for name, pin in runtime.items() if pins[name] != pin}
        assert moved == {}, f"{lock.name} holds runtime packages at other versions than requirements.txt"


def test_the_runtime_tracer_and_masking_dependencies_are_in_the_runtime_lock():
    runtime = locked_pins(RUNTIME_LOCK)
    assert "aws-xray-sdk" in runtime  # Powertools Tracer, built when the api and worker handlers load
    assert "jsonpath-ng" in runtime  # imported by Powertools' data_masking module, used by bridge.domain.masking


def test_the_sam_translator_and_cli_stay_out_of_the_test_venv():
    # aws-sam-translator pins pydantic to one minor series; in the test venv it would hold the runtime's.
    dev = locked_pins(REPO_ROOT / "tests" / "requirements.txt")
    assert not {"aws-sam-translator", "aws-sam-cli"} & dev.keys()


def _third_party_imports(paths: list[Path]) -> dict[str, set[str]]:
    """Top-level module → files importing it, for every absolute import that is not ours or stdlib."""
    ours = {"bridge", "infra", "tests"}
    found: dict[str, set[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for top in {name.split(".")[0] for name in names} - ours - set(sys.stdlib_module_names):
                found.setdefault(top, set()).add(str(path.relative_to(REPO_ROOT)))
    return found


def _sources(*folders: str, exclude: tuple[str, ...] = ()) -> list[Path]:
    files = [path for folder in folders for path in (REPO_ROOT / folder).rglob("*.py")]
    return [path for path in files if str(path.relative_to(REPO_ROOT)) not in exclude]


@pytest.mark.parametrize(
    ("sources", "declared_in"),
    [
        (_sources("functions"), DEPS / "runtime.in"),
        (_sources("infra", exclude=("infra/validate.py",)), DEPS / "local.in"),
        ([REPO_ROOT / "infra" / "validate.py"], DEPS / "validate.in"),
        (_sources("tests"), REPO_ROOT / "tests" / "requirements.in"),
    ],
    ids=["functions", "infra", "infra-validate", "tests"],
)
def test_every_imported_distribution_is_declared(sources: list[Path], declared_in: Path):
    declared = set(input_requirements(declared_in))
    module_owners = packages_distributions()
    undeclared = {}
    for module, files in _third_party_imports(sources).items():
        owners = {normalize(dist) for dist in module_owners.get(module, [])}
        if module in VALIDATE_ONLY_IMPORTS:
            owners = {VALIDATE_ONLY_IMPORTS[module]}
        if not owners & declared:
            undeclared[module] = (sorted(owners) or "no installed distribution", sorted(files)[:3])
    assert undeclared == {}, f"imported but not declared in {declared_in.name}"
