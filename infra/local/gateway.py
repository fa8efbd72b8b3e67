"""Local stand-in for API Gateway (HTTP API): real HTTP on loopback → v2 events → the real handlers.

Routes mirror template.yaml: ``/webhooks/sellsy/...`` goes to the webhook function, everything else to
the API function. Handlers are imported on first use so the gateway starts even while one is missing.
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from infra.local.lambda_context import LOCAL_ACCOUNT, LocalContext
from infra.local.loopback import LoopbackServer

Handler = Callable[[dict[str, Any], Any], Any]
log = logging.getLogger(__name__)

# API Gateway's own payload limit; larger bodies never reach a function.
MAX_BODY_BYTES = 10 * 1024 * 1024
TEXT_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/", "application/xml")

ROUTES: list[tuple[str, str, str]] = [
    # (path prefix, function name, "module:attribute")
    ("/webhooks/sellsy/", "WebhookFunction", "bridge.handlers.webhook:lambda_handler"),
    ("/", "ApiFunction", "bridge.handlers.api:lambda_handler"),
]


def load_handler(spec: str) -> Handler:
    module_name, _, attribute = spec.partition(":")
    handler: Handler = getattr(importlib.import_module(module_name), attribute)
    return handler


def build_event(method: str, raw_path: str, raw_query: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """An API Gateway HTTP API payload (format 2.0) as the service would send it."""
    content_type = headers.get("content-type", "")
    is_text = not body or any(content_type.startswith(t) for t in TEXT_TYPES)
    text_body: str | None
    if not body:
        text_body, encoded = None, False
    elif is_text:
        try:
            text_body, encoded = body.decode("utf-8"), False
        except UnicodeDecodeError:
            text_body, encoded = base64.b64encode(body).decode("ascii"), True
    else:
        text_body, encoded = base64.b64encode(body).decode("ascii"), True
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        # HTTP API joins repeated query parameters with commas.
        query[key] = f"{query[key]},{value}" if key in query else value
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT,
            "apiId": "local",
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if query:
        event["queryStringParameters"] = query
    if text_body is not None:
        event["body"] = text_body
    if "cookie" in headers:
        event["cookies"] = [c.strip() for c in headers["cookie"].split(";")]
    return event


def response_parts(result: Any) -> tuple[int, dict[str, str], bytes]:
    """Turn a handler's return value into status, headers and body, as API Gateway does."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # HTTP API infers a 200 JSON response from a bare return value.
        return 200, {"content-type": "application/json"}, json.dumps(result).encode()
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = ", ".join(str(v) for v in values)
    if result.get("cookies"):
        # Format 2.0 returns cookies apart; each becomes its own Set-Cookie header (see _reply).
        headers["set-cookie"] = "\n".join(str(c) for c in result["cookies"])
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    return int(result["statusCode"]), headers, body


class LocalGateway:
    """Serves the HTTP API on a loopback port until ``stop()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, handlers: dict[str, Handler] | None = None) -> None:
        self._overrides = handlers or {}
        self._loaded: dict[str, Handler] = {}
        self._lock = threading.Lock()
        # One lock per function: like one Lambda execution environment, a handler serves one request at a
        # time. Handlers keep per-request state in module-level objects (Powertools' resolver, Logger keys),
        # which is safe in Lambda and must stay safe here.
        self._environments: dict[str, threading.Lock] = {}
        self._server = LoopbackServer((host, port), self._request_class())
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-gateway", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalGateway:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handler_for(self, path: str) -> tuple[str, Handler]:
        for prefix, function_name, spec in ROUTES:
            if path.startswith(prefix) or path == prefix.rstrip("/"):
                if function_name in self._overrides:
                    return function_name, self._overrides[function_name]
                with self._lock:
                    if function_name not in self._loaded:
                        self._loaded[function_name] = load_handler(spec)
                    self._environments.setdefault(function_name, threading.Lock())
                return function_name, self._loaded[function_name]
        raise LookupError(path)

    def invoke(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, bytes]:
        parts = urlsplit(target)
        function_name, handler = self.handler_for(parts.path)
        event = build_event(method, parts.path, parts.query, headers, body)
        with self._environments.setdefault(function_name, threading.Lock()):
            result = handler(event, LocalContext(function_name=function_name))
        return response_parts(result)

    def _request_class(self) -> type[BaseHTTPRequestHandler]:
        return type("Request", (_Request,), {"gateway": self})


class _Request(BaseHTTPRequestHandler):
    """One HTTP request to the gateway; ``gateway`` is set on the subclass each gateway makes."""

    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: with Nagle on, the body waited for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    gateway: LocalGateway

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the handlers log
        return

    def _serve(self) -> None:
        started = time.perf_counter()
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            self._reply(413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}')
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        try:
            status, out_headers, out_body = self.gateway.invoke(self.command, self.path, headers, body)
        except Exception:  # a crashing function is a 500 from API Gateway, with no detail leaked
            log.exception("%s %s: the function raised", self.command, self.path)
            status, out_headers, out_body = (
                500,
                {"content-type": "application/json"},
                b'{"message":"Internal Server Error"}',
            )
        out_headers.setdefault("x-local-latency-ms", f"{(time.perf_counter() - started) * 1000:.1f}")
        self._reply(status, out_headers, out_body)

    def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key == "set-cookie":
                for cookie in value.split("\n"):
                    self.send_header(key, cookie)
            elif key not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(key, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the caller gave up waiting
                self.close_connection = True

    def _not_allowed(self) -> None:
        # API Gateway routes no TRACE/CONNECT to a function; a caller's odd method is a 4xx, never a 5xx.
        self._reply(405, {"content-type": "application/json"}, b'{"message":"Method Not Allowed"}')

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve
    do_TRACE = do_CONNECT = _not_allowed
