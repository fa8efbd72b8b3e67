"""`make bench`: measure the bars of README "Figures" in one run and write tests/bench/results.json.

Each figure is stored with its target and whether it meets it, plus the machine, date and commit, so
results from different machines can be told apart. ``--only NAME`` runs one part (names below). Each part
runs in an interpreter of its own, so none measures what an earlier one left running.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results.json"


def machine() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit or "unknown",
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def check(value: float, target: float, *, at_most: bool = True) -> dict[str, Any]:
    """One figure against its target."""
    met = value <= target if at_most else value >= target
    return {"value": round(value, 4), "target": target, "comparison": "<=" if at_most else ">=", "met": met}


def part_cold_start() -> dict[str, Any]:
    """Import time of each handler from its built artifact (what a Lambda cold start pays before our code runs)."""
    from tests.bench.cold_start import measure_handlers

    return measure_handlers()


def part_sandbox() -> dict[str, Any]:
    from tests.bench.sandbox_throughput import measure

    result = measure(seconds=5)
    return {**result, "requests_per_second": check(result["requests_per_second"], 200, at_most=False)}


def part_import() -> dict[str, Any]:
    from tests.bench.import_bench import bench_import

    return bench_import(invoices=5000)


def part_rerun() -> dict[str, Any]:
    from tests.bench.import_bench import bench_rerun

    return bench_rerun(changed_fraction=0.01)


def part_memory() -> dict[str, Any]:
    from tests.bench.import_bench import bench_memory

    return bench_memory(invoices=50000)


def part_webhook_ack() -> dict[str, Any]:
    from tests.bench.webhook_latency import bench_webhook_ack

    return bench_webhook_ack(deliveries=2000)


def part_quote_to_intervention() -> dict[str, Any]:
    from tests.bench.webhook_latency import bench_quote_to_intervention

    return bench_quote_to_intervention(quotes=40)


def part_sellsy_calls() -> dict[str, Any]:
    from tests.bench.calls_bench import bench_sellsy_calls

    return bench_sellsy_calls(quotes=20)


def part_quota_sliding() -> dict[str, Any]:
    from tests.bench.quota_bench import bench_sliding_quota

    return bench_sliding_quota()


def part_console() -> dict[str, Any]:
    from tests.bench.console_bench import bench_console_pages

    return bench_console_pages()


PARTS: dict[str, Callable[[], dict[str, Any]]] = {
    "cold_start": part_cold_start,
    "sandbox_throughput": part_sandbox,
    "webhook_ack": part_webhook_ack,
    "quote_to_intervention": part_quote_to_intervention,
    "sellsy_calls": part_sellsy_calls,
    "import_5000": part_import,
    "rerun_1_percent": part_rerun,
    "memory_50000": part_memory,
    "quota_sliding": part_quota_sliding,
    "console": part_console,
}


def all_met(result: Any) -> bool:
    if isinstance(result, dict):
        if "met" in result and isinstance(result["met"], bool):
            return result["met"]
        return all(all_met(v) for v in result.values())
    return True


def run_part(name: str) -> dict[str, Any]:
    """One part in a fresh interpreter: a part leaves a stack running (threads, a moto server, environment
    variables) until its process ends, which would load the machine and change what the next part measures."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        figures_file = Path(scratch) / "figures.json"
        command = [sys.executable, "-m", "tests.bench", "--part", name, "--figures-to", str(figures_file)]
        done = subprocess.run(command, cwd=REPO_ROOT, check=False)
        if not figures_file.exists():
            return {"error": f"the part's process ended with status {done.returncode}", "met": False}
        return dict(json.loads(figures_file.read_text()))


def measure(name: str) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        figures = PARTS[name]()
    except Exception as error:  # one broken part must not hide the others' figures
        figures = {"error": f"{type(error).__name__}: {error}", "met": False}
    figures["bench_seconds"] = round(time.perf_counter() - started, 1)
    return figures


def main(argv: list[str] | None = None) -> int:
    import logging
    import warnings

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--only", action="append", choices=sorted(PARTS), help="run only these parts")
    parser.add_argument("--part", choices=sorted(PARTS), help=argparse.SUPPRESS)  # run_part's child
    parser.add_argument("--figures-to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part:
        args.figures_to.write_text(json.dumps(measure(args.part)))
        return 0
    chosen = args.only or list(PARTS)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() and args.only else {}
    results: dict[str, Any] = {"machine": machine(), "figures": previous.get("figures", {})}
    for name in chosen:
        print(f"bench: {name} ...", flush=True)
        figures = run_part(name)
        results["figures"][name] = figures
        print(json.dumps(figures, indent=2), flush=True)
    results["all_targets_met"] = all_met(results["figures"])
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    from tests.bench.figures_table import update_readme

    update_readme(RESULTS)
    met = results["all_targets_met"]
    print(f"bench: wrote {RESULTS.relative_to(REPO_ROOT)} and README's table; all targets met: {met}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
