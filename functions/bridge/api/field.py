"""Field-side read API (F3/F2): interventions and field customers of one account.

- ``GET /accounts/{account_id}/interventions?status=&customer=&created_from=&created_to=&newest_first=&limit=&cursor=``:
  oldest first per status unless ``newest_first``.
- ``GET /accounts/{account_id}/interventions/{id}``
- ``GET /accounts/{account_id}/customers/{id}``
Authentication happens before routing (``handlers.api``); writes live in ``api/completion.py``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel

from bridge.adapters import accounts_repo, field_repo
from bridge.api.app_errors import ApiError, error_responses
from bridge.domain.accounts import ACCOUNT_ID_PATTERN
from bridge.domain.interventions import FieldCustomer, Intervention, InterventionStatus

router = Router()
TAGS = ["field"]

AccountId = Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, max_length=64)]
ItemId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", max_length=128)]


class InterventionPage(BaseModel):
    items: list[Intervention]
    next_cursor: str | None = None


@router.get(
    "/accounts/<account_id>/interventions",
    summary="List interventions, optionally by status",
    tags=TAGS,
    responses=error_responses(400, 401, 404, 422, 500),
)
def list_interventions(
    account_id: AccountId,
    status: Annotated[InterventionStatus | None, Query(description="new, scheduled, in_progress, ...")] = None,
    customer: Annotated[
        str | None, Query(min_length=1, max_length=128, description="Field customer id, or part of its name")
    ] = None,
    created_from: Annotated[date | None, Query(description="Created on or after this UTC day")] = None,
    created_to: Annotated[date | None, Query(description="Created on or before this UTC day")] = None,
    newest_first: Annotated[bool, Query()] = False,
    limit: Annotated[int, Query(ge=1, le=field_repo.MAX_LIST_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> InterventionPage:
    accounts_repo.require_account(account_id)
    try:
        items, next_cursor = field_repo.list_interventions(
            account_id,
            status=status,
            limit=limit,
            cursor=cursor,
            customer=customer,
            created_from=created_from,
            created_to=created_to,
            newest_first=newest_first,
        )
    except ValueError as exc:
        raise ApiError(400, "bad_cursor", str(exc)) from exc
    return InterventionPage(items=items, next_cursor=next_cursor)


@router.get(
    "/accounts/<account_id>/interventions/<intervention_id>",
    summary="Read one intervention",
    tags=TAGS,
    responses=error_responses(401, 404, 422, 500),
)
def get_intervention(account_id: AccountId, intervention_id: ItemId) -> Intervention:
    intervention = field_repo.get_intervention(account_id, intervention_id)
    if intervention is None:
        accounts_repo.require_account(account_id)
        raise ApiError(404, "not_found", f"intervention {intervention_id!r} does not exist in account {account_id!r}")
    return intervention


@router.get(
    "/accounts/<account_id>/customers/<customer_id>",
    summary="Read one field-side customer",
    tags=TAGS,
    responses=error_responses(401, 404, 422, 500),
)
def get_customer(account_id: AccountId, customer_id: ItemId) -> FieldCustomer:
    customer = field_repo.get_customer(account_id, customer_id)
    if customer is None:
        accounts_repo.require_account(account_id)
        raise ApiError(404, "not_found", f"customer {customer_id!r} does not exist in account {account_id!r}")
    return customer
