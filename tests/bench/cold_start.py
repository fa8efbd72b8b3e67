"""Cold start of our code: each handler imported from its built artifact, as Lambda's bootstrap imports it.

The artifact is the check's host twin (infra/check_artifact.py: the same distributions and code as the
arm64 one), compiled to bytecode as `make build` compiles it. Each import runs in a clean interpreter
(``-I -S -B``, only the artifact on the path, the function's Lambda environment). The same import from
the artifact without its bytecode (what a plain `sam build` ships) is measured too, for comparison.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

# No bar names a cold-start time; these are our own targets. The webhook receiver acknowledges Sellsy and
# imports only boto3 and the receive flow; the others are not latency-critical but should stay small.
TARGET_MS = {"WebhookFunction": 1000.0, "ApiFunction": 3000.0, "WorkerFunction": 2000.0, "ImportFunction": 2000.0}
PROBE = (
    "import importlib, os, sys, time; sys.path.insert(0, os.environ['LAMBDA_TASK_ROOT']); "
    "t = time.perf_counter(); importlib.import_module(sys.argv[1]); print((time.perf_counter() - t) * 1000)"
)


def import_ms(function: Any, artifact: Path) -> float:
    from infra.check_artifact import clean_interpreter, lambda_environment

    module = function.handler.rpartition(".")[0]
    out = subprocess.run(
        [clean_interpreter(), "-I", "-S", "-B", "-c", PROBE, module],
        cwd=artifact,
        env=lambda_environment(function, artifact),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def _median_ms(function: Any, artifact: Path, runs: int) -> float:
    return round(statistics.median(import_ms(function, artifact) for _ in range(runs)), 1)


def measure_handlers(runs: int = 5) -> dict[str, Any]:
    from infra.check_artifact import build_artifacts, template_functions

    functions = template_functions()
    build = build_artifacts(functions, for_host=True)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        uncompiled: dict[Path, Path] = {}  # functions share artifacts: one bytecode-free copy of each
        for function in functions:
            artifact = (build / function.logical_id).resolve()
            if artifact not in uncompiled:
                copy = Path(scratch) / f"uncompiled-{len(uncompiled)}"
                shutil.copytree(artifact, copy, ignore=shutil.ignore_patterns("__pycache__"), copy_function=os.link)
                uncompiled[artifact] = copy
            median = _median_ms(function, artifact, runs)
            results[function.logical_id] = {
                "module": function.handler.rpartition(".")[0],
                "median_import_ms": median,
                "median_import_ms_without_bytecode": _median_ms(function, uncompiled[artifact], runs),
                "runs": runs,
                "met": median <= TARGET_MS[function.logical_id],
                "target_ms": TARGET_MS[function.logical_id],
            }
    return results
