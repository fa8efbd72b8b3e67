"""Bytecode compiled into the artifacts (infra/precompile.py): used at import, never stale, Lambda's paths."""

from __future__ import annotations

import importlib.util
import marshal
import subprocess
import sys
from pathlib import Path

from infra.precompile import compile_artifact, precompile_build

HASH_BASED, CHECK_SOURCE = 0b01, 0b10  # the .pyc header's flags word (PEP 552)


def _write_package(root: Path, value: str) -> Path:
    module = root / "shipped" / "answer.py"
    module.parent.mkdir(parents=True, exist_ok=True)
    (module.parent / "__init__.py").write_text("")
    module.write_text(f"VALUE = {value!r}\n\ndef where():\n    raise RuntimeError('here')\n")
    return module


def _import_value(root: Path) -> str:
    probe = "import sys; sys.path.insert(0, '.'); import shipped.answer as m; print(m.VALUE)"
    done = subprocess.run([sys.executable, "-I", "-B", "-c", probe], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_every_file_gets_checked_hash_bytecode_naming_lambda_s_path(tmp_path: Path) -> None:
    module = _write_package(tmp_path, "first")
    assert compile_artifact(tmp_path)
    cached = Path(importlib.util.cache_from_source(str(module)))
    header = cached.read_bytes()
    assert header[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(header[4:8], "little") == HASH_BASED | CHECK_SOURCE
    code = marshal.loads(header[16:])  # noqa: S302 - a file this test just compiled
    assert code.co_filename == "/var/task/shipped/answer.py"
    assert Path(importlib.util.cache_from_source(str(module.parent / "__init__.py"))).is_file()


def test_a_source_changed_after_compiling_is_imported_as_it_is_now(tmp_path: Path) -> None:
    _write_package(tmp_path, "first")
    assert compile_artifact(tmp_path)
    assert _import_value(tmp_path) == "first"
    _write_package(tmp_path, "second")  # a cached build that kept the old .pyc
    assert _import_value(tmp_path) == "second"


def test_a_file_that_does_not_compile_is_reported(tmp_path: Path) -> None:
    _write_package(tmp_path, "first")
    (tmp_path / "shipped" / "broken.py").write_text("def (:\n")
    assert not compile_artifact(tmp_path)


def test_a_build_without_the_function_folders_names_each_missing_function(tmp_path: Path) -> None:
    problems = precompile_build(tmp_path)
    assert problems and all("no folder" in problem and "sam build" in problem for problem in problems)
    assert any(problem.startswith("WebhookFunction:") for problem in problems)
