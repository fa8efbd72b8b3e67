"""Imported revenue records (issue #5): browse per stream, read one (with its locked fields), edit by hand.

A manual edit locks the edited fields: later imports keep these values even when Sellsy changes them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from bridge.adapters import accounts_repo, records_repo
from bridge.api.app_errors import ApiError, error_responses
from bridge.domain.accounts import ACCOUNT_ID_PATTERN
from bridge.domain.revenue import MAPPINGS

router = Router()
TAGS = ["records"]

Stream = Literal["customers", "products", "prices", "invoices", "invoice_lines", "credit_notes", "credit_note_lines"]
AccountId = Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, max_length=64)]
RecordId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,100}$", description="Record key, e.g. 123 or company-7")]
# Fields that identify a record: editing them would detach it from Sellsy.
READ_ONLY_FIELDS = frozenset({"original_id", "original_invoice_id", "original_credit_note_id"})
Scalar = str | int | float | bool | None
# Beyond this magnitude a float64 (analytics tools, spreadsheets) no longer holds every cent of an amount.
MAX_NUMBER = Decimal(10) ** 15


class RecordOut(BaseModel):
    stream: str
    id: str
    data: dict[str, Any]
    locked_fields: list[str] = Field(description="Fields edited through this API: never overwritten by imports")
    not_seen_since: str | None = Field(default=None, description="Absent from Sellsy since this date")
    first_seen_at: str | None = None
    updated_at: str | None = None


class RecordPage(BaseModel):
    items: list[RecordOut]
    next_cursor: str | None = None


class RecordPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fields: dict[str, Scalar] = Field(min_length=1, max_length=50, description="Field name → new value")


def _number_out_of_range(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return False
    number = Decimal(value)
    return not number.is_finite() or abs(number) >= MAX_NUMBER


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def to_out(stream: str, item: dict[str, Any]) -> RecordOut:
    return RecordOut(
        stream=stream,
        id=item["sk"],
        data={k: _plain(v) for k, v in (item.get("data") or {}).items()},
        locked_fields=list(item.get("locked_fields") or []),
        not_seen_since=item.get("not_seen_since"),
        first_seen_at=item.get("first_seen_at"),
        updated_at=item.get("updated_at"),
    )


@router.get(
    "/accounts/<account_id>/records/<stream>",
    summary="Browse imported records of one stream",
    tags=TAGS,
    responses=error_responses(),
)
def list_records(
    account_id: AccountId,
    stream: Annotated[Stream, Path()],
    status: Annotated[str | None, Query(max_length=32)] = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    customer_id: Annotated[str | None, Query(max_length=64)] = None,
    original_invoice_id: Annotated[int | None, Query(ge=0)] = None,
    original_credit_note_id: Annotated[int | None, Query(ge=0)] = None,
    not_seen: Annotated[bool | None, Query(description="true: only records no longer in Sellsy")] = None,
    locked: Annotated[bool | None, Query(description="true: only records with locked fields")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> RecordPage:
    accounts_repo.require_account(account_id)
    fields = {f.name for f in MAPPINGS[stream].fields}
    wanted = {
        "status": status,
        "currency": currency,
        "customer_id": customer_id,
        "original_invoice_id": original_invoice_id,
        "original_credit_note_id": original_credit_note_id,
    }
    equals = {name: value for name, value in wanted.items() if value is not None}
    unknown = sorted(set(equals) - fields)
    if unknown:
        raise ApiError(400, "bad_filter", f"stream {stream} has no field {', '.join(unknown)}", {"fields": unknown})
    try:
        items, next_cursor = records_repo.browse(
            account_id, stream, limit=limit, cursor=cursor, equals=equals, not_seen=not_seen, locked=locked
        )
    except records_repo.BadCursor as exc:
        raise ApiError(400, "bad_cursor", str(exc)) from exc
    return RecordPage(items=[to_out(stream, item) for item in items], next_cursor=next_cursor)


@router.get(
    "/accounts/<account_id>/records/<stream>/<record_id>",
    summary="Read one imported record, with its locked fields",
    tags=TAGS,
    responses=error_responses(),
)
def get_record(account_id: AccountId, stream: Annotated[Stream, Path()], record_id: RecordId) -> RecordOut:
    accounts_repo.require_account(account_id)
    item = records_repo.get_record(account_id, stream, record_id)
    if item is None:
        raise ApiError(404, "not_found", f"no {stream} record {record_id!r}")
    return to_out(stream, item)


@router.patch(
    "/accounts/<account_id>/records/<stream>/<record_id>",
    summary="Edit fields by hand; edited fields become locked against imports",
    tags=TAGS,
    responses=error_responses(),
)
def patch_record(
    account_id: AccountId,
    stream: Annotated[Stream, Path()],
    record_id: RecordId,
    body: Annotated[RecordPatch, Body()],
) -> RecordOut:
    accounts_repo.require_account(account_id)
    fields = {f.name for f in MAPPINGS[stream].fields}
    unknown = sorted(set(body.fields) - fields)
    if unknown:
        raise ApiError(400, "unknown_field", f"stream {stream} has no field {', '.join(unknown)}", {"fields": unknown})
    frozen = sorted(set(body.fields) & READ_ONLY_FIELDS)
    if frozen:
        raise ApiError(400, "read_only_field", f"{', '.join(frozen)} identify the record and cannot be edited")
    values = {k: Decimal(str(v)) if isinstance(v, float) else v for k, v in body.fields.items()}
    out_of_range = sorted(k for k, v in values.items() if _number_out_of_range(v))
    if out_of_range:
        raise ApiError(
            400,
            "out_of_range",
            f"{', '.join(out_of_range)}: numbers must be finite and below {MAX_NUMBER:.0e} in magnitude",
            {"fields": out_of_range},
        )
    try:
        item = records_repo.patch_fields(account_id, stream, record_id, values)
    except records_repo.RecordNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    except records_repo.RecordConflict as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    return to_out(stream, item)
