"""Sellsy's OpenAPI file as a validator (openapi-core), host-independent; shared by the sandbox and tests.

- `ContractValidator.validate_exchange(...)`: problems in one exchange (request when accepted, response
  against the operation's schema, errors against the spec's `Error` schema).
- `ContractValidator.request_body_errors(...)` and `embed_errors(...)`: what the sandbox answers as 400
  details when a request body, or an `embed[]` value, breaks the file (where the sandbox and the file
  disagree, the file wins).
The file is parsed once per process (`shared_validator()`); None when the file is absent.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_schema_validator import OAS30Validator
from werkzeug.datastructures import Headers, ImmutableMultiDict

HOST = "http://sandbox.invalid"
REPO = Path(__file__).resolve().parents[3]
DEFAULT_SPEC = REPO.parent / "shared" / "sellsy-openapi" / "sellsy-openapi-v2.264.0.yaml"
ERROR_REQUIRED = ("code", "message", "context", "details")
_LOAD_LOCK = threading.Lock()
# Sellsy's file declares OAuth2 security, which openapi-core cannot check and warns about on every request (the
# sandbox checks tokens itself). One filter for the process: `warnings.catch_warnings()` around each call is not
# thread-safe, and with requests served on many threads it let the warning out. (pytest resets filters per test:
# pyproject.toml carries the same filter for the suite.)
warnings.filterwarnings("ignore", message="Unsupported scheme type", category=UserWarning)


def spec_path() -> Path:
    return Path(os.environ.get("SELLSY_OPENAPI", str(DEFAULT_SPEC)))


class _Request:
    """openapi-core request protocol over a recorded exchange (host replaced, path kept)."""

    def __init__(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> None:
        self.method = method.lower()
        self.host_url = HOST
        self.path = path
        self.full_url_pattern = HOST + path
        # Sellsy's clients send arrays PHP style (`embed[]=a`); the file names the parameter `embed`, and
        # openapi-core ignores a key it does not know, so `embed[]` was never checked against the file.
        pairs = [(key.removesuffix("[]"), value) for key, values in query.items() for value in values]
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(pairs), header=Headers(headers), cookie=ImmutableMultiDict(), path={}
        )
        self.content_type = headers.get("content-type") or headers.get("Content-Type") or "application/json"
        self.body = body or None


class _Response:
    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.status_code = status
        self.data = body
        self.headers = Headers(headers)
        self.content_type = self.headers.get("Content-Type", "application/json")


class ContractValidator:
    def __init__(self, path: Path) -> None:
        with path.open("rb") as handle:
            spec = yaml.load(handle, Loader=yaml.CSafeLoader)
        self.raw = spec
        spec = copy.copy(spec)
        spec["servers"] = [{"url": f"{HOST}/v2"}]
        self.loosened = _loosen_allof_additional_properties(spec)
        self.merged_overrides = _merge_allof_overrides(spec)
        _overlapping_invoice_branches_as_anyof(spec)
        self.api = OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))
        self.error_validator = OAS30Validator(spec["components"]["schemas"]["Error"])
        self._cache: dict[Any, list[str]] = {}
        self._body_cache: dict[tuple[str, str, bytes], dict[str, str]] = {}
        self._embed_cache: dict[tuple[str, str, tuple[str, ...]], str] = {}  # (method, operation, values)

    def _documented(self, method: str, route: str) -> bool:
        template = route.removeprefix("/v2")
        operation = self.raw["paths"].get(template, {})
        return method.lower() in operation

    def validate_exchange(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]] | None,
        headers: dict[str, str] | None,
        body: bytes | None,
        status: int,
        resp_headers: dict[str, str] | None,
        resp_body: bytes | None,
        route: str | None = None,
    ) -> list[str]:
        """Problems found in one exchange (empty list = conforming)."""
        query = query or {}
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        resp_headers = resp_headers or {}
        key = (method, path, json.dumps(query, sort_keys=True), body, status, resp_body)
        if key in self._cache:
            return self._cache[key]
        problems: list[str] = []
        if route and not self._documented(method, route):
            problems.append(f"route: {method} {route} is not in the OpenAPI file")
        request = _Request(method, path, query, headers, body or b"")
        if status < 400 and route != "(unmatched)":
            problems.extend(f"request: {p}" for p in self._request_problems(request, headers))
        found = self._response_problems(request, status, resp_headers, resp_body)
        problems.extend(f"response: {p}" for p in found)
        self._cache[key] = problems
        return problems

    def request_body_errors(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> dict[str, str]:
        """Body violations of a JSON request as `{location: message}` (empty when it conforms).

        Cached by (method, path, body): loops re-send the same search body with another offset.
        """

        def compute() -> dict[str, str]:
            request = _Request(method, path, query, {k.lower(): v for k, v in headers.items()}, body)
            details: dict[str, str] = {}
            for error in self._unmarshal(request).errors:
                if type(error).__name__ not in ("InvalidRequestBody", "RequestBodyValidationError"):
                    continue
                for message in _describe(error).split(" | ")[1:] or [str(error)]:
                    where, _, text = message.partition(": ")
                    details.setdefault(where or "body", text or message)
            return details

        return dict(_remembered(self._body_cache, (method, path, body), compute))

    def embed_errors(
        self, method: str, path: str, query: dict[str, list[str]], route: str | None = None
    ) -> dict[str, str]:
        """`{"embed": message}` when an `embed[]` value is not one the file lists for this operation.

        Cached by operation (``route``, the matched template, when given) and values: a read of every
        document sends the same embeds with another id.
        """
        embeds = tuple(value for key, values in query.items() if key.removesuffix("[]") == "embed" for value in values)
        if not embeds:
            return {}

        def compute() -> str:
            result = self._unmarshal(_Request(method, path, {"embed": list(embeds)}, {}, b""))
            found = (_describe(e).split(" | ")[1] for e in result.errors if getattr(e, "name", None) == "embed")
            return next(found, "")

        problem = _remembered(self._embed_cache, (method, route or path, embeds), compute)
        return {"embed": problem.partition(": ")[2] or problem} if problem else {}

    def _unmarshal(self, request: _Request) -> Any:
        return self.api.unmarshal_request(request)

    def _request_problems(self, request: _Request, headers: dict[str, str]) -> list[str]:
        if request.content_type.startswith("multipart/form-data"):
            return self._multipart_problems(request)
        result = self._unmarshal(request)
        problems = []
        for error in result.errors:
            if type(error).__name__ in ("SecurityValidationError", "SecurityNotFound", "InvalidSecurity"):
                continue
            problems.append(_describe(error))
        return problems

    @staticmethod
    def _multipart_problems(request: _Request) -> list[str]:
        if request.body is None:  # body too large to be kept by the recorder: nothing to check
            return []
        if b'name="file"' not in request.body:
            return ["multipart body has no `file` part"]
        return []

    def _response_problems(
        self, request: _Request, status: int, headers: dict[str, str], body: bytes | None
    ) -> list[str]:
        if status >= 400:
            return self._error_problems(status, body)
        if "field" in request.parameters.query:
            # field[] deliberately drops fields (even required ones), as Sellsy does: check JSON only.
            try:
                json.loads(body or b"null")
            except ValueError:
                return ["field[] answer is not JSON"]
            return []
        # Validation only: unmarshalling a page of 100 documents as well costs ~18x more, and finds nothing more.
        errors = list(self.api.iter_apicall_response_errors(request, _Response(status, body or b"", headers)))
        return [_describe(error) for error in errors]

    def _error_problems(self, status: int, body: bytes | None) -> list[str]:
        try:
            document = json.loads(body or b"")
        except ValueError:
            return [f"error {status} body is not JSON"]
        problems = [str(e.message) for e in self.error_validator.iter_errors(document)]
        error = document.get("error") if isinstance(document, dict) else None
        if not isinstance(error, dict):
            return [*problems, "error body has no `error` object"]
        problems += [f"error.{name} missing" for name in ERROR_REQUIRED if name not in error]
        if error.get("code") != status:
            problems.append(f"error.code {error.get('code')} differs from HTTP status {status}")
        return problems


def _loosen_allof_additional_properties(node: Any) -> int:
    """Known defect of the file: `additionalProperties: false` beside `allOf` with no sibling `properties`.

    Under JSON Schema rules such a node rejects every property (its own `properties` list is empty),
    so no real Sellsy object could conform; the authoring tool meant "only the allOf properties".
    We drop that one keyword on those nodes (the branches keep their own checks). Returns the count.
    """
    count = 0
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            if current.get("additionalProperties") is False and "allOf" in current and "properties" not in current:
                del current["additionalProperties"]
                count += 1
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return count


def _overlapping_invoice_branches_as_anyof(spec: dict[str, Any]) -> None:
    """Third known defect: `InvoiceOrProgressInvoiceOne` is a `oneOf` of a plain invoice and a progress
    invoice that share the invoice head, so an invoice whose rows fit both branches (no rows, say) is valid
    under both and fails `oneOf`, though it is a plain invoice. The authoring tool meant "one of these
    shapes", which is `anyOf`."""
    schema = spec["components"]["schemas"].get("InvoiceOrProgressInvoiceOne")
    if isinstance(schema, dict) and "oneOf" in schema:
        schema["anyOf"] = schema.pop("oneOf")


def _merge_allof_overrides(spec: dict[str, Any]) -> int:
    """Second known defect: progress-invoice rows are `allOf: [{type: progress-*, extra fields}, $ref plain row]`
    where the plain row has `additionalProperties: false` and `type: [single]`, so no progress row could
    conform. The authoring tool meant "the plain row's fields, with these overriding". Such nodes become
    one schema: the referenced row with the first branch's properties laid over. Returns the count."""

    def resolve(ref: str) -> Any:
        node: Any = spec
        for part in ref.removeprefix("#/").split("/"):
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    count = 0
    stack: list[Any] = [spec]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            branches = current.get("allOf")
            if (
                isinstance(branches, list)
                and len(branches) == 2
                and isinstance(branches[0], dict)
                and "type" in (branches[0].get("properties") or {})
                and isinstance(branches[1], dict)
                and set(branches[1]) == {"$ref"}
            ):
                base = resolve(branches[1]["$ref"])
                if (
                    isinstance(base, dict)
                    and base.get("additionalProperties") is False
                    and "type" in (base.get("properties") or {})
                ):
                    merged = copy.deepcopy(base)
                    merged["properties"] = {**merged["properties"], **branches[0]["properties"]}
                    del current["allOf"]
                    current.update(merged)
                    count += 1
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return count


def _describe(error: Exception) -> str:
    """Short, located messages: the deepest schema errors (inside anyOf/oneOf branches too)."""
    parts = [type(error).__name__]
    cause = error.__cause__
    while cause is not None and len(parts) < 12:
        for schema_error in list(getattr(cause, "schema_errors", None) or [])[:4]:
            parts.extend(_leaf_messages(schema_error))
        cause = cause.__cause__
    return " | ".join(parts)[:1500]


def _leaf_messages(error: Any, depth: int = 0) -> list[str]:
    if error.context and depth < 4:
        best = sorted(error.context, key=lambda e: len(list(e.absolute_path)), reverse=True)[:3]
        return [m for sub in best for m in _leaf_messages(sub, depth + 1)]
    where = "/".join(map(str, error.absolute_path)) or "(body)"
    return [f"{where}: {str(error.message)[:200]}"]


CACHE_ITEMS = 2048  # per cache: a long run forgets and starts again rather than grow without end


def _remembered(cache: dict[Any, Any], key: Any, compute: Any) -> Any:
    """``cache[key]``, computed once; a full cache is emptied first."""
    if key not in cache:
        if len(cache) >= CACHE_ITEMS:
            cache.clear()
        cache[key] = compute()
    return cache[key]


@functools.cache
def _load(path: str) -> ContractValidator | None:
    if not Path(path).exists():
        return None
    return ContractValidator(Path(path))


def shared_validator() -> ContractValidator | None:
    """The validator for the file at `spec_path()`, parsed once per process (thread-safe)."""
    with _LOAD_LOCK:
        return _load(str(spec_path()))
