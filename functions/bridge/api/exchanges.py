"""The exchange log (F7): browse, read one, replay a failed one, replay every failure since a time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from bridge.adapters import accounts_repo
from bridge.api.app_errors import ApiError, error_responses
from bridge.domain.accounts import ACCOUNT_ID_PATTERN
from bridge.flows import exchange_log
from bridge.flows.exchange_log import Direction, ExchangeRecord, Status
from bridge.flows.replay import BULK_REPLAY_MAX, plan_failure_replay, replay_exchange, replay_failures

router = Router()
TAGS = ["exchanges"]

AccountId = Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, max_length=64)]
ExchangeId = Annotated[str, Path(pattern=r"^\d{8}T\d{12}Z-[0-9a-f]{8}$", description="Id of an exchange")]


class ExchangePage(BaseModel):
    items: list[ExchangeRecord]
    next_cursor: str | None = None


class ReplayAccepted(BaseModel):
    exchange_id: str
    replay_of: str
    delivery_id: str
    correlation_id: str
    already_replayed: bool = Field(
        default=False, description="true: this exchange was replayed before; nothing was enqueued again"
    )
    link: str


class FailureReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: datetime = Field(description="ISO 8601 date-time with a time zone: failures from then on")
    until: datetime | None = Field(default=None, description="ISO 8601 date-time with a time zone (default: now)")
    dry_run: bool = Field(default=False, description="true: say what would be replayed, replay nothing")


class SkippedFailure(BaseModel):
    exchange_id: str
    reason: str = Field(description="fixed (a later success), already_replayed or not_replayable")
    detail: str


class FailureReplayAnswer(BaseModel):
    dry_run: bool
    replayed: list[str] = Field(description="Ids of the failed exchanges replayed (or, dry run, to replay)")
    replay_exchanges: list[str] = Field(description="Ids of the replay_requested exchanges (none in a dry run)")
    skipped: list[SkippedFailure]
    more: bool = Field(description=f"true: more than {BULK_REPLAY_MAX} to replay; ask again for the rest")


@router.get(
    "/accounts/<account_id>/exchanges",
    summary="List exchanges, newest first",
    tags=TAGS,
    responses=error_responses(),
)
def list_exchanges(
    account_id: AccountId,
    status: Annotated[Status | None, Query()] = None,
    direction: Annotated[Direction | None, Query()] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    sellsy_type: Annotated[str | None, Query(max_length=64)] = None,
    sellsy_id: Annotated[str | None, Query(max_length=64)] = None,
    field_id: Annotated[str | None, Query(max_length=128)] = None,
    since: Annotated[datetime | None, Query(description="ISO 8601 date-time")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601 date-time")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> ExchangePage:
    accounts_repo.require_account(account_id)
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise ApiError(400, "bad_time", f"{name} needs a time zone (e.g. 2026-11-21T10:00:00Z)")
    try:
        items, next_cursor = exchange_log.list_exchanges(
            account_id,
            status=status,
            direction=direction,
            kind=kind,
            sellsy_type=sellsy_type,
            sellsy_id=sellsy_id,
            field_id=field_id,
            since=since,
            until=until,
            limit=limit,
            cursor=cursor,
        )
    except ValueError as exc:
        raise ApiError(400, "bad_cursor", str(exc)) from exc
    return ExchangePage(items=items, next_cursor=next_cursor)


@router.get(
    "/accounts/<account_id>/exchanges/<exchange_id>",
    summary="Read one exchange",
    tags=TAGS,
    responses=error_responses(),
)
def get_exchange(account_id: AccountId, exchange_id: ExchangeId) -> ExchangeRecord:
    record = exchange_log.get_exchange(account_id, exchange_id)
    if record is None:
        raise ApiError(404, "not_found", f"exchange {exchange_id!r} does not exist for account {account_id!r}")
    return record


@router.post(
    "/accounts/<account_id>/exchanges/<exchange_id>/replay",
    summary="Replay a failed exchange through the normal path",
    description=(
        "202 with the new exchange; 200 with `already_replayed: true` and nothing enqueued when the exchange was "
        "replayed before; 409 unless the exchange failed and carries its work message."
    ),
    tags=TAGS,
    status_code=202,
    responses={
        **error_responses(success=202),
        200: {
            "description": "Replayed before: nothing enqueued again",
            "content": {"application/json": {"model": ReplayAccepted}},
        },
    },
)
def replay(account_id: AccountId, exchange_id: ExchangeId) -> Response[ReplayAccepted]:
    done = replay_exchange(account_id, exchange_id)
    link = f"/accounts/{account_id}/exchanges/{done.exchange_id or exchange_id}"
    return Response(
        status_code=200 if done.already_replayed else 202,
        body=ReplayAccepted(
            exchange_id=done.exchange_id,
            replay_of=done.replay_of,
            delivery_id=done.delivery_id,
            correlation_id=done.correlation_id,
            already_replayed=done.already_replayed,
            link=link,
        ),
        headers={"Location": link},
        content_type="application/json",
    )


@router.post(
    "/accounts/<account_id>/exchanges/replay-failures",
    summary="Replay every failure of the account since a time (oldest first)",
    description=(
        "Failures fixed by a later success, replayed before or without a replay message are skipped and listed "
        f"with the reason. At most {BULK_REPLAY_MAX} replays per request (`more: true`: ask again). "
        "409 when the account cannot sync."
    ),
    tags=TAGS,
    responses=error_responses(),
)
def replay_all_failures(account_id: AccountId, body: Annotated[FailureReplayRequest, Body()]) -> FailureReplayAnswer:
    for name, moment in (("since", body.since), ("until", body.until)):
        if moment is not None and moment.tzinfo is None:
            raise ApiError(400, "bad_time", f"{name} needs a time zone (e.g. 2026-11-21T10:00:00Z)")
    skipped: list[SkippedFailure]
    if body.dry_run:
        plan = plan_failure_replay(account_id, body.since, until=body.until)
        skipped = [SkippedFailure(exchange_id=s.exchange_id, reason=s.reason, detail=s.detail) for s in plan.skipped]
        return FailureReplayAnswer(
            dry_run=True, replayed=[r.id for r in plan.to_replay], replay_exchanges=[], skipped=skipped, more=plan.more
        )
    done = replay_failures(account_id, body.since, until=body.until)
    skipped = [SkippedFailure(exchange_id=s.exchange_id, reason=s.reason, detail=s.detail) for s in done.skipped]
    return FailureReplayAnswer(
        dry_run=False,
        replayed=[r.replay_of for r in done.replayed],
        replay_exchanges=[r.exchange_id for r in done.replayed],
        skipped=skipped,
        more=done.more,
    )
