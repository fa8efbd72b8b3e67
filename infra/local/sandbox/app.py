"""The sandbox application: dispatch of every request through auth, quotas, faults and routes."""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from infra.local.loopback import LoopbackServer
from infra.local.sandbox.auth import Auth
from infra.local.sandbox.config import SandboxConfig
from infra.local.sandbox.contract import shared_validator
from infra.local.sandbox.http import ApiError, Request, Response, Router
from infra.local.sandbox.quotas import Quotas
from infra.local.sandbox.recorder import Exchange, Recorder
from infra.local.sandbox.state import State
from infra.local.sandbox.webhooks_out import WebhookEmitter


class DropConnection(Exception):
    """Close the socket without an answer (injected fault)."""


class SandboxApp:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.router = Router()
        self.recorder = Recorder()
        self.calls: Counter[str] = Counter()
        self.calls_lock = threading.Lock()
        self.fault_rng = random.Random(config.seed * 7_919 + 1)
        self.fault_lock = threading.Lock()
        self.quotas = Quotas(config)
        self.webhooks = WebhookEmitter(self)
        self.base_url = ""
        self._build()
        if config.validate_requests:  # parse the file in the background: the first write should not wait
            threading.Thread(target=shared_validator, name="sandbox-spec-loader", daemon=True).start()
        from infra.local.sandbox import routes

        routes.register(self)

    def _build(self) -> None:
        cfg = self.config
        self.state = State(cfg.seed, cfg.size, cfg.account_corp_id)
        self.auth = Auth(
            cfg.seed, cfg.account_corp_id, cfg.token_ttl_seconds, cfg.refresh_ttl_seconds, cfg.single_login
        )
        self.auth.ttl_override = cfg.faults.token_ttl_seconds

    def reset(self) -> None:
        """Back to the seed state; issued tokens stay valid so running clients keep working."""
        auth = self.auth
        self.state = State(self.config.seed, self.config.size, self.config.account_corp_id)
        self.auth = auth
        with self.calls_lock:
            self.calls.clear()
        self.quotas.clear()
        self.webhooks.clear()

    # -- faults ----------------------------------------------------------------------------------
    def _draw(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self.fault_lock:
            return self.fault_rng.random() < rate

    def count(self, key: str) -> None:
        with self.calls_lock:
            self.calls[key] += 1

    # -- dispatch --------------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        if req.path.startswith("/v2/") or req.path == "/v2":
            return self._handle_api(req)
        if req.path == "/oauth2/access-tokens" and req.method == "POST":
            self.count("POST /oauth2/access-tokens")
            return self.auth.token_endpoint(req)
        if req.path == "/oauth2/authorization" and req.method == "GET":
            self.count("GET /oauth2/authorization")
            return self.auth.authorize_endpoint(req)
        if req.path.startswith("/_sandbox/"):
            return self._handle_plain(req)
        return Response.from_error(ApiError(404, f"No route {req.method} {req.path}"))

    def _handle_plain(self, req: Request) -> Response:
        try:
            handler, _template, params = self.router.match(req.method, req.path)
            return handler(req, **params)
        except ApiError as exc:
            return Response.from_error(exc)

    def _handle_api(self, req: Request) -> Response:
        faults = self.config.faults
        try:
            handler, template, params = self.router.match(req.method, req.path)
        except ApiError as exc:
            handler, template, params = None, "(unmatched)", {}
            not_routed: ApiError | None = exc
        else:
            not_routed = None
        req.route = template
        self.count(f"{req.method} {template}")
        if self._draw(faults.rate_drop):
            self.count("faults.drop")
            raise DropConnection
        if self._draw(faults.rate_slow):
            self.count("faults.slow")
            time.sleep(faults.slow_seconds)
        quota_headers: dict[str, str] = {}
        try:
            req.auth = self.auth.check_bearer(req)
            if req.auth is None:
                quota_headers = self.quotas.peek()
                raise ApiError(
                    401,
                    "Unauthorized: missing, unknown or expired access token",
                    {"authorization": "a valid Bearer token is required"},
                )
            allowed, quota_headers = self.quotas.consume()
            if not allowed:
                self.count("429")
                raise ApiError(429, "Too many requests: API quota reached")  # headers as configured
            if self._draw(faults.rate_429):
                self.count("429")
                self.count("faults.429")
                raise ApiError(429, "Too many requests: API quota reached")
            if self._draw(faults.rate_5xx):
                self.count("faults.5xx")
                raise ApiError(503, "Service temporarily unavailable")
            if not_routed is not None:
                raise not_routed
            assert handler is not None
            self._check_scopes(req)
            if f"{req.method} {template}" in faults.plan_limited:
                self.count("faults.402")
                raise ApiError(402, "Quotas limit reached on your current plan")
            self._check_request_against_contract(req)
            resp = handler(req, **params)
        except ApiError as exc:
            resp = Response.from_error(exc)
        resp.headers.update(quota_headers)
        if self.config.record_exchanges and template != "(unmatched)":
            self._record(req, resp)
        if req.method != "GET" and self._draw(faults.rate_drop_after):
            self.count("faults.drop_after")
            raise DropConnection
        return resp

    def _check_scopes(self, req: Request) -> None:
        """403 when the operation needs a scope the tokens lack (``denied_scopes``; from the file's security)."""
        denied = set(self.config.faults.denied_scopes)
        validator = shared_validator() if denied else None
        if validator is None:
            return
        operation = validator.raw["paths"].get(req.route.removeprefix("/v2"), {}).get(req.method.lower(), {})
        needed = {scope for entry in operation.get("security") or [] for scopes in entry.values() for scope in scopes}
        missing = sorted(needed & denied)
        if missing:
            self.count("faults.403")
            raise ApiError(403, "Forbidden: insufficient privileges", {"scopes": f"missing {', '.join(missing)}"})

    def _check_request_against_contract(self, req: Request) -> None:
        if not self.config.validate_requests:
            return
        validator = shared_validator()
        embed_problem = validator.embed_errors(req.method, req.path, req.query, req.route) if validator else {}
        if embed_problem:  # Sellsy refuses an embed the operation does not list (the file's enum)
            raise ApiError(400, "Validation failed: an embed is not one this route offers", embed_problem)
        if req.method not in ("POST", "PUT", "PATCH"):
            return
        if req.content_type != "application/json" or not req.body.strip():
            return
        req.json()  # invalid JSON is a 400 of its own
        if validator is None:
            return
        details = validator.request_body_errors(req.method, req.path, req.query, req.headers, req.body)
        if details:
            raise ApiError(400, "Validation failed: the request body does not match the API specification", details)

    def _record(self, req: Request, resp: Response) -> None:
        try:
            request_json = req.json(required=False) if req.content_type == "application/json" else None
        except ApiError:
            request_json = "invalid"
        exchange = Exchange(
            req.method,
            req.path,
            req.route,
            req.query,
            dict(req.headers),
            req.body,
            resp.status,
            dict(resp.headers),
            resp.body,
        )
        self.recorder.record(exchange, request_json, resp.data)

    def now(self) -> str:
        return datetime.now(UTC).replace(microsecond=0).isoformat()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logs (the sandbox counts calls instead)."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Request.build(self.command, self.path, headers, body)
        try:
            resp = self.server.app.handle(req)
        except DropConnection:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        except Exception as exc:  # a sandbox bug must still answer like a server error
            resp = Response.from_error(ApiError(500, f"sandbox internal error: {type(exc).__name__}: {exc}"))
        self.send_response(resp.status)
        for name, value in resp.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve


class _Server(LoopbackServer):
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        super().__init__(address, _Handler)
