"""The local stand-ins' server stays quiet about clients that hang up, and loud about its own faults."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from infra.local.loopback import LoopbackServer


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    made = LoopbackServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    yield made
    made.server_close()


@pytest.mark.parametrize("hang_up", [BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset")])
def test_a_client_hanging_up_prints_nothing(
    server: LoopbackServer, hang_up: OSError, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        raise hang_up
    except OSError:
        server.handle_error(None, ("127.0.0.1", 1))
    assert capsys.readouterr().err == ""


def test_a_fault_of_the_server_still_prints_its_traceback(
    server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        raise KeyError("route table")
    except KeyError:
        server.handle_error(None, ("127.0.0.1", 1))
    printed = capsys.readouterr().err
    assert "KeyError: 'route table'" in printed
