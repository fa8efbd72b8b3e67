"""The console's gate, run before every console view (a Powertools route middleware).

1. Public console paths (sign-in, the Cognito callback, static assets) need no session.
2. Any other page needs a valid session cookie; without one a GET is sent to the sign-in page
   (and back afterwards), anything else gets a 401 page.
3. Every POST must come from this console's origin and carry the session's CSRF token.
Errors raised by views become HTML error pages; an unexpected one is logged (masked) and shown as a
500 page with the request id only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from bridge.api.auth import auth_mode
from bridge.console import layout, session
from bridge.console.layout import ConsoleError, ConsoleRequest
from bridge.domain.masking import mask_text
from bridge.observability import logger

PUBLIC_PATHS = frozenset({f"{layout.ROOT}/signin", f"{layout.ROOT}/auth/start", f"{layout.ROOT}/auth/callback"})
PUBLIC_PREFIXES = (f"{layout.ROOT}/static/",)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def load_session(request: ConsoleRequest) -> None:
    try:
        key = session.session_key(auth_mode())
    except session.NoSessionKey:
        return
    request.session = session.decode(request.cookies.get(session.SESSION_COOKIE), key)


def refusal(request: ConsoleRequest) -> Response | None:
    """An answer for a request that may not reach its view, or None."""
    if request.method == "POST" and not session.same_origin(request.origin, request.headers):
        return layout.error_page(request, 403, "error.forbidden_origin")
    if is_public(request.path):
        return None
    if request.session is None:
        if request.method in ("GET", "HEAD"):
            back = request.path_with() if request.query else request.path
            return layout.redirect(f"{layout.ROOT}/signin?next={quote(back, safe='')}")
        return layout.error_page(request, 401, "error.session_ended")
    if request.method == "POST" and not session.csrf_matches(request.session, request.value(session.CSRF_FIELD)):
        return layout.error_page(request, 403, "error.csrf")
    return None


def console_middleware(app: Any, next_middleware: NextMiddleware) -> Response:
    try:
        request = layout.build_request(app.current_event)
    except ConsoleError as exc:
        return Response(status_code=exc.status, content_type="text/plain; charset=utf-8", body="bad request")
    load_session(request)

    def view() -> Response:
        refused = refusal(request)
        if refused is not None:
            return refused
        try:
            return next_middleware(app)
        except ConsoleError as exc:
            return layout.error_page(request, exc.status, exc.message_key, **exc.values)
        except Exception as exc:
            logger.error(
                "unhandled error in console view",
                extra={"error_type": type(exc).__name__, "error": mask_text(str(exc))[:500]},
            )
            return layout.error_page(request, 500, "error.internal", request_id=request.request_id)

    return layout.finish(request, layout.run_view(request, view))


def not_found_page(event: Any, allowed: list[str]) -> Response:
    """The HTML answer for a console path no route serves (405 when other methods exist)."""
    request = layout.build_request(event)
    load_session(request)
    if allowed:
        response = layout.error_page(request, 405, "error.method")
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return layout.error_page(request, 404, "error.not_found")
