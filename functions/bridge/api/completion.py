"""Field-side API of the outbound flows (F5, F2 field → Sellsy).

- ``POST /accounts/{account_id}/interventions/{id}/report-upload-url``: a presigned PUT for one PDF.
- ``POST /accounts/{account_id}/interventions/{id}/complete``: 202, the work happens in the worker.
  Same completion sent again → 202 again (idempotent); a different one → 409 (the first stands).
- ``PATCH /accounts/{account_id}/customers/{id}``: 202; 409 when the account's direction forbids it.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from pydantic import BaseModel, Field

from bridge.adapters import field_repo, reports_store
from bridge.api.app_errors import ApiError, error_responses
from bridge.domain.accounts import ACCOUNT_ID_PATTERN
from bridge.flows.outbound import completion as completion_flow
from bridge.flows.outbound import customer_push
from bridge.flows.outbound.models import CompletionRequest, CustomerChange, UploadUrlRequest

router = Router()
TAGS = ["field"]

AccountId = Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, max_length=64)]
InterventionId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", max_length=128)]
CustomerId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", max_length=128)]


class UploadUrl(BaseModel):
    upload_url: str
    method: str = "PUT"
    headers: dict[str, str] = Field(description="Send exactly these headers with the PUT")
    report_key: str = Field(description="Give this key to /complete as report_key")
    expires_in: int
    max_bytes: int


class CompletionAnswer(BaseModel):
    status: str = "accepted"
    intervention_id: str
    correlation_id: str
    already_completed: bool = Field(description="True when this repeats an earlier identical completion")
    report: str = Field(description="uploaded (report_key given) or generated (the connector renders it)")


class PushAnswer(BaseModel):
    status: str = "accepted"
    customer_id: str
    correlation_id: str


def _correlation_id() -> str:
    headers = router.current_event.headers or {}
    given = headers.get("x-correlation-id") or ""
    return given[:64] if given.replace("-", "").isalnum() else str(uuid.uuid4())


def _not_found(exc: Exception) -> ApiError:
    return ApiError(404, "not_found", str(exc))


@router.post(
    "/accounts/<account_id>/interventions/<intervention_id>/report-upload-url",
    summary="Get a presigned URL to upload the intervention's PDF report",
    tags=TAGS,
    responses=error_responses(400, 401, 404, 422, 500),
)
def report_upload_url(
    account_id: AccountId, intervention_id: InterventionId, body: Annotated[UploadUrlRequest, Body()]
) -> UploadUrl:
    if field_repo.get_intervention(account_id, intervention_id) is None:
        raise ApiError(404, "not_found", f"intervention {intervention_id!r} does not exist in account {account_id!r}")
    try:
        ticket = reports_store.upload_ticket(account_id, intervention_id, size=body.size)
    except reports_store.ReportProblem as exc:
        raise ApiError(400, "report_too_large", str(exc), {"max_bytes": reports_store.MAX_REPORT_BYTES}) from exc
    return UploadUrl(
        upload_url=ticket.url,
        headers=ticket.headers,
        report_key=ticket.key,
        expires_in=ticket.expires_in,
        max_bytes=ticket.max_bytes,
    )


@router.post(
    "/accounts/<account_id>/interventions/<intervention_id>/complete",
    summary="Report an intervention as completed (used items, technician, notes, report)",
    tags=TAGS,
    status_code=202,
    responses=error_responses(400, 401, 404, 409, 422, 500, success=202),
)
def complete_intervention(
    account_id: AccountId, intervention_id: InterventionId, body: Annotated[CompletionRequest, Body()]
) -> CompletionAnswer:
    try:
        accepted = completion_flow.accept_completion(
            account_id, intervention_id, body, correlation_id=_correlation_id()
        )
    except (completion_flow.UnknownAccount, completion_flow.UnknownIntervention) as exc:
        raise _not_found(exc) from exc
    except reports_store.ReportProblem as exc:
        raise ApiError(400, "bad_report", str(exc)) from exc
    except completion_flow.CompletionConflict as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    return CompletionAnswer(
        intervention_id=accepted.intervention_id,
        correlation_id=accepted.correlation_id,
        already_completed=accepted.already_completed,
        report=accepted.report,
    )


@router.patch(
    "/accounts/<account_id>/customers/<customer_id>",
    summary="Change a customer's intervention address or main contact from the field (pushed to Sellsy)",
    tags=TAGS,
    status_code=202,
    responses=error_responses(400, 401, 404, 409, 422, 500, success=202),
)
def patch_customer(
    account_id: AccountId, customer_id: CustomerId, body: Annotated[CustomerChange, Body()]
) -> PushAnswer:
    try:
        accepted = customer_push.accept_customer_change(account_id, customer_id, body, correlation_id=_correlation_id())
    except (completion_flow.UnknownAccount, customer_push.UnknownCustomer) as exc:
        raise _not_found(exc) from exc
    except customer_push.DirectionNotAllowed as exc:
        raise ApiError(409, "direction_not_allowed", str(exc)) from exc
    return PushAnswer(customer_id=accepted.customer_id, correlation_id=accepted.correlation_id)
