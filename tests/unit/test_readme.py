"""The README stays true where it documents something the code declares."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bridge.domain import revenue

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_mapping_table_is_the_one_declared_in_code() -> None:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- mapping:start -->\n(.*?)\n<!-- mapping:end -->", text, re.DOTALL)
    assert found, "README.md lost its mapping table markers"
    assert found.group(1).strip() == revenue.mapping_table_markdown().strip(), (
        "README mapping table is stale: paste bridge.domain.revenue.mapping_table_markdown() between the markers"
    )


def test_readme_quick_start_is_the_two_commands() -> None:
    quick_start = README.read_text(encoding="utf-8").split("## Quick start", 1)[1].split("##", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick_start.splitlines() if line.startswith("    make")]
    assert commands == ["make run", "make test"]


def test_readme_figures_are_the_bench_results() -> None:
    from tests.bench.figures_table import RESULTS, readme_table, render

    shown = readme_table(README.read_text(encoding="utf-8"))
    assert shown, "README.md lost its figures table markers"
    assert shown == render(json.loads(RESULTS.read_text(encoding="utf-8"))), (
        "README figures are stale: run `python -m tests.bench.figures_table` (make bench does it)"
    )


def test_a_figure_that_misses_its_target_is_shown_as_missed() -> None:
    from tests.bench.figures_table import render

    missed = {"value": 26.05, "target": 20, "comparison": "<=", "met": False}
    results = {"machine": {}, "figures": {"webhook_ack": {"deliveries": 10, "p50_ms": 7.0, "p99_ms": missed}}}
    assert "| 26.05 ms | ≤ 20 ms | **no** |" in render(results)
