"""The OAuth2 callback Sellsy redirects to after the user granted access (unauthenticated)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

from bridge.api.app_errors import ApiError, error_responses
from bridge.domain.accounts import AccountStatus
from bridge.flows import accounts as flow
from bridge.sellsy.errors import SellsyError, SellsyUnavailable

router = Router()


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
