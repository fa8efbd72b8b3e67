"""The exchange log (F7): every flow records what it received, read, wrote, skipped or failed.

``record_exchange`` masks personal data and secrets, stamps a TTL from ``EXCHANGE_RETENTION_DAYS``,
writes one item, logs one line with the shared keys and emits the ``Exchanges`` metric by outcome.
Vocabulary:
- ``direction``: ``inbound`` (Sellsy → us / field), ``outbound`` (us → Sellsy), ``import`` (nightly
  revenue import), ``internal`` (management actions such as a replay request);
  aliases accepted: ``sellsy_to_field`` → inbound, ``field_to_sellsy`` → outbound;
- ``status`` (outcome): ``ok``, ``skipped`` (with ``reason``), ``failed`` (with ``reason``);
  aliases accepted: success/succeeded/received/read/written/accepted → ok, error → failed, skip → skipped;
- ``kind``: short snake_case word for what happened, e.g. ``webhook_received``, ``object_read``,
  ``object_written``, ``intervention_created``, ``replay_requested``.
Only a ``failed`` exchange keeps its ``replay`` message (the queue message that re-runs the work).

A failure is *fixed* when a later exchange about the same subject succeeded (``subject_of``: the same
outbound action of the same intervention, else the same field record, else the same Sellsy object, in the
same direction): the log shows it with ``fixed_by`` and a bulk replay leaves it alone. A receipt
(``webhook_received``) is not an outcome and fixes nothing.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Required, TypedDict, Unpack

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from boto3.dynamodb.conditions import Attr, ConditionBase
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from bridge.adapters import exchanges_repo
from bridge.domain.masking import mask, mask_text
from bridge.observability import NAMESPACE, SERVICE, logger
from bridge.settings import get_settings

Direction = Literal["inbound", "outbound", "import", "internal"]
Status = Literal["ok", "skipped", "failed"]
DIRECTIONS: tuple[str, ...] = ("inbound", "outbound", "import", "internal")
STATUSES: tuple[str, ...] = ("ok", "skipped", "failed")
_DIRECTION_ALIASES = {
    "sellsy_to_field": "inbound",
    "field_to_sellsy": "outbound",
    "in": "inbound",
    "out": "outbound",
}
_STATUS_ALIASES = {
    "success": "ok",
    "succeeded": "ok",
    "done": "ok",
    "received": "ok",
    "accepted": "ok",
    "read": "ok",
    "written": "ok",
    "created": "ok",
    "updated": "ok",
    "error": "failed",
    "fail": "failed",
    "skip": "skipped",
    "ignored": "skipped",
}
_KIND = re.compile(r"^[a-z][a-z0-9_.\-]{0,63}$")
SUMMARY_LIMIT = 8_000  # characters per masked request/response summary kept in the item
REASON_LIMIT = 1_000


class ExchangeRecord(BaseModel):
    """One exchange as the API shows it (already masked)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    account_id: str
    direction: Direction
    kind: str
    status: Status
    created_at: datetime
    sellsy_type: str | None = None
    sellsy_id: str | None = None
    field_id: str | None = None
    reason: str | None = None
    request: Any = Field(default=None, description="Masked summary of what was sent or received")
    response: Any = Field(default=None, description="Masked summary of the answer")
    duration_ms: int | None = None
    correlation_id: str | None = None
    replayable: bool = False
    replay_of: str | None = None
    replayed_by: list[str] = Field(default_factory=list)
    fixed_by: str | None = Field(
        default=None, description="failed only: a later successful exchange about the same subject fixed it"
    )


def new_exchange_id(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment.strftime('%Y%m%dT%H%M%S%f')}Z-{secrets.token_hex(4)}"


def normalize_direction(direction: str) -> str:
    value = _DIRECTION_ALIASES.get(direction, direction)
    if value not in DIRECTIONS:
        raise ValueError(f"direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
    return value


def normalize_status(status: str) -> str:
    value = _STATUS_ALIASES.get(status, status)
    if value not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    return value


def _summary(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    text = json.dumps(mask(value), separators=(",", ":"), default=str, ensure_ascii=False)
    if len(text) > SUMMARY_LIMIT:
        text = json.dumps({"truncated": True, "head": text[:SUMMARY_LIMIT]}, ensure_ascii=False)
    return text


NOT_AN_OUTCOME = frozenset({"webhook_received"})


def subject_of(
    direction: str, kind: str, sellsy_type: str | None, sellsy_id: str | None, field_id: str | None
) -> str | None:
    """What an exchange was about, for telling whether a later success fixed a failure (None: untracked)."""
    if direction == "internal" or kind in NOT_AN_OUTCOME:
        return None
    if direction == "outbound" and field_id:
        # Each action of a completion succeeds or fails on its own; other outbound work is per field record.
        return f"outbound#{kind}#{field_id}" if kind.startswith("action_") else f"outbound#{field_id}"
    if sellsy_type and sellsy_id:
        return f"{direction}#{sellsy_type}#{sellsy_id}"
    return None


def replay_key(account_id: str, exchange_id: str) -> str:
    return f"replay/{account_id}/{exchange_id}.json"


class ExchangeFields(TypedDict, total=False):
    """What one exchange says: its account, direction, kind and status, then what it was about (each optional)."""

    account_id: Required[str]
    direction: Required[str]
    kind: Required[str]
    status: Required[str]
    sellsy_type: str | None
    sellsy_id: str | int | None
    field_id: str | None
    reason: str | None
    request: Any
    response: Any
    duration_ms: float | None
    correlation_id: str | None
    replay_of: str | None
    at: datetime | None


def exchange_item(**fields: Unpack[ExchangeFields]) -> dict[str, Any]:
    """The stored item of one exchange (masked, with its TTL and keys); ValueError on bad vocabulary."""
    account_id, kind = fields["account_id"], fields["kind"]
    direction = normalize_direction(fields["direction"])
    status = normalize_status(fields["status"])
    sellsy_type, sellsy_id = fields.get("sellsy_type"), fields.get("sellsy_id")
    reason, duration_ms = fields.get("reason"), fields.get("duration_ms")
    if not _KIND.match(kind):
        raise ValueError(f"kind {kind!r} must be a short snake_case word such as 'object_read'")
    now = (fields.get("at") or datetime.now(UTC)).astimezone(UTC)
    exchange_id = new_exchange_id(now)
    retention = timedelta(days=get_settings().exchange_retention_days)
    item: dict[str, Any] = {
        "pk": exchanges_repo.partition(account_id, now.date()),
        "sk": exchange_id,
        "id": exchange_id,
        "account_id": account_id,
        "direction": direction,
        "kind": kind,
        "status": status,
        "created_at": now.isoformat(),
        "expires_at": int((now + retention).timestamp()),
    }
    optional = {
        "sellsy_type": sellsy_type,
        "sellsy_id": None if sellsy_id is None else str(sellsy_id),
        "field_id": fields.get("field_id"),
        "reason": mask_text(reason)[:REASON_LIMIT] if reason else None,
        "request": _summary(fields.get("request")),
        "response": _summary(fields.get("response")),
        "duration_ms": None if duration_ms is None else int(duration_ms),
        "correlation_id": fields.get("correlation_id"),
        "replay_of": fields.get("replay_of"),
    }
    item.update({k: v for k, v in optional.items() if v is not None})
    if sellsy_type and sellsy_id is not None:
        item["gsi1pk"] = exchanges_repo.object_partition(account_id, sellsy_type, str(sellsy_id))
        item["gsi1sk"] = exchange_id
    if status in exchanges_repo.INDEXED_STATUSES:
        item["gsi2pk"] = exchanges_repo.outcome_partition(account_id, status)
        item["gsi2sk"] = exchange_id
    return item


def record_exchange(*, replay: dict[str, Any] | None = None, **fields: Unpack[ExchangeFields]) -> str:
    """Record one exchange and return its id. Bad vocabulary raises ValueError (a bug in the caller);
    a storage failure is logged and counted, never raised into the flow that was being recorded.
    ``at`` dates an exchange recorded after the fact (a receipt the worker records), so the log keeps
    the order in which things happened; ``replay`` is the message a failed exchange is replayed from."""
    item = exchange_item(**fields)
    account_id, kind, sellsy_type = item["account_id"], item["kind"], item.get("sellsy_type")
    correlation_id, field_id = fields.get("correlation_id"), fields.get("field_id")
    exchange_id, direction, status = item["id"], item["direction"], item["status"]
    log_keys = {
        "account_id": account_id,
        "exchange_id": exchange_id,
        "correlation_id": correlation_id,
        "sellsy_type": sellsy_type,
        "sellsy_id": item.get("sellsy_id"),
        "field_id": field_id,
        "direction": direction,
        "kind": kind,
        "status": status,
        "duration_ms": item.get("duration_ms"),
        "reason": item.get("reason"),
    }
    try:
        if status == "failed" and replay:
            key = replay_key(account_id, exchange_id)
            exchanges_repo.put_replay_message(key, replay)
            item["replay_key"] = key
        exchanges_repo.put(item)
    except (ClientError, BotoCoreError) as exc:
        logger.error(
            "exchange record not stored",
            extra={**log_keys, "error": mask_text(str(exc))[:300]},
        )
        _count("ExchangeLogWriteFailed", None)
        return exchange_id
    logger.info("exchange", extra={k: v for k, v in log_keys.items() if v is not None})
    _count("Exchanges", status)
    _note_health(account_id, item, log_keys)
    subject = subject_of(direction, kind, sellsy_type, item.get("sellsy_id"), field_id)
    if status == "ok" and subject:
        try:
            exchanges_repo.note_success(account_id, subject, exchange_id, item["expires_at"])
        except (ClientError, BotoCoreError) as exc:
            # The exchange is stored; only the "fixed" mark of earlier failures about the subject is missing.
            logger.warning("exchange success not noted", extra={**log_keys, "error": mask_text(str(exc))[:300]})
    return exchange_id


def _note_health(account_id: str, item: dict[str, Any], log_keys: dict[str, Any]) -> None:
    """The account's health figures (latest delivery, failures per minute); the exchange is stored whatever."""
    try:
        if item["kind"] == "webhook_received":
            delivery = {
                "exchange_id": item["sk"],
                "at": item["created_at"],
                "sellsy_type": item.get("sellsy_type"),
                "sellsy_id": item.get("sellsy_id"),
            }
            exchanges_repo.note_webhook(account_id, delivery, item["expires_at"])
        if item["status"] == "failed":
            exchanges_repo.count_failure(account_id, datetime.fromisoformat(item["created_at"]))
    except (ClientError, BotoCoreError) as exc:
        logger.warning("health figures not noted", extra={**log_keys, "error": mask_text(str(exc))[:300]})


def _count(name: str, outcome: str | None) -> None:
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="service", value=SERVICE)
        if outcome:
            metric.add_dimension(name="outcome", value=outcome)


class Timer:
    """``with Timer() as t: ...; record_exchange(..., duration_ms=t.ms)``."""

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        self.ms = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.ms = (time.perf_counter() - self._start) * 1000


# --- reading -------------------------------------------------------------------------------------


def to_record(item: dict[str, Any]) -> ExchangeRecord:
    data = dict(item)
    for field in ("request", "response"):
        if isinstance(data.get(field), str):
            data[field] = json.loads(data[field])
    data["replayable"] = data.get("status") == "failed" and bool(data.get("replay_key"))
    data["replayed_by"] = sorted(data.get("replayed_by") or [])
    if data.get("duration_ms") is not None:
        data["duration_ms"] = int(data["duration_ms"])
    return ExchangeRecord.model_validate(data)


def with_fixes(account_id: str, records: list[ExchangeRecord]) -> list[ExchangeRecord]:
    """Fill ``fixed_by`` of the failed records a later success fixed (one BatchGetItem for the whole page)."""
    subjects = {
        record.id: subject
        for record in records
        if record.status == "failed"
        and (
            subject := subject_of(record.direction, record.kind, record.sellsy_type, record.sellsy_id, record.field_id)
        )
    }
    if not subjects:
        return records
    latest = exchanges_repo.last_successes(account_id, list(subjects.values()))
    for record in records:
        success = latest.get(subjects.get(record.id, ""))
        if success and success > record.id:
            record.fixed_by = success
    return records


def get_exchange(account_id: str, exchange_id: str) -> ExchangeRecord | None:
    item = exchanges_repo.get(account_id, exchange_id)
    return with_fixes(account_id, [to_record(item)])[0] if item else None


def list_exchanges(
    account_id: str,
    *,
    status: str | None = None,
    direction: str | None = None,
    kind: str | None = None,
    sellsy_type: str | None = None,
    sellsy_id: str | None = None,
    field_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
    summaries: bool = True,
) -> tuple[list[ExchangeRecord], str | None]:
    """Newest first. Without ``since`` the window is the retention period. ``cursor`` from a previous page.
    ``summaries=False``: without the request and response summaries (a list that does not show them)."""
    now = datetime.now(UTC)
    until = min(until or now, now + timedelta(minutes=5))
    # Older records have expired (TTL): never walk day partitions further back than the retention.
    oldest = now - timedelta(days=get_settings().exchange_retention_days + 2)
    since = max(since or oldest, oldest)
    if since > until:
        return [], None
    after = exchanges_repo.decode_cursor(cursor)["after"] if cursor else None
    conditions: list[ConditionBase] = []
    if direction:
        conditions.append(Attr("direction").eq(normalize_direction(direction)))
    if kind:
        conditions.append(Attr("kind").eq(kind))
    if sellsy_type:
        conditions.append(Attr("sellsy_type").eq(sellsy_type))
    if sellsy_id and not sellsy_type:
        conditions.append(Attr("sellsy_id").eq(sellsy_id))
    if field_id:
        conditions.append(Attr("field_id").eq(field_id))
    combined: ConditionBase | None = None
    for condition in conditions:
        combined = condition if combined is None else combined & condition
    items, last = exchanges_repo.query(
        account_id,
        since=since,
        until=until,
        limit=limit,
        after=after,
        sellsy_type=sellsy_type,
        sellsy_id=sellsy_id,
        status=normalize_status(status) if status else None,
        filters=combined,
        summaries=summaries,
    )
    next_cursor = exchanges_repo.encode_cursor({"after": last}) if last else None
    return with_fixes(account_id, [to_record(i) for i in items]), next_cursor
