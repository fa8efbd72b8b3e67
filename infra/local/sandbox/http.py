"""Minimal HTTP layer of the sandbox: request/response objects, routing, Sellsy-shaped errors.

A stdlib threaded server is enough (and light); werkzeug's router gives templated routes so call
counters and recorded exchanges are keyed by the OpenAPI path template.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

JSON_TYPE = "application/json"


class ApiError(Exception):
    """An error answered in Sellsy's shape: {"error": {"code", "message", "context", "details"}}."""

    def __init__(
        self,
        status: int,
        message: str,
        details: dict[str, Any] | None = None,
        context: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or {}
        self.context = context
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.status,
                "message": self.message,
                "context": self.context,
                "details": self.details,
            }
        }


def bad_request(message: str, **details: Any) -> ApiError:
    return ApiError(400, message, details)


def not_found(kind: str, object_id: Any) -> ApiError:
    return ApiError(404, f"{kind} {object_id} not found", {"id": f"no {kind} with id {object_id}"})


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    raw_query: str = ""
    path_params: dict[str, Any] = field(default_factory=dict)
    route: str = ""
    auth: Any = None
    _json: Any = None
    _json_parsed: bool = False

    @classmethod
    def build(cls, method: str, target: str, headers: dict[str, str], body: bytes) -> Request:
        path, _, raw_query = target.partition("?")
        query: dict[str, list[str]] = {}
        for key, values in parse_qs(raw_query, keep_blank_values=True).items():
            # Sellsy (PHP style) uses `embed[]=a&embed[]=b`; plain repeated keys are accepted too.
            name = key[:-2] if key.endswith("[]") else key
            query.setdefault(name, []).extend(values)
        return cls(method.upper(), path, query, headers, body, raw_query)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        return list(self.query.get(name, []))

    def json(self, *, required: bool = True) -> Any:
        if not self._json_parsed:
            self._json_parsed = True
            if not self.body.strip():
                self._json = None
            else:
                try:
                    self._json = json.loads(self.body)
                except (ValueError, UnicodeDecodeError) as exc:
                    raise bad_request("Request body is not valid JSON", body=str(exc)) from exc
        if self._json is None and required:
            raise bad_request("A JSON request body is required", body="missing")
        return self._json

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise bad_request("Request body must be a JSON object", body="expected an object")
        return data

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[-1] for key, values in parsed.items()}


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    data: Any = None  # the JSON document before encoding, kept for exchange recording

    @classmethod
    def json(cls, status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
        encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        return cls(status, encoded, {"Content-Type": JSON_TYPE, **(headers or {})}, data)

    @classmethod
    def empty(cls, status: int = 204) -> Response:
        return cls(status, b"", {})

    @classmethod
    def from_error(cls, error: ApiError) -> Response:
        return cls.json(error.status, error.body(), error.headers)


Handler = Callable[..., Response]


class Router:
    """Routes written as OpenAPI templates (`/v2/companies/{id}`); ids are integers like Sellsy's."""

    def __init__(self) -> None:
        self._rules: list[Rule] = []
        self._handlers: dict[tuple[str, str], Handler] = {}
        self._map: Map | None = None

    def add(self, method: str, template: str, handler: Handler, *, str_params: tuple[str, ...] = ()) -> None:
        werkzeug_path = template
        for part in template.split("/"):
            if part.startswith("{") and part.endswith("}"):
                name = part[1:-1]
                converter = "string" if name in str_params else "int"
                werkzeug_path = werkzeug_path.replace(part, f"<{converter}:{name}>")
        key = (method.upper(), template)
        if key in self._handlers:
            raise ValueError(f"route registered twice: {key}")
        self._handlers[key] = handler
        self._rules.append(Rule(werkzeug_path, endpoint=template, methods=[method.upper()]))
        self._map = None

    def route(self, method: str, template: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add(method, template, handler, **kwargs)
            return handler

        return register

    def match(self, method: str, path: str) -> tuple[Handler, str, dict[str, Any]]:
        if self._map is None:
            self._map = Map([Rule(r.rule, endpoint=r.endpoint, methods=r.methods) for r in self._rules])
        adapter = self._map.bind("sandbox")
        try:
            template, params = adapter.match(path, method=method)
        except MethodNotAllowed as exc:
            raise ApiError(405, f"Method {method} not allowed on {path}") from exc
        except NotFound as exc:
            raise ApiError(404, f"No route {method} {path}") from exc
        return self._handlers[(method, str(template))], str(template), dict(params)

    def templates(self) -> list[tuple[str, str]]:
        return sorted(self._handlers)
