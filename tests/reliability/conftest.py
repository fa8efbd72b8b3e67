"""The reliability suite reports what it tried and what it found, at the end of the test run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPORT_FILE = Path(__file__).resolve().parents[2] / ".local" / "reliability-report.json"
_entries: list[dict[str, Any]] = []


@pytest.fixture(scope="session")
def reliability_report() -> list[dict[str, Any]]:
    """Append ``{"scenario", "tried", "result"}`` entries; they are printed and saved after the run."""
    return _entries


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _entries:
        return
    terminalreporter.section("reliability report")
    for entry in _entries:
        terminalreporter.write_line(f"- {entry['scenario']}: tried {entry['tried']}; {entry['result']}")
    REPORT_FILE.parent.mkdir(parents=True, exist_ok=True)
    REPORT_FILE.write_text(json.dumps(_entries, indent=2) + "\n")
    terminalreporter.write_line(f"(saved to {REPORT_FILE.relative_to(REPORT_FILE.parents[1])})")
