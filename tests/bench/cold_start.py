"""Cold start of our code: how long importing each handler module takes in a fresh interpreter."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
HANDLERS = {
    "WebhookFunction": "bridge.handlers.webhook",
    "ApiFunction": "bridge.handlers.api",
    "WorkerFunction": "bridge.handlers.worker",
    "ImportFunction": "bridge.handlers.import_step",
}
# No bar names a cold-start time; these are our own targets. The webhook receiver acknowledges Sellsy and
# imports only boto3 and the receive flow (boto3 alone is ~0.45 s here); the others are not latency-critical
# but should stay small.
TARGET_MS = {"WebhookFunction": 1000.0, "ApiFunction": 3000.0, "WorkerFunction": 2000.0, "ImportFunction": 2000.0}
PROBE = (
    "import time, importlib, sys; t = time.perf_counter(); importlib.import_module(sys.argv[1]); "
    "print((time.perf_counter() - t) * 1000)"
)


def import_ms(module: str) -> float:
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT / 'functions'}", "PYTHONDONTWRITEBYTECODE": "0"}
    env.setdefault("AWS_DEFAULT_REGION", "eu-west-3")
    out = subprocess.run(
        [sys.executable, "-c", PROBE, module], env=env, capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    return float(out.stdout.strip().splitlines()[-1])


def measure_handlers(runs: int = 5) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for function, module in HANDLERS.items():
        import_ms(module)  # warm the bytecode cache, as a deployed artifact would have it
        samples = [import_ms(module) for _ in range(runs)]
        median = statistics.median(samples)
        results[function] = {
            "module": module,
            "median_import_ms": round(median, 1),
            "runs": runs,
            "met": median <= TARGET_MS[function],
            "target_ms": TARGET_MS[function],
        }
    return results
