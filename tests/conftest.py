"""Shared fixtures: every module in tests/fixtures/ is a pytest plugin, registered here."""

import logging
from pathlib import Path

# moto's server logs every request through werkzeug: thousands of lines that hide real failures.
logging.getLogger("werkzeug").setLevel(logging.WARNING)

pytest_plugins = sorted(
    f"tests.fixtures.{path.stem}"
    for path in (Path(__file__).parent / "fixtures").glob("*.py")
    if path.stem != "__init__"
)
