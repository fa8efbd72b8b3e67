"""The sandbox's server stays quiet about clients that hang up, and loud about its own faults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.local.sandbox.app import SandboxApp, _Server
from infra.local.sandbox.config import SandboxConfig


@pytest.fixture
def server() -> Iterator[_Server]:
    made = _Server(("127.0.0.1", 0), SandboxApp(SandboxConfig()))
    yield made
    made.server_close()


@pytest.mark.parametrize("hang_up", [BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset")])
def test_a_client_hanging_up_prints_nothing(
    server: _Server, hang_up: OSError, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        raise hang_up
    except OSError:
        server.handle_error(None, ("127.0.0.1", 1))
    assert capsys.readouterr().err == ""


def test_a_fault_of_the_sandbox_still_prints_its_traceback(server: _Server, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        raise KeyError("route table")
    except KeyError:
        server.handle_error(None, ("127.0.0.1", 1))
    printed = capsys.readouterr().err
    assert "KeyError: 'route table'" in printed
