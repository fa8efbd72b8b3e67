"""Sign-in and sign-out pages.

Locally (``API_AUTH_MODE=bearer``) the operator pastes the API token; it is compared in constant time
with the stored one and never kept: the session cookie is signed with a key derived from it. In AWS
the sign-in page links to the Cognito hosted UI (see ``session_cognito``).
The sign-in form has no session yet, so it is protected by the origin check and a double-submitted
nonce (a short-lived cookie that the form repeats).
"""

from __future__ import annotations

import hmac
import secrets as token_source

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from bridge.adapters import secrets
from bridge.api.auth import auth_mode
from bridge.console import layout, session
from bridge.console.layout import ConsoleRequest

SIGNIN_NONCE_COOKIE = "console_signin"
SIGNIN_NONCE_SECONDS = 1800
LOCAL_SUBJECT = "operator"


def _nonce_cookie(request: ConsoleRequest, value: str, max_age: int) -> Cookie:
    return Cookie(
        SIGNIN_NONCE_COOKIE,
        value,
        path=f"{layout.ROOT}/signin",
        secure=request.secure,
        http_only=True,
        max_age=max_age,
        same_site=SameSite.STRICT_MODE,
    )


def signin_form(request: ConsoleRequest, *, problem: str | None = None, status: int = 200) -> Response:
    nonce = token_source.token_urlsafe(18)
    request.cookies_to_set.append(_nonce_cookie(request, nonce, SIGNIN_NONCE_SECONDS))
    notice = "signed_out" if request.query.get("signed_out") else None
    return layout.render(
        request,
        "signin.html",
        status=status,
        mode=auth_mode(),
        next=layout.safe_next(request.value("next")),
        signin_nonce=nonce,
        problem=problem,
        notice=notice,
    )


def show_signin(request: ConsoleRequest) -> Response:
    if request.session is not None:
        return layout.redirect(layout.safe_next(request.value("next")))
    return signin_form(request)


def sign_in_with_token(request: ConsoleRequest) -> Response:
    """POST /console/signin (bearer mode): the pasted API token opens a session."""
    if auth_mode() != "bearer":
        raise layout.ConsoleError(404, "error.not_found")
    nonce = request.cookies.get(SIGNIN_NONCE_COOKIE, "")
    if not nonce or not hmac.compare_digest(nonce.encode(), request.value("signin_nonce").encode()):
        return layout.error_page(request, 403, "error.csrf")
    expected = secrets.get_api_token()
    if not expected:
        return signin_form(request, problem=layout_t(request, "signin.no_token"), status=503)
    presented = request.value("token")
    if not presented or not hmac.compare_digest(presented.encode(), expected.encode()):
        return signin_form(request, problem=layout_t(request, "signin.wrong_token"), status=401)
    return open_session(request, LOCAL_SUBJECT, layout.safe_next(request.value("next")))


def open_session(request: ConsoleRequest, subject: str, next_path: str, *, via_page: bool = False) -> Response:
    key = session.session_key(auth_mode())
    opened = session.new_session(subject)
    request.session = opened
    request.cookies_to_set.append(session.session_cookie(session.encode(opened, key), secure=request.secure))
    request.cookies_to_set.append(_nonce_cookie(request, "", 0))
    if via_page:
        return layout.render(request, "continue.html", next=next_path)
    return layout.redirect(next_path)


def sign_out(request: ConsoleRequest) -> Response:
    request.cookies_to_set.append(session.cleared_cookie(session.SESSION_COOKIE, secure=request.secure))
    request.session = None
    if auth_mode() != "bearer":
        from bridge.console.session_cognito import logout_url

        hosted = logout_url(request)
        if hosted:  # ends the hosted UI's own session too, then comes back to the sign-in page
            return layout.redirect(hosted)
    return layout.redirect(f"{layout.ROOT}/signin?signed_out=1")


def layout_t(request: ConsoleRequest, key: str, **values: str) -> str:
    from bridge.console.i18n import translate

    return translate(request.lang, key, **values)
