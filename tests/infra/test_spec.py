"""`make spec` downloads, checks and stores the OpenAPI file; it fails clearly when offline (loopback only)."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from infra.spec import main

GOOD = b"openapi: 3.0.0\ninfo: {title: Sellsy, version: 2.999.0}\npaths:\n  /companies: {}\n"


def _serve(body: bytes, status: int = 200) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/yaml")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def served():
    servers: list[ThreadingHTTPServer] = []

    def start(body: bytes, status: int = 200) -> str:
        servers.append(_serve(body, status))
        return f"http://127.0.0.1:{servers[-1].server_address[1]}/sellsy.v2.latest.yaml"

    yield start
    for server in servers:
        server.shutdown()


def test_downloads_and_tells_how_to_use_it(served, tmp_path, capsys):
    target = tmp_path / "spec.yaml"
    assert main(["--url", served(GOOD), "--output", str(target)]) == 0
    assert target.read_bytes() == GOOD
    err = capsys.readouterr().err
    assert "v2.999.0" in err and f"export SELLSY_OPENAPI={target}" in err


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [(b"<html>maintenance</html>", 200, "not an OpenAPI 3"), (b"nope", 503, "HTTP 503")],
)
def test_rejects_what_is_not_a_spec_and_keeps_the_old_file(served, tmp_path, capsys, body, status, message):
    target = tmp_path / "spec.yaml"
    target.write_bytes(GOOD)
    assert main(["--url", served(body, status), "--output", str(target)]) == 1
    assert message in capsys.readouterr().err
    assert target.read_bytes() == GOOD


def test_offline_gives_a_clear_message(tmp_path, capsys):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["--url", f"http://127.0.0.1:{port}/x.yaml", "--output", str(tmp_path / "s.yaml")]) == 1
    assert "offline?" in capsys.readouterr().err
