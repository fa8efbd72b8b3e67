"""The OAuth2 callback Sellsy redirects to after the user granted access (unauthenticated).

A browser (``Accept: text/html``: an operator who connected from the console) gets a page with the
outcome and a link back into the console; any other caller gets the JSON answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

from bridge.api.app_errors import ApiError, error_responses
from bridge.domain.accounts import AccountStatus
from bridge.flows import accounts as flow
from bridge.sellsy.errors import SellsyError, SellsyUnavailable

router = Router()


class BrowserAnswer(Exception):
    """Carries the HTML page for a browser out of the route (the route's model describes the JSON)."""

    def __init__(self, page: Response[Any]) -> None:
        super().__init__("browser answer")
        self.page = page


@router.exception_handler(BrowserAnswer)
def _browser_answer(exc: BrowserAnswer) -> Response[Any]:
    return exc.page


def _wants_html() -> bool:
    headers = {k.lower(): str(v) for k, v in (router.current_event.headers or {}).items()}
    return "text/html" in headers.get("accept", "")


class CallbackAnswer(BaseModel):
    account_id: str
    status: AccountStatus
    message: str


@router.get(
    "/oauth/callback",
    summary="OAuth2 callback (authorization code + PKCE)",
    description="Public: `state` identifies the pending connection; the code is exchanged once.",
    tags=["accounts"],
    security=[{}],
    responses=error_responses(400, 422, 500, 502, 503),
)
def oauth_callback(
    state: Annotated[str | None, Query(max_length=300)] = None,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    error_description: Annotated[str | None, Query(max_length=1000)] = None,
) -> CallbackAnswer:
    if not _wants_html():
        return _complete(state, code, error, error_description)
    from bridge.console.accounts import oauth_result_page

    account_id = (state or "").partition(".")[0] or None
    try:
        answer = _complete(state, code, error, error_description)
    except ApiError as exc:
        raise BrowserAnswer(
            oauth_result_page(router.current_event, account_id=account_id, problem=exc.message)
        ) from exc
    raise BrowserAnswer(oauth_result_page(router.current_event, account_id=answer.account_id, problem=None))


def _complete(state: str | None, code: str | None, error: str | None, error_description: str | None) -> CallbackAnswer:
    if error:
        raise ApiError(400, "authorization_denied", f"Sellsy did not grant access: {error_description or error}")
    if not state or not code:
        raise ApiError(400, "missing_parameter", "the callback needs both 'code' and 'state'")
    try:
        account = flow.complete_authorization(state, code)
    except flow.BadState as exc:
        raise ApiError(400, "bad_state", str(exc)) from exc
    except flow.ConnectionRefused as exc:
        raise ApiError(400, "connection_refused", str(exc)) from exc
    except SellsyUnavailable as exc:
        raise ApiError(503, "sellsy_unavailable", "Sellsy could not be reached; start again later") from exc
    except SellsyError as exc:
        raise ApiError(502, "sellsy_error", f"Sellsy answered unexpectedly: {exc.message}") from exc
    return CallbackAnswer(account_id=account.id, status=account.status, message="connected to Sellsy")
