"""The console's frame: the request as views see it, Jinja2 rendering in the base layout, static
assets, redirects and error pages in HTML.

Views never parse API Gateway events: ``console_middleware`` (a Powertools route middleware) builds a
``ConsoleRequest`` (language, session, parsed form), signs the caller in or sends them to the sign-in
page, checks the origin and CSRF token of every POST, and turns errors into HTML pages.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bridge.console import i18n, session
from bridge.settings import get_settings

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
ROOT = "/console"
HTML = "text/html; charset=utf-8"
MAX_FORM_FIELDS = 200

# Pages are built from our own templates, styles and script only; no frame may embed the console.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

NAV = (
    ("accounts", "nav.accounts", f"{ROOT}/accounts"),
    ("exchanges", "nav.exchanges", f"{ROOT}/exchanges"),
    ("interventions", "nav.interventions", f"{ROOT}/interventions"),
    ("imports", "nav.imports", f"{ROOT}/imports"),
)


class ConsoleError(Exception):
    """Raised by a view to answer with an HTML error page (message is a catalogue key)."""

    def __init__(self, status: int, message_key: str, **values: Any) -> None:
        super().__init__(message_key)
        self.status = status
        self.message_key = message_key
        self.values = values


@dataclass
class ConsoleRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    cookies: dict[str, str]
    form: dict[str, list[str]]
    origin: str
    lang: str
    request_id: str
    session: session.Session | None = None
    cookies_to_set: list[Cookie] = field(default_factory=list)

    @property
    def secure(self) -> bool:
        return self.origin.startswith("https://")

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token if self.session else ""

    def value(self, name: str, default: str = "") -> str:
        """A form field (last value), stripped; else the query parameter; else ``default``."""
        values = self.form.get(name)
        if values:
            return values[-1].strip()
        return self.query.get(name, default).strip()

    def values(self, name: str) -> list[str]:
        return [v.strip() for v in self.form.get(name, [])]

    def path_with(self, **params: str) -> str:
        """This page's path with query parameters replaced (for language links, paging)."""
        merged = {**self.query, **params}
        return f"{self.path}?{urlencode(merged)}" if merged else self.path


_current: ContextVar[ConsoleRequest | None] = ContextVar("console_request", default=None)


def current_request() -> ConsoleRequest:
    request = _current.get()
    if request is None:
        raise RuntimeError("no console request: the route lacks console_middleware")
    return request


def request_origin(headers: dict[str, str], domain_name: str | None) -> str:
    """This console's own origin (``scheme://host``): the configured public URL, else what the browser used."""
    configured = get_settings().public_api_url
    if configured:
        parts = urlsplit(configured)
        return f"{parts.scheme}://{parts.netloc}"
    host = headers.get("host") or domain_name or "localhost"
    local = host.startswith(("127.0.0.1", "localhost", "[::1]"))
    scheme = headers.get("x-forwarded-proto") or ("http" if local else "https")
    return f"{scheme}://{host}"


def _cookies(raw: list[str] | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in raw or []:
        name, _, value = item.strip().partition("=")
        if name and name not in found:  # the most specific path comes first
            found[name] = value
    return found


def build_request(event: Any) -> ConsoleRequest:
    """A ``ConsoleRequest`` from Powertools' HTTP API event (no session yet: the middleware adds it)."""
    headers = {k.lower(): str(v) for k, v in (event.headers or {}).items()}
    cookies = _cookies(event.cookies)
    query = {k: str(v) for k, v in (event.query_string_parameters or {}).items()}
    form: dict[str, list[str]] = {}
    method = event.request_context.http.method.upper()
    if method == "POST" and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        try:
            form = parse_qs(event.decoded_body or "", keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
        except ValueError as exc:
            raise ConsoleError(400, "error.bad_request") from exc
    return ConsoleRequest(
        method=method,
        path=event.raw_path or event.path,
        query=query,
        headers=headers,
        cookies=cookies,
        form=form,
        origin=request_origin(headers, event.request_context.domain_name),
        lang=i18n.choose_language(query.get("lang"), cookies.get(i18n.LANG_COOKIE), headers.get("accept-language")),
        request_id=event.request_context.request_id,
    )


# ---------------------------------------------------------------- static assets


@cache
def static_files() -> dict[str, tuple[bytes, str]]:
    """Every committed asset: name → (content, version hash). Only these names are ever served."""
    return {
        path.name: (path.read_bytes(), hashlib.sha256(path.read_bytes()).hexdigest()[:16])
        for path in sorted(STATIC_DIR.iterdir())
        if path.is_file() and path.suffix in {".css", ".js", ".svg", ".png"}
    }


def static_url(name: str) -> str:
    """The asset's URL with its content hash: a new version is a new URL, so browsers may cache for a year."""
    return f"{ROOT}/static/{quote(name)}?v={static_files()[name][1]}"


def static_response(name: str, version: str | None, if_none_match: str | None) -> Response:
    found = static_files().get(name)
    if found is None:
        raise ConsoleError(404, "error.not_found")
    content, digest = found
    etag = f'"{digest}"'
    cache_control = "public, max-age=31536000, immutable" if version == digest else "public, max-age=300"
    headers = {"Cache-Control": cache_control, "ETag": etag, "X-Content-Type-Options": "nosniff"}
    if if_none_match and etag in [tag.strip() for tag in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers, body="")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type.endswith("javascript"):
        content_type += "; charset=utf-8"
    return Response(status_code=200, content_type=content_type, body=content.decode("utf-8"), headers=headers)


# ---------------------------------------------------------------- rendering


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,  # a misspelt variable fails in tests instead of rendering blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(static_url=static_url, nav=NAV, root=ROOT, languages=i18n.LANGUAGES)
    env.filters["when"] = format_moment
    return env


def format_moment(value: Any, pattern: str = "%Y-%m-%d %H:%M UTC") -> str:
    """A timestamp as operators read it, in UTC to the minute unless ``pattern`` says otherwise (ISO text or
    datetime, a naive one taken as UTC; blank stays blank, text that is no time is shown as it is)."""
    from datetime import UTC, datetime

    if not value:
        return ""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(pattern)


def add_template_globals(**values: Any) -> None:
    """Filters and helpers other console modules offer their templates (e.g. status labels)."""
    environment().globals.update(values)


def render(request: ConsoleRequest, template: str, *, status: int = 200, **context: Any) -> Response:
    """The template rendered in the request's language inside the base layout, as an HTML response."""

    def t(key: str, **values: Any) -> str:
        return i18n.translate(request.lang, key, **values)

    body = (
        environment()
        .get_template(template)
        .render(
            request=request,
            lang=request.lang,
            t=t,
            csrf_field=session.CSRF_FIELD,
            csrf_token=request.csrf_token,
            section=context.pop("section", None),
            **context,
        )
    )
    return Response(
        status_code=status, content_type=HTML, body=body, headers={"Cache-Control": "no-store", **SECURITY_HEADERS}
    )


def redirect(location: str, *, status: int = 303) -> Response:
    """See Other after a POST (the browser then GETs ``location``); ``location`` is always ours."""
    return Response(status_code=status, headers={"Location": location, "Cache-Control": "no-store"}, body="")


def safe_next(target: str | None) -> str:
    """A return address after sign-in: only a console path of this site (no open redirect)."""
    if target and target.startswith(f"{ROOT}/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return f"{ROOT}/accounts"


def error_page(request: ConsoleRequest, status: int, message_key: str, **values: Any) -> Response:
    return render(request, "error.html", status=status, status_code=status, message_key=message_key, values=values)


def language_cookie(request: ConsoleRequest) -> Cookie | None:
    """Remember an explicit ``?lang=`` choice for the next pages."""
    chosen = i18n.supported(request.query.get("lang"))
    if not chosen or request.cookies.get(i18n.LANG_COOKIE) == chosen:
        return None
    return Cookie(
        i18n.LANG_COOKIE,
        chosen,
        path=ROOT,
        secure=request.secure,
        http_only=True,
        max_age=365 * 86400,
        same_site=SameSite.LAX_MODE,
    )


def finish(request: ConsoleRequest, response: Response) -> Response:
    cookie = language_cookie(request)
    response.cookies.extend([*request.cookies_to_set, *([cookie] if cookie else [])])
    return response


def run_view(request: ConsoleRequest, view: Callable[[], Response]) -> Response:
    token = _current.set(request)
    try:
        return view()
    finally:
        _current.reset(token)
