"""Prove the Lambda artifacts start: every handler imports from its artifact alone, and the arm64
artifacts hold only aarch64 machine code.

    python -m infra.check_artifact                             # build (cached in .local/artifacts), check
    python -m infra.check_artifact --lambda-build .aws-sam/build   # also check a real `sam build` output

This machine cannot run aarch64 code, so the proof has two halves, both built from the same
functions/requirements.txt (hash-locked) and the same code:
- **architecture**: the Lambda artifact is installed as `sam build` installs it (pip, wheels only, for
  the function's runtime and the manylinux platforms aws-lambda-builders accepts for it), and every
  ELF file inside must be for the function's architecture;
- **start**: a twin installed for this machine holds the same distributions at the same versions;
  each handler is imported from it by ``python -I -S`` (no site-packages, no PYTHONPATH, no current
  directory), with only the environment the template gives that function, what Lambda itself sets,
  and dummy AWS credentials. Any module loaded from outside the artifact or the standard library is
  a failure too.
"""

from __future__ import annotations

import argparse
import fcntl
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.check_build import check_build, report
from infra.local.resources import LocalStack, Unresolvable, _Resolver
from infra.precompile import compile_artifact
from infra.template_tools import REPO_ROOT, TEMPLATE_PATH, load_template, parameter_defaults, resources_of_type

CACHE_DIR = REPO_ROOT / ".local" / "artifacts"
STACK_NAME = "artifact-check"
REGION = "eu-west-3"
ACCOUNT_ID = "123456789012"
IMPORT_TIMEOUT_S = 120
# ELF e_machine values (System V ABI), by Lambda architecture name.
ELF_MACHINE = {"arm64": 183, "x86_64": 62}
ELF_MAGIC = b"\x7fELF"
# Wheel platforms `sam build` accepts for Python 3.12+ runtimes (glibc 2.34 on Amazon Linux 2023),
# as aws-lambda-builders' pip workflow lists them.
LAMBDA_PLATFORMS = {
    arch: ["linux_" + machine, "manylinux2014_" + machine] + [f"manylinux_2_{v}_{machine}" for v in (17, 28, 34)]
    for arch, machine in (("arm64", "aarch64"), ("x86_64", "x86_64"))
}
# What sam build leaves out when it copies CodeUri (aws-lambda-builders' pip workflow excludes).
CODE_EXCLUDES = (
    ".aws-sam", ".chalice", ".git", ".gitignore", "*.pyc", "__pycache__", "*.so", ".Python", "*.egg-info",
    "*.egg", "pip-log.txt", "pip-delete-this-directory.txt", "htmlcov", ".tox", ".nox", ".coverage", ".cache",
    ".pytest_cache", ".python-version", ".mypy_cache", ".dmypy.json", ".pyre", ".env", ".venv", "venv",
    "venv.bak", "env.bak", "ENV", "env", ".vscode", ".idea",
)  # fmt: skip
# Resource types whose Ref is an ARN or a URL rather than a name (CloudFormation's return values).
_REF_IS_ARN = (
    "AWS::SNS::Topic",
    "AWS::SecretsManager::Secret",
    "AWS::Serverless::StateMachine",
    "AWS::StepFunctions::StateMachine",
    "AWS::KMS::Key",
    "AWS::Scheduler::Schedule",
)
_REF_IS_URL = ("AWS::SQS::Queue",)


@dataclass(frozen=True)
class LambdaFunction:
    """What the template says about one function, Globals merged in, intrinsics resolved."""

    logical_id: str
    handler: str
    runtime: str
    architecture: str
    code_uri: str
    memory_mb: int
    tracing: bool
    log_level: str | None
    environment: dict[str, str]

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python")

    @property
    def build_key(self) -> tuple[str, str, str]:
        # sam build builds functions sharing these once and copies the result to each.
        return (self.code_uri, self.runtime, self.architecture)


def _placeholder_stack() -> LocalStack:
    """Every resource of the template with a plausible physical name, ARN and URL."""
    stack = LocalStack(stack_name=STACK_NAME, region=REGION)
    for logical_id, resource in load_template()["Resources"].items():
        name = f"{STACK_NAME}-{logical_id}"
        service = resource["Type"].split("::")[1].lower()
        arn = f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{name}"
        stack.names[logical_id] = name
        stack.arns[logical_id] = arn
        if resource["Type"] in _REF_IS_URL:
            stack.physical[logical_id] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{name}"
        else:
            stack.physical[logical_id] = arn if resource["Type"] in _REF_IS_ARN else name
    return stack


def template_functions(template_path: Path = TEMPLATE_PATH) -> list[LambdaFunction]:
    """Every AWS::Serverless::Function of the template, with its environment resolved to placeholders."""
    template = load_template(template_path)
    resolver = _Resolver(template, _placeholder_stack(), parameter_defaults(template))
    defaults = template.get("Globals", {}).get("Function", {})
    functions = []
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        props = {**defaults, **resource["Properties"]}
        variables = {
            **defaults.get("Environment", {}).get("Variables", {}),
            **resource["Properties"].get("Environment", {}).get("Variables", {}),
        }
        environment = {}
        for name, node in variables.items():
            try:
                environment[name] = str(resolver.value(node))
            except Unresolvable as error:
                raise ValueError(f"{logical_id}: cannot give {name} a placeholder value ({error})") from error
        logging_config = props.get("LoggingConfig", {})
        level = logging_config.get("ApplicationLogLevel")
        functions.append(
            LambdaFunction(
                logical_id=logical_id,
                handler=props["Handler"],
                runtime=props["Runtime"],
                architecture=(props.get("Architectures") or ["x86_64"])[0],
                code_uri=props["CodeUri"],
                memory_mb=int(props.get("MemorySize", 128)),
                tracing=props.get("Tracing") == "Active",
                log_level=str(resolver.value(level)) if level is not None else None,
                environment=environment,
            )
        )
    return functions


# ---------------------------------------------------------------------------------------------- build


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _pip_platform_args(function: LambdaFunction, for_host: bool) -> list[str]:
    if for_host:
        return []  # this interpreter's own tags
    abi = "cp" + function.python_version.replace(".", "")
    platforms = [arg for platform in LAMBDA_PLATFORMS[function.architecture] for arg in ("--platform", platform)]
    return [*platforms, "--implementation", "cp", "--python-version", function.python_version, "--abi", abi]


def _digest(*parts: bytes) -> str:
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]


def _code_digest(code_dir: Path) -> str:
    """Content hash of what sam build copies from CodeUri."""
    parts = []
    for folder, dirs, files in os.walk(code_dir):
        dirs[:] = sorted(d for d in dirs if not _excluded(d))
        for name in sorted(f for f in files if not _excluded(f)):
            path = Path(folder, name)
            parts += [str(path.relative_to(code_dir)).encode(), path.read_bytes()]
    return _digest(*parts)


def _excluded(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in CODE_EXCLUDES)


def _replace_cached(target: Path, fill: Callable[[Path], None]) -> Path:
    """``target`` if present, else made by ``fill`` in a scratch folder; older siblings are removed."""
    if target.is_dir():
        return target
    flavour = target.name.split("-", 1)[0]
    for stale in target.parent.glob(f"{flavour}-*"):  # older inputs, or an interrupted build
        shutil.rmtree(stale, ignore_errors=True)
    scratch = target.with_name(target.name + ".partial")
    fill(scratch)
    scratch.rename(target)
    return target


def _install_dependencies(function: LambdaFunction, for_host: bool, cache_dir: Path) -> Path:
    """Wheels of CodeUri's requirements.txt unpacked in a folder, cached on the lock's content."""
    requirements = REPO_ROOT / function.code_uri / "requirements.txt"
    args = _pip_platform_args(function, for_host)
    key = _digest(
        requirements.read_bytes(),
        (REPO_ROOT / "requirements.txt").read_bytes(),
        repr(args).encode(),
        sys.version.encode() if for_host else b"",
    )
    flavour = "host" if for_host else function.architecture

    def install(folder: Path) -> None:
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
        command += ["--only-binary=:all:", "--target", str(folder), *args, "-r", str(requirements)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=1200, check=False)  # noqa: S603
        if result.returncode != 0:
            raise RuntimeError(f"pip could not install {requirements} for {flavour}:\n{result.stderr[-4000:]}")

    return _replace_cached(cache_dir / "deps" / f"{flavour}-{key}", install)


def _artifact(function: LambdaFunction, for_host: bool, cache_dir: Path) -> Path:
    """Dependencies, then the code on top, as sam build lays out one function's folder (the twin compiled)."""
    deps = _install_dependencies(function, for_host, cache_dir)
    code_dir = REPO_ROOT / function.code_uri

    def assemble(folder: Path) -> None:
        shutil.copytree(deps, folder, copy_function=os.link)  # hard links: the cache is never written to
        shutil.copytree(code_dir, folder, ignore=shutil.ignore_patterns(*CODE_EXCLUDES), dirs_exist_ok=True)
        # The twin is imported, so it gets the bytecode `make build` gives the shipped artifacts
        # (infra/precompile.py); compiling the arm64 one too would change none of its ELF files.
        if for_host and not compile_artifact(folder):
            raise RuntimeError(f"{function.logical_id}: some files of the artifact did not compile")

    suffix = "-pyc" if for_host else ""
    return _replace_cached(cache_dir / "artifacts" / f"{deps.name}-{_code_digest(code_dir)}{suffix}", assemble)


def build_artifacts(functions: list[LambdaFunction], *, for_host: bool, cache_dir: Path = CACHE_DIR) -> Path:
    """A build folder like .aws-sam/build: template.yaml and one folder per function.

    Functions sharing CodeUri, runtime and architecture get one artifact, as sam build builds them
    once and copies the result to each; here each function's folder is a link to it. Every folder is
    keyed on its inputs and never changed once made, so concurrent test workers can share them.
    """
    flavour = "host" if for_host else "lambda"
    with _locked(cache_dir / f".lock-{flavour}"):  # one lock per flavour: the two can be built at once
        artifacts = {function.logical_id: _artifact(function, for_host, cache_dir) for function in functions}
        key = _digest(TEMPLATE_PATH.read_bytes(), *(f"{k}={v.name}".encode() for k, v in sorted(artifacts.items())))

        def lay_out(folder: Path) -> None:
            folder.mkdir(parents=True)
            shutil.copyfile(TEMPLATE_PATH, folder / "template.yaml")
            for logical_id, artifact in artifacts.items():
                (folder / logical_id).symlink_to(artifact, target_is_directory=True)

        return _replace_cached(cache_dir / "builds" / f"{flavour}-{key}", lay_out)


# ---------------------------------------------------------------------------------------------- checks


def elf_machine(path: Path) -> int | None:
    """ELF e_machine of a file, or None if it is not an ELF file."""
    with open(path, "rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or not header.startswith(ELF_MAGIC):
        return None
    byteorder: Any = "little" if header[5] == 1 else "big"
    return int.from_bytes(header[18:20], byteorder)


def architecture_problems(build_dir: Path, functions: list[LambdaFunction]) -> list[str]:
    """ELF files built for another machine than the function's architecture (and artifacts with none)."""
    problems = []
    scanned: dict[Path, dict[Path, int]] = {}
    for function in functions:
        artifact = build_dir / function.logical_id
        expected = ELF_MACHINE[function.architecture]
        if (real := artifact.resolve()) not in scanned:
            scanned[real] = _elf_files(real)
        machines = scanned[real]
        if not machines:  # pydantic-core at least is compiled: nothing found means nothing was looked at
            problems.append(f"{function.logical_id}: no compiled extension found in {artifact}")
        for relative, machine in sorted(machines.items()):
            if machine != expected:
                problems.append(
                    f"{function.logical_id}: {relative} is for ELF machine {machine}, "
                    f"not {function.architecture} ({expected})"
                )
    return problems


def _elf_files(artifact: Path) -> dict[Path, int]:
    found = {}
    for path in artifact.rglob("*"):
        if path.is_file() and not path.is_symlink() and (machine := elf_machine(path)) is not None:
            found[path.relative_to(artifact)] = machine
    return found


def distributions(artifact: Path) -> set[str]:
    """``name==version`` of every distribution installed in an artifact."""
    found = set()
    for info in artifact.glob("*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        found.add(f"{name.lower().replace('_', '-')}=={version}")
    return found


def twin_problems(lambda_dir: Path, host_dir: Path, functions: list[LambdaFunction]) -> list[str]:
    """The host twin must hold what the Lambda artifact holds, or its import proves nothing."""
    problems = []
    for function in functions:
        shipped = distributions(lambda_dir / function.logical_id)
        twin = distributions(host_dir / function.logical_id)
        if shipped != twin:
            problems.append(
                f"{function.logical_id}: twin differs from the Lambda artifact: "
                f"only shipped {sorted(shipped - twin)}, only in twin {sorted(twin - shipped)}"
            )
    return problems


def lambda_environment(function: LambdaFunction, artifact: Path) -> dict[str, str]:
    """The template's variables for this function, what Lambda sets itself, and dummy credentials."""
    name = f"{STACK_NAME}-{function.logical_id}"
    env = {
        "_HANDLER": function.handler,
        "LAMBDA_TASK_ROOT": str(artifact),
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "ASIAARTIFACTCHECK000",
        "AWS_SECRET_ACCESS_KEY": "artifact-check-dummy-secret",
        "AWS_SESSION_TOKEN": "artifact-check-dummy-token",
        # Not set by Lambda: sends any AWS call made during init to a closed loopback port.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
    }
    if function.tracing:
        # Lambda points the X-Ray SDK at its daemon (a link-local address); loopback here.
        env |= {"AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR", "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000"}
    if function.log_level:
        env |= {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": function.log_level}
    return env | function.environment


# Runs in the clean interpreter: import the handler as Lambda's bootstrap does, then list what came from
# anywhere but the artifact and the standard library.
_IMPORT_PROBE = """
import importlib, json, os, sys, sysconfig
root = os.environ["LAMBDA_TASK_ROOT"]
sys.path.insert(0, root)
module_name, _, attribute = os.environ["_HANDLER"].rpartition(".")
handler = getattr(importlib.import_module(module_name), attribute)
assert callable(handler), f"{os.environ['_HANDLER']} is not callable"
paths = sysconfig.get_paths()
stdlib = (paths["stdlib"], paths["platstdlib"])
site = (paths["purelib"], paths["platlib"])
outside = sorted(
    f"{name} ({file})"
    for name, module in list(sys.modules.items())
    if (file := getattr(module, "__file__", None))
    and not file.startswith(root + os.sep)
    and (not file.startswith(stdlib) or file.startswith(site))
)
print(json.dumps({"modules": len(sys.modules), "outside": outside}))
"""


def clean_interpreter() -> str:
    # The base interpreter, not a venv's: with -I -S it sees the standard library and nothing else.
    return getattr(sys, "_base_executable", None) or sys.executable


def import_problems(build_dir: Path, functions: list[LambdaFunction]) -> list[str]:
    """Import every handler from its artifact alone, each in its own clean interpreter."""

    def probe(function: LambdaFunction) -> list[str]:
        artifact = (build_dir / function.logical_id).resolve()
        result = subprocess.run(  # noqa: S603 - fixed interpreter and probe
            [clean_interpreter(), "-I", "-S", "-B", "-c", _IMPORT_PROBE],
            cwd=artifact,
            env=lambda_environment(function, artifact),
            capture_output=True,
            text=True,
            timeout=IMPORT_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0:
            last_lines = "\n    ".join(result.stderr.strip().splitlines()[-6:])
            return [f"{function.logical_id}: importing {function.handler} failed:\n    {last_lines}"]
        report = json.loads(result.stdout.strip().splitlines()[-1])
        return [f"{function.logical_id}: loaded from outside the artifact: {item}" for item in report["outside"]]

    with ThreadPoolExecutor(max_workers=2) as pool:
        return [problem for problems in pool.map(probe, functions) for problem in problems]


def host_problems(functions: list[LambdaFunction]) -> list[str]:
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    return [
        f"{f.logical_id}: runtime {f.runtime}, but this interpreter is Python {here}: the twin proves nothing"
        for f in functions
        if f.python_version != here
    ]


def check_artifacts(lambda_build: Path | None = None, cache_dir: Path = CACHE_DIR) -> list[str]:
    """Build both halves (or take a real `sam build` output for the Lambda one) and run every check."""
    functions = template_functions()
    problems = host_problems(functions)
    if problems:
        return problems
    with ThreadPoolExecutor(max_workers=2) as pool:  # two pip installs, mostly waiting on downloads
        host_build = pool.submit(build_artifacts, functions, for_host=True, cache_dir=cache_dir)
        lambda_dir = lambda_build or build_artifacts(functions, for_host=False, cache_dir=cache_dir)
        host_dir = host_build.result()
    problems += check_build(lambda_dir)
    problems += architecture_problems(lambda_dir, functions)
    problems += twin_problems(lambda_dir, host_dir, functions)
    problems += import_problems(host_dir, functions)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lambda-build", type=Path, help="a `sam build` output to check instead of building one")
    args = parser.parse_args(argv)
    return report(
        check_artifacts(args.lambda_build),
        lambda: (
            f"artifacts OK: {len(template_functions())} handlers import from their artifact alone; "
            "arm64 artifacts hold only aarch64 code"
        ),
    )


if __name__ == "__main__":
    raise SystemExit(main())
