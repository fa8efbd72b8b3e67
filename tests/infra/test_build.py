"""`make build` packaging: one artifact per function, runtime deps inside, no tests/ or infra/ shipped.

`make build` runs `sam build` and then `python -m infra.check_artifact` on its output. Here the checkers and
the source layout are tested always, and the artifact check builds its own artifacts with pip as `sam build`
does (cached in .local/artifacts). The real `sam build` (about 2 minutes with the SAM CLI install) runs
only on request: `RUN_SAM_BUILD=1 make test` (installs SAM CLI in .local/sam-venv if needed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.check_artifact import (
    ELF_MACHINE,
    architecture_problems,
    build_artifacts,
    check_artifacts,
    elf_machine,
    import_problems,
    lambda_environment,
    template_functions,
)
from infra.check_build import FORBIDDEN_DIRS, REQUIRED_PACKAGES, check_build, function_handlers, handler_file
from infra.template_tools import REPO_ROOT, load_template
from tests.infra.locks import locked_pins

SAM = REPO_ROOT / ".local" / "sam-venv" / "bin" / "sam"
FUNCTIONS_DIR = REPO_ROOT / "functions"


def _fake_artifact(build_dir: Path, logical_id: str, handler: str) -> Path:
    artifact = build_dir / logical_id
    module = handler_file(artifact, handler)
    module.parent.mkdir(parents=True, exist_ok=True)
    module.write_text("def lambda_handler(event, context): ...\n")
    for package in REQUIRED_PACKAGES:
        (artifact / package).mkdir(exist_ok=True)
    return artifact


@pytest.fixture
def good_build(tmp_path: Path) -> Path:
    (tmp_path / "template.yaml").write_text("Resources: {}\n")
    for logical_id, handler in function_handlers().items():
        _fake_artifact(tmp_path, logical_id, handler)
    return tmp_path


def test_checker_accepts_a_complete_build(good_build):
    assert check_build(good_build) == []


def test_checker_rejects_shipped_tests_and_missing_functions_or_packages(good_build):
    (good_build / "ApiFunction" / "tests").mkdir()
    shutil.rmtree(good_build / "ImportFunction")
    shutil.rmtree(good_build / "WebhookFunction" / "httpx")
    problems = check_build(good_build)
    assert "ApiFunction: ships tests/" in problems
    assert any(p.startswith("ImportFunction: no artifact") for p in problems)
    assert "WebhookFunction: runtime package httpx is missing" in problems


def test_source_layout_packages_only_the_application():
    template = load_template()
    assert template["Globals"]["Function"]["CodeUri"] == "functions/"
    for name in FORBIDDEN_DIRS:
        assert not (FUNCTIONS_DIR / name).exists(), name
    for logical_id, handler in function_handlers().items():
        assert handler_file(FUNCTIONS_DIR, handler).is_file(), logical_id
    assert (FUNCTIONS_DIR / "requirements.txt").read_text().split() == ["-r", "../requirements.txt"]


def test_runtime_requirements_hold_no_dev_tools():
    names = set(locked_pins(REPO_ROOT / "requirements.txt"))
    dev_tools = {"pytest", "moto", "cfn-lint", "aws-sam-translator", "ruff", "mypy", "hypothesis", "schemathesis"}
    assert "aws-lambda-powertools" in names
    assert not names & dev_tools


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_sam_build_produces_a_clean_artifact_per_function(tmp_path):
    if os.environ.get("RUN_SAM_BUILD") != "1":
        pytest.skip("slow (sam build downloads wheels): set RUN_SAM_BUILD=1, or run `make build`")
    subprocess.run(["make", "-s", "sam-venv"], cwd=REPO_ROOT, check=True, timeout=900)
    build_dir = tmp_path / "build"
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    result = subprocess.run(
        [str(SAM), "build", "--cached", "--parallel", "--build-dir", str(build_dir)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert check_build(build_dir) == []
    assert check_artifacts(lambda_build=build_dir) == []


# ------------------------------------------------------------------ the artifact starts (infra/check_artifact.py)

FUNCTIONS = template_functions()


def _elf(machine: int) -> bytes:
    """The first 20 bytes of a 64-bit little-endian ELF shared object for ``machine``."""
    return b"\x7fELF\x02\x01\x01" + bytes(9) + (3).to_bytes(2, "little") + machine.to_bytes(2, "little")


def _fake_lambda_build(root: Path, files: dict[str, bytes]) -> Path:
    for function in FUNCTIONS:
        for relative, content in files.items():
            path = root / function.logical_id / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    return root


def test_elf_machine_is_read_from_the_header(tmp_path):
    (tmp_path / "arm.so").write_bytes(_elf(ELF_MACHINE["arm64"]) + bytes(100))
    (tmp_path / "text.so").write_bytes(b"not an ELF file at all")
    assert elf_machine(tmp_path / "arm.so") == 183
    assert elf_machine(tmp_path / "text.so") is None


def test_architecture_check_names_x86_64_code_in_an_arm64_artifact_and_empty_artifacts(tmp_path):
    good = _fake_lambda_build(tmp_path / "good", {"pydantic_core/_core.abi3.so": _elf(183)})
    assert architecture_problems(good, FUNCTIONS) == []
    # Named like an aarch64 wheel's file, built for x86_64: only the header tells.
    bad = _fake_lambda_build(
        tmp_path / "bad", {"pydantic_core/_core.abi3.so": _elf(183), "PIL/_imaging.cpython-312.so": _elf(62)}
    )
    problems = architecture_problems(bad, FUNCTIONS)
    assert len(problems) == len(FUNCTIONS)
    assert all("PIL/_imaging.cpython-312.so is for ELF machine 62, not arm64" in p for p in problems)
    empty = _fake_lambda_build(tmp_path / "empty", {"bridge/__init__.py": b""})
    assert all("no compiled extension" in p for p in architecture_problems(empty, FUNCTIONS))


def test_every_function_is_arm64_and_its_environment_is_the_template_s_plus_lambda_s(tmp_path):
    by_id = {function.logical_id: function for function in FUNCTIONS}
    assert set(by_id) == set(function_handlers())
    assert {function.architecture for function in FUNCTIONS} == {"arm64"}
    api = lambda_environment(by_id["ApiFunction"], tmp_path)
    webhook = lambda_environment(by_id["WebhookFunction"], tmp_path)
    assert api["API_AUTH_MODE"] == "iam" and "API_AUTH_MODE" not in webhook
    assert api["AWS_LAMBDA_FUNCTION_NAME"].endswith("ApiFunction") and api["_HANDLER"] == by_id["ApiFunction"].handler
    assert api["EVENTS_QUEUE_URL"].startswith("https://sqs.") and api["POWERTOOLS_SERVICE_NAME"] == "sellsy-bridge"
    for env in (api, webhook):
        assert not {"HOME", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"} & env.keys()
        assert not [value for value in env.values() if "{" in value], "an intrinsic was left unresolved"


def test_import_check_fails_on_a_module_the_artifact_lacks_even_if_the_test_venv_has_it(tmp_path):
    import yaml  # noqa: F401 - present here, absent from the artifact: the clean interpreter must not see it

    for function in FUNCTIONS:
        module = tmp_path / function.logical_id / handler_file(Path(), function.handler)
        module.parent.mkdir(parents=True, exist_ok=True)
        for package in module.relative_to(tmp_path / function.logical_id).parents[:-1]:
            (tmp_path / function.logical_id / package / "__init__.py").touch()
        module.write_text("import yaml\n\ndef lambda_handler(event, context): ...\n")
    problems = import_problems(tmp_path, FUNCTIONS)
    assert len(problems) == len(FUNCTIONS)
    assert all("ModuleNotFoundError: No module named 'yaml'" in problem for problem in problems)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_every_handler_starts_from_its_built_artifact_and_arm64_code_is_aarch64():
    # Builds the arm64 artifacts and the host twin from the runtime lock (cached in .local/artifacts).
    assert check_artifacts() == []


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize(
    ("package", "failing"),
    [
        ("aws_xray_sdk", {"ApiFunction", "WorkerFunction"}),  # their handlers build the Tracer at import
        ("jsonpath_ng", {function.logical_id for function in FUNCTIONS}),  # Powertools data_masking imports it
    ],
)
def test_import_check_fails_when_the_artifact_lacks_a_runtime_dependency(tmp_path, package, failing):
    twin = build_artifacts(FUNCTIONS, for_host=True)  # cached: the same twin as the check above
    for function in FUNCTIONS:
        # The real twin, minus one package: every other entry is a link to the built one.
        stripped = tmp_path / function.logical_id
        stripped.mkdir()
        for entry in (twin / function.logical_id).iterdir():
            if entry.name != package:
                (stripped / entry.name).symlink_to(entry.resolve())
    problems = import_problems(tmp_path, FUNCTIONS)
    assert {problem.split(":")[0] for problem in problems} == failing
    assert all(f"No module named '{package}'" in problem for problem in problems)
