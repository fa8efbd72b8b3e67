"""`make build` packaging: one artifact per function, runtime deps inside, no tests/ or infra/ shipped.

`make build` runs `sam build` and then `python -m infra.check_build` on its output. Here the checker and the
source layout are tested always; the real `sam build` (2-4 minutes: it downloads arm64 wheels for four
artifacts) runs only on request: `RUN_SAM_BUILD=1 make test` (installs SAM CLI in .local/sam-venv if needed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.check_build import FORBIDDEN_DIRS, REQUIRED_PACKAGES, check_build, function_handlers, handler_file
from infra.template_tools import REPO_ROOT, load_template

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


def test_checker_rejects_shipped_tests_missing_functions_and_x86_extensions(good_build):
    (good_build / "ApiFunction" / "tests").mkdir()
    shutil.rmtree(good_build / "ImportFunction")
    (good_build / "WorkerFunction" / "pydantic_core" / "_core.cpython-312-x86_64-linux-gnu.so").write_bytes(b"")
    shutil.rmtree(good_build / "WebhookFunction" / "httpx")
    problems = check_build(good_build)
    assert "ApiFunction: ships tests/" in problems
    assert any(p.startswith("ImportFunction: no artifact") for p in problems)
    assert any(p.startswith("WorkerFunction: x86_64 extension") for p in problems)
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
    lines = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    names = {line.split("==")[0].strip().lower() for line in lines if line.strip() and not line.startswith("#")}
    dev_tools = {"pytest", "moto", "cfn-lint", "aws-sam-translator", "ruff", "mypy", "hypothesis", "schemathesis"}
    assert not names & dev_tools
    assert all("==" in line for line in lines if line.strip() and not line.startswith(("#", "-r")))


@pytest.mark.slow
def test_sam_build_produces_a_clean_artifact_per_function(tmp_path):
    if os.environ.get("RUN_SAM_BUILD") != "1":
        pytest.skip("slow (sam build downloads wheels): set RUN_SAM_BUILD=1, or run `make build`")
    if not SAM.exists():
        subprocess.run(["make", str(SAM.relative_to(REPO_ROOT))], cwd=REPO_ROOT, check=True, timeout=900)
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
