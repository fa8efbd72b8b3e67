from __future__ import annotations

import pytest

from bridge.console import layout


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/console/accounts/acme", "/console/accounts/acme"),
        ("/console/exchanges?status=failed", "/console/exchanges?status=failed"),
        ("https://evil.example/console/", "/console/accounts"),
        ("//evil.example/console/", "/console/accounts"),
        ("/console/\\evil", "/console/accounts"),
        ("/accounts", "/console/accounts"),
        (None, "/console/accounts"),
    ],
)
def test_safe_next_keeps_only_console_paths(target: str | None, expected: str) -> None:
    assert layout.safe_next(target) == expected


def test_static_url_carries_the_content_hash() -> None:
    url = layout.static_url("console.css")
    digest = layout.static_files()["console.css"][1]
    assert url == f"/console/static/console.css?v={digest}"


def test_templates_escape_what_they_show() -> None:
    template = layout.environment().from_string("{{ value }}")
    assert template.render(value="<script>x</script>") == "&lt;script&gt;x&lt;/script&gt;"
