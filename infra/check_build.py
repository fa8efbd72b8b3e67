"""Check `sam build` output: one artifact per function of template.yaml, handler and runtime deps inside,
no tests, infra or local state shipped. The machine code and the start are checked by infra.check_artifact.

    python -m infra.check_build [--build-dir .aws-sam/build]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from infra.template_tools import REPO_ROOT, TEMPLATE_PATH, load_template, resources_of_type

DEFAULT_BUILD_DIR = REPO_ROOT / ".aws-sam" / "build"
# Directories that must never reach a Lambda artifact.
FORBIDDEN_DIRS = ("tests", "infra", ".venv", ".local", ".aws-sam", ".git")
# Runtime packages every artifact needs (import names): proof that requirements.txt was installed.
REQUIRED_PACKAGES = ("aws_lambda_powertools", "pydantic", "pydantic_core", "httpx", "bridge")
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024  # Lambda's limit for a function's unzipped code


def function_handlers(template_path: Path = TEMPLATE_PATH) -> dict[str, str]:
    """Logical id → handler (``module.path.function``) of every function in the template."""
    template = load_template(template_path)
    return {
        logical_id: resource["Properties"]["Handler"]
        for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items()
    }


def handler_file(artifact: Path, handler: str) -> Path:
    module = handler.rsplit(".", 1)[0]
    return artifact.joinpath(*module.split(".")).with_suffix(".py")


def check_build(build_dir: Path = DEFAULT_BUILD_DIR, template_path: Path = TEMPLATE_PATH) -> list[str]:
    """Problems found in a build directory (empty list = good)."""
    problems: list[str] = []
    if not (build_dir / "template.yaml").is_file():
        problems.append(f"{build_dir}/template.yaml missing: did `sam build` run?")
    for logical_id, handler in function_handlers(template_path).items():
        artifact = build_dir / logical_id
        if not artifact.is_dir():
            problems.append(f"{logical_id}: no artifact at {artifact}")
            continue
        if not handler_file(artifact, handler).is_file():
            problems.append(f"{logical_id}: handler module for {handler} is missing")
        for package in REQUIRED_PACKAGES:
            if not (artifact / package).is_dir():
                problems.append(f"{logical_id}: runtime package {package} is missing")
        for forbidden in FORBIDDEN_DIRS:
            if any(path.is_dir() for path in artifact.glob(forbidden)):
                problems.append(f"{logical_id}: ships {forbidden}/")
        size = sum(path.stat().st_size for path in artifact.rglob("*") if path.is_file())
        if size > MAX_UNZIPPED_BYTES:
            problems.append(f"{logical_id}: {size // 2**20} MiB unzipped, over Lambda's 250 MiB")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR)
    args = parser.parse_args(argv)
    problems = check_build(args.build_dir)
    return report(
        problems, lambda: f"build OK: {len(function_handlers())} function artifacts, no tests/ or infra/ inside"
    )


def report(problems: list[str], success: Callable[[], str]) -> int:
    """A checker's exit: each problem on stderr and status 1, or the ``success`` line and status 0."""
    for problem in problems:
        sys.stderr.write(f"{problem}\n")
    if problems:
        return 1
    sys.stderr.write(f"{success()}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
