"""The README stays true where it documents something the code declares."""

from __future__ import annotations

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
