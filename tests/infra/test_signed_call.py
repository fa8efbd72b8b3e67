"""`python -m infra.signed_call` sends a SigV4-signed request for execute-api, received on loopback."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3

from infra.signed_call import main, region_of


def test_a_signed_call_carries_a_sigv4_authorization_for_execute_api(monkeypatch: Any, capsys: Any) -> None:
    seen: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen["headers"] = dict(self.headers)
            seen["body"] = self.rfile.read(int(self.headers["content-length"]))
            self.send_response(201)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"id": "acme"}')

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="eu-west-3")
    monkeypatch.setattr(boto3, "Session", lambda: session)
    try:
        code = main(["POST", f"http://127.0.0.1:{server.server_port}/accounts", '{"id": "acme", "name": "Acme"}'])
    finally:
        server.shutdown()
    assert code == 0 and capsys.readouterr().out.startswith("201")
    authorization = seen["headers"]["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-3/execute-api/aws4_request" in authorization and "Signature=" in authorization
    assert seen["headers"]["X-Amz-Date"] and json.loads(seen["body"]) == {"id": "acme", "name": "Acme"}


def test_the_region_is_read_from_the_api_url() -> None:
    assert region_of("https://abc123.execute-api.eu-west-3.amazonaws.com/accounts") == "eu-west-3"
    assert region_of("http://127.0.0.1:3000/accounts") is None
