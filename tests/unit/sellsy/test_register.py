"""The register of Sellsy behaviour keeps its shape: every entry cites evidence and a test that exists.

Cited lines of Sellsy's OpenAPI file are checked against the file when it is present: the line must hold
the key the JSON pointer names, so a citation cannot drift to an unrelated line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml

from infra.local.sandbox.contract import spec_path

ROOT = Path(__file__).resolve().parents[3]
REGISTER = ROOT / "functions" / "bridge" / "sellsy" / "REGISTER.md"
FIELDS = ("Behaviour", "Evidence", "Defence", "Test")
OPENAPI_CITATION = re.compile(r"sellsy-openapi-v2\.264\.0\.yaml:(\d+)`?\s+`(#/[^`]*)`")
URL = re.compile(r"https?://[^\s)]+")
REPOSITORY = re.compile(r"github\.com/[\w.-]+/[\w.-]+\s+`[^`]+`")
TEST_CITATION = re.compile(r"`(tests/[\w/.-]+\.py)::(\w+)`")


@dataclass
class Entry:
    heading: str
    fields: dict[str, str]


def entries(text: str) -> list[Entry]:
    found: list[Entry] = []
    for block in re.split(r"^### ", text, flags=re.MULTILINE)[1:]:
        heading, _, body = block.partition("\n")
        body = body.split("\n## ", 1)[0]
        fields: dict[str, str] = {}
        for item in re.split(r"^- \*\*", body, flags=re.MULTILINE)[1:]:
            name, _, value = item.partition(":**")
            fields[name.strip()] = " ".join(value.split())
        found.append(Entry(heading.strip(), fields))
    return found


def register_entries() -> list[Entry]:
    return entries(REGISTER.read_text(encoding="utf-8"))


def test_the_register_has_entries_with_unique_ids() -> None:
    found = register_entries()
    assert len(found) >= 3
    ids = [e.heading.split(".", 1)[0] for e in found]
    assert all(re.fullmatch(r"[A-Z]\d+", i) for i in ids), ids
    assert len(ids) == len(set(ids)), f"duplicate entry ids: {sorted(i for i in ids if ids.count(i) > 1)}"


@pytest.mark.parametrize("entry", register_entries(), ids=lambda e: e.heading.split(".", 1)[0])
def test_every_entry_has_its_four_lines_evidence_and_an_existing_test(entry: Entry) -> None:
    missing = [f for f in FIELDS if not entry.fields.get(f)]
    assert not missing, f"{entry.heading}: missing {missing}"
    evidence = entry.fields["Evidence"]
    cited = OPENAPI_CITATION.findall(evidence) or URL.findall(evidence) or REPOSITORY.findall(evidence)
    assert cited, f"{entry.heading}: the evidence cites no OpenAPI line, URL or repository path"
    assert "sandbox" not in evidence.lower(), f"{entry.heading}: the sandbox is not evidence"
    tests = TEST_CITATION.findall(entry.fields["Test"])
    assert tests, f"{entry.heading}: no test cited as tests/...py::test_name"
    for path, name in tests:
        source = ROOT / path
        assert source.is_file(), f"{entry.heading}: {path} does not exist"
        assert re.search(rf"^(async )?def {name}\(", source.read_text(encoding="utf-8"), re.MULTILINE), (
            f"{entry.heading}: {path} has no test {name}"
        )


@cache
def spec_key_lines() -> dict[str, int]:
    """JSON pointer of every mapping key in the OpenAPI file → its 1-based line."""
    path = spec_path()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as stream:
        root = yaml.compose(stream, Loader=loader)
    assert root is not None, f"{path} is empty"
    lines: dict[str, int] = {}
    stack: list[tuple[yaml.Node, str]] = [(root, "#")]
    while stack:
        node, pointer = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = pointer + "/" + str(key.value).replace("~", "~0").replace("/", "~1")
                lines[child] = key.start_mark.line + 1
                stack.append((value, child))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((value, f"{pointer}/{i}") for i, value in enumerate(node.value))
    return lines


@pytest.mark.needs_openapi
def test_cited_openapi_lines_hold_the_named_keys() -> None:
    known = spec_key_lines()
    citations = [
        (e.heading, int(line), pointer)
        for e in register_entries()
        for line, pointer in OPENAPI_CITATION.findall(e.fields.get("Evidence", ""))
    ]
    assert citations, "the register cites no line of the OpenAPI file"
    wrong = [
        f"{heading}: line {line} is not {pointer} (that key is at line {known.get(pointer)})"
        for heading, line, pointer in citations
        if known.get(pointer) != line
    ]
    assert not wrong, "\n".join(wrong)


def test_the_parser_reads_entries_and_their_fields() -> None:
    """The checks above are only as good as the parser: a broken entry must be seen as broken."""
    sample = "## X\n\n### X1. One\n\n- **Behaviour:** b\n- **Evidence:** none\n\n### X2. Two\n\n- **Test:** t\n"
    parsed = entries(sample)
    assert [e.heading for e in parsed] == ["X1. One", "X2. Two"]
    assert parsed[0].fields == {"Behaviour": "b", "Evidence": "none"}
    assert not (OPENAPI_CITATION.findall("none") or URL.findall("none") or REPOSITORY.findall("none"))
