"""Local stand-in for Lambda's SQS event source mapping: queue → worker handler, with partial failures.

Like the real mapping it receives batches, calls the handler with an SQS event, deletes the records
that succeeded and leaves the reported failures on the queue (where the queue's redrive policy moves
them to the DLQ after ``maxReceiveCount``). Unlike AWS it makes a failed record visible again after
``retry_delay`` seconds instead of the full visibility timeout, so local runs and tests stay quick.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from infra.local.lambda_context import LOCAL_ACCOUNT, LOCAL_REGION, LocalContext

Handler = Callable[[dict[str, Any], Any], Any]
log = logging.getLogger(__name__)


def sqs_event(queue_arn: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The event Lambda builds from received SQS messages."""
    records = []
    for message in messages:
        attributes = {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        }
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": attributes,
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": LOCAL_REGION,
            }
        )
    return {"Records": records}


class QueuePump:
    """Polls one queue with a few threads and feeds batches to the handler until ``stop()``."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        handler: Handler,
        *,
        function_name: str = "WorkerFunction",
        batch_size: int = 10,
        workers: int = 2,
        wait_seconds: int = 1,
        retry_delay: int = 1,
        function_timeout: float = 60.0,
    ) -> None:
        self._sqs = sqs
        self.queue_url = queue_url
        self._handler = handler
        self._function_name = function_name
        self._batch_size = batch_size
        self._wait_seconds = wait_seconds
        self._retry_delay = retry_delay
        self._function_timeout = function_timeout
        self._stop = threading.Event()
        # Like one Lambda execution environment: one batch at a time through the handler (its batch processor
        # and logger are module-level objects). Several polling threads still overlap receiving with handling.
        self._environment = threading.Lock()
        self._running = threading.Event()
        self._running.set()
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        self.batches = 0
        self.failed_records = 0
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        self._queue_arn = arn["Attributes"].get("QueueArn", f"arn:aws:sqs:{LOCAL_REGION}:{LOCAL_ACCOUNT}:events")
        self._threads = [threading.Thread(target=self._loop, name=f"sqs-pump-{i}", daemon=True) for i in range(workers)]

    def start(self) -> QueuePump:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self._wait_seconds + 5)

    def pause(self, timeout: float = 30.0) -> None:
        """Stop taking messages (those already taken finish), e.g. to count what a test enqueues."""
        self._running.clear()
        # A long poll started before the pause may still return messages: let it end, then let its batch end.
        time.sleep(self._wait_seconds + 0.2)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._in_flight_lock:
                if not self._in_flight:
                    return
            time.sleep(0.02)

    def resume(self) -> None:
        self._running.set()

    def wait_idle(self, timeout: float = 30.0, settle: float = 0.3) -> bool:
        """True once the queue holds nothing visible or in flight and no batch is running."""
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            if self._is_idle():
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= settle:
                    return True
            else:
                quiet_since = None
            time.sleep(0.05)
        return False

    def _is_idle(self) -> bool:
        with self._in_flight_lock:
            if self._in_flight:
                return False
        attrs = self._sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return attrs["ApproximateNumberOfMessages"] == "0" and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self._running.wait(timeout=0.2):
                continue
            try:
                self._poll_once()
            except Exception:  # keep pumping: a broken poll must not silently stop the worker
                log.exception("SQS pump poll failed")
                time.sleep(0.5)

    def _poll_once(self) -> None:
        received = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=self._wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = received.get("Messages", [])
        if not messages:
            return
        # Until deleted, received messages also count as "not visible" in the queue, so idleness is never
        # reported between this receive and the end of the batch.
        with self._in_flight_lock:
            self._in_flight += 1
        try:
            self._deliver(messages)
        finally:
            with self._in_flight_lock:
                self._in_flight -= 1

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        self.batches += 1
        event = sqs_event(self._queue_arn, messages)
        try:
            with self._environment:
                result = self._handler(
                    event, LocalContext(function_name=self._function_name, timeout_seconds=self._function_timeout)
                )
            failed_ids = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except Exception:
            log.exception("worker handler raised: the whole batch returns to the queue")
            failed_ids = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        failed = [m for m in messages if m["MessageId"] in failed_ids]
        self.failed_records += len(failed)
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        for message in failed:
            self._sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=self._retry_delay
            )
