"""The local SQS pump behaves like Lambda's event source mapping with ReportBatchItemFailures."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from infra.local.pump import QueuePump


def make_queues(sqs: Any, max_receive_count: int) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    dlq_url = sqs.create_queue(QueueName=f"pump-dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)})
    queue_url = sqs.create_queue(
        QueueName=f"pump-{suffix}", Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "30"}
    )["QueueUrl"]
    return queue_url, dlq_url


def test_successes_are_deleted_failures_retried_then_dead_lettered(aws: Any) -> None:
    sqs = aws.client("sqs")
    queue_url, dlq_url = make_queues(sqs, max_receive_count=2)
    seen: dict[str, int] = {}
    lock = threading.Lock()

    def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            body = json.loads(record["body"])
            with lock:
                seen[body["n"]] = seen.get(body["n"], 0) + 1
            assert record["eventSource"] == "aws:sqs"
            assert record["messageAttributes"]["correlation_id"]["stringValue"] == f"c-{body['n']}"
            if body["n"] == "poison":
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    for n in ["a", "b", "poison", "c"]:
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps({"n": n}),
            MessageAttributes={"correlation_id": {"DataType": "String", "StringValue": f"c-{n}"}},
        )
    pump = QueuePump(sqs, queue_url, worker, workers=1, retry_delay=0).start()
    try:
        assert pump.wait_idle(timeout=30)
    finally:
        pump.stop()

    assert seen == {"a": 1, "b": 1, "c": 1, "poison": 2}
    dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["n"] for m in dead] == ["poison"]


def test_a_raising_handler_returns_the_whole_batch(aws: Any) -> None:
    sqs = aws.client("sqs")
    queue_url, _ = make_queues(sqs, max_receive_count=5)
    calls: list[int] = []

    def flaky(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(len(event["Records"]))
        if len(calls) == 1:
            raise RuntimeError("first delivery crashes")
        return {"batchItemFailures": []}

    sqs.send_message(QueueUrl=queue_url, MessageBody="{}")
    pump = QueuePump(sqs, queue_url, flaky, workers=1, retry_delay=0).start()
    try:
        assert pump.wait_idle(timeout=30)
    finally:
        pump.stop()
    assert calls == [1, 1]


def test_paused_pump_takes_nothing_until_resumed(aws: Any) -> None:
    sqs = aws.client("sqs")
    queue_url, _ = make_queues(sqs, max_receive_count=5)
    handled: list[str] = []

    def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
        handled.extend(json.loads(r["body"])["n"] for r in event["Records"])
        return {"batchItemFailures": []}

    pump = QueuePump(sqs, queue_url, worker, workers=1, retry_delay=0).start()
    try:
        pump.pause()
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"n": "later"}))
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
        assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"
        assert handled == []
        pump.resume()
        assert pump.wait_idle(timeout=30)
    finally:
        pump.stop()
    assert handled == ["later"]
