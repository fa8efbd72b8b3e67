"""Read requirement inputs (``*.in``) and hash-locked outputs (``*.txt``) as pip does, enough for tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*(?:==\s*(?P<version>[^\s;#]+))?")


def normalize(name: str) -> str:
    """PEP 503 name: ``PyYAML`` and ``pyyaml``, ``types_PyYAML`` and ``types-pyyaml`` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _logical_lines(path: Path) -> list[str]:
    """Lines with backslash continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    lines = (re.sub(r"(^|\s)#.*$", "", line).strip() for line in text.splitlines())
    return [line for line in lines if line]


@dataclass(frozen=True)
class Pin:
    version: str
    hashes: int


def locked_pins(path: Path) -> dict[str, Pin]:
    """Normalized name → pinned version and hash count, for every package of a lock file."""
    pins = {}
    for line in _logical_lines(path):
        match = _REQUIREMENT.match(line)
        assert match and match["version"], f"{path.name}: not an exact pin: {line}"
        pins[normalize(match["name"])] = Pin(match["version"], line.count("--hash=sha256:"))
    return pins


def input_requirements(path: Path) -> dict[str, str | None]:
    """Normalized name → version pinned by hand (or None), following ``-r`` includes, not ``-c`` constraints."""
    wanted: dict[str, str | None] = {}
    for line in _logical_lines(path):
        if line.startswith("-r "):
            wanted |= input_requirements(path.parent / line.split(maxsplit=1)[1])
        elif not line.startswith("-"):
            match = _REQUIREMENT.match(line)
            assert match, f"{path.name}: cannot read {line}"
            wanted[normalize(match["name"])] = match["version"]
    return wanted
