"""Queue worker: SQS batches → flows, with partial batch failures and idempotency per delivery.

Each record is one message, parsed with Powertools Parser into ``bridge.adapters.queue.QueueMessage``; a body that
is not one (not JSON, no kind or account) is a poison message. A record that raises is reported as a batch item
failure and comes back later; after the queue's ``maxReceiveCount`` it lands in the DLQ (poison
messages included). Idempotency keyed on ``(account_id, delivery_id)`` makes a duplicate delivery a
no-op that returns the first run's summary. A ``NeedsReconnect`` is handled by ``flows.reconnect``.
The receiver's ``webhook_received`` exchange is written here, off Sellsy's wait (``flows/inbound/receipt``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.parser import BaseModel, Field, ValidationError, parse
from aws_lambda_powertools.utilities.parser.models import SqsMsgAttributeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from bridge.adapters.aws import client
from bridge.adapters.queue import QueueMessage, field_problems
from bridge.flows import reconnect
from bridge.flows.inbound import receipt
from bridge.observability import invocation_log_keys, logger, metrics, tracer
from bridge.settings import get_settings, load_settings

# Cold start: a variable with a bad value stops the function here, named in the error (bridge.settings).
load_settings()

# Sellsy may redeliver for a while; two days covers its retries and our own DLQ redrives.
IDEMPOTENCY_SECONDS = 2 * 24 * 3600
_CONFIG = IdempotencyConfig(
    event_key_jmespath="[account_id, delivery_id]",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=IDEMPOTENCY_SECONDS,
)
_LOG_KEYS = ["correlation_id", "account_id", "delivery_id", "kind"]


class PoisonMessage(ValueError):
    """A record that can never be processed (not JSON, not a queue message): left to reach the DLQ."""


class EventsQueueRecord(BaseModel):
    """The parts of an SQS record the worker reads: its id, its attributes and its body (a ``QueueMessage``)."""

    messageId: str
    body: Json[QueueMessage]
    messageAttributes: dict[str, SqsMsgAttributeModel] = Field(default_factory=dict)


def parse_message(record: SQSRecord) -> dict[str, Any]:
    """The record parsed with Powertools Parser, delivery and correlation ids filled in when the body lacks them."""
    try:
        parsed = parse(event=record.raw_event, model=EventsQueueRecord)
    except ValidationError as exc:
        raise PoisonMessage(f"not a queue message: {field_problems(exc)}") from exc
    message = parsed.body
    if message.delivery_id is None:
        message.delivery_id = parsed.messageId
    if message.correlation_id is None:
        attribute = parsed.messageAttributes.get("correlation_id")
        message.correlation_id = (attribute.stringValue if attribute else None) or message.delivery_id
    # Only the envelope's unset keys go: a payload's nulls mean something (a field cleared).
    return {key: value for key, value in message.model_dump().items() if value is not None}


@cache
def _idempotent(table_name: str, endpoint: str) -> Callable[..., Any]:
    # Built per table/endpoint (not at import) so tests and the embedded default can point elsewhere.
    persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client("dynamodb"))
    wrapped: Callable[..., Any] = idempotent_function(
        data_keyword_argument="message", config=_CONFIG, persistence_store=persistence
    )(reconnect.run_message)
    return wrapped


def _receive_count(record: SQSRecord) -> int:
    try:
        return int(record.attributes.approximate_receive_count)
    except (KeyError, TypeError, ValueError):  # a record without the attribute (hand-built in tests)
        return 1


def record_handler(record: SQSRecord) -> Any:
    try:
        message = parse_message(record)
    except PoisonMessage as exc:
        logger.error(
            "poison message: it will reach the DLQ", extra={"message_id": record.message_id, "problem": str(exc)}
        )
        raise
    logger.thread_safe_append_keys(
        correlation_id=message["correlation_id"],
        account_id=message["account_id"],
        delivery_id=message["delivery_id"],
        kind=message["kind"],
    )
    try:
        # Before idempotency: each delivery Sellsy made is logged, duplicates included.
        receipt.record_receipt(message, receive_count=_receive_count(record))
        settings = get_settings()
        result = _idempotent(settings.idempotency_table, os.environ.get("AWS_ENDPOINT_URL", ""))(message=message)
    except Exception:
        logger.exception("message failed; it will be retried (then dead-lettered)")
        metrics.add_metric(name="MessagesFailed", unit=MetricUnit.Count, value=1)
        raise
    else:
        metrics.add_metric(name="MessagesProcessed", unit=MetricUnit.Count, value=1)
        return result
    finally:
        logger.thread_safe_remove_keys(_LOG_KEYS)


@invocation_log_keys
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _CONFIG.register_lambda_context(context)
    # One processor per invocation: it holds the batch's outcomes (the local pump calls us from threads).
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    answer = process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    return dict(answer)
