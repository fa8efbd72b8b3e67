"""An account's health for operators: ``GET /accounts/{id}/health``."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, Field

from bridge.api.app_errors import error_responses
from bridge.domain.accounts import ACCOUNT_ID_PATTERN
from bridge.flows.health import account_health

router = Router()

AccountId = Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, max_length=64)]


class LastWebhook(BaseModel):
    exchange_id: str
    at: str | None = Field(description="When the delivery was received")
    sellsy_type: str | None = None
    sellsy_id: str | None = None


class LastImport(BaseModel):
    run_id: str
    status: str = Field(description="running, done, quota_reserve_reached, needs_reconnect or failed")
    started_at: str
    finished_at: str | None = None
    error: dict[str, Any] | None = None


class WebhookState(BaseModel):
    registered: bool = Field(description="A webhook of ours is registered in Sellsy")
    sellsy_webhook_id: int | None = None
    signing_key_set: bool = Field(description="Without a signing key every delivery is refused (401)")


class QuotaFigures(BaseModel):
    remaining: dict[str, int | None] = Field(description="Calls left per window (second, minute, day, month)")
    at: str = Field(description="When Sellsy answered these figures")


class AccountHealth(BaseModel):
    account_id: str
    status: str
    checked_at: str
    last_webhook: LastWebhook | None
    last_import: LastImport | None
    last_successful_import_at: str | None
    failures_24h: int = Field(description="Failed exchanges in the last 24 hours")
    failures_24h_capped: bool = Field(description="True when there were more than could be counted")
    quota: QuotaFigures | None = Field(description="The latest quota figures Sellsy answered for the account")
    webhook: WebhookState
    problems: list[str] = Field(description="What needs attention, in words; empty when all is well")
    issues: list[dict[str, Any]] = Field(
        description="The same as codes with their values: not_active (status, reason), no_webhook, no_signing_key, "
        "last_import (status), import_overdue, failures (count)"
    )


@router.get(
    "/accounts/<account_id>/health",
    summary="Health of an account: last webhook, last import, failures in 24 h, quota left, webhook state",
    tags=["accounts"],
    responses=error_responses(),
)
def get_health(account_id: AccountId) -> AccountHealth:
    return AccountHealth.model_validate(account_health(account_id))
