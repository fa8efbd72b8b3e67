"""Move the events DLQ's messages back onto the events queue, after the cause of the failures is fixed.

    python -m infra.redrive --stack sellsy-bridge            # a deployed stack (CloudFormation names the queue)
    python -m infra.redrive --queue-url URL                  # any queue with a redrive policy (embedded default)
    python -m infra.redrive ... --max-per-second 5           # gentle on a Sellsy account near its quota

The DLQ is read from the events queue's own redrive policy, so the pair can never be mismatched. On AWS this
starts SQS's message move task (StartMessageMoveTask: SQS moves the messages itself, in order, and can be
followed in the console). On any other endpoint (moto, the embedded default), which lacks that API, and when
``--limit`` is given, messages are moved by hand:
received, sent to the events queue with their body and attributes, then deleted from the DLQ, so a crash in
between sends a message twice, never loses one (the worker's idempotency absorbs the duplicate).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import boto3

EVENTS_QUEUE = "EventsQueue"


@dataclass(frozen=True)
class Redrive:
    method: str  # "move_task" (SQS moves) or "receive_send" (moved here)
    source_arn: str
    destination_arn: str
    moved: int | None  # known for receive_send; a move task reports its progress in SQS
    task_handle: str | None = None


def _is_aws(sqs: Any) -> bool:
    host = urlparse(str(sqs.meta.endpoint_url)).hostname or ""
    return host.endswith(".amazonaws.com") or host.endswith(".amazonaws.com.cn")


def _arn(sqs: Any, queue_url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def dead_letter_queue_of(sqs: Any, queue_url: str) -> tuple[str, str]:
    """The (url, arn) of the DLQ named by the queue's redrive policy."""
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    policy = attributes.get("RedrivePolicy")
    if not policy:
        raise SystemExit(f"{queue_url} has no redrive policy: no DLQ to redrive from")
    arn = str(json.loads(policy)["deadLetterTargetArn"])
    _, _, _, _, account, name = arn.split(":", 5)
    return str(sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]), arn


def _move_by_hand(sqs: Any, source_url: str, destination_url: str, limit: int | None) -> int:
    moved = 0
    while limit is None or moved < limit:
        batch = sqs.receive_message(
            QueueUrl=source_url,
            MaxNumberOfMessages=10 if limit is None else max(1, min(10, limit - moved)),
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
            VisibilityTimeout=60,
        ).get("Messages", [])
        if not batch:
            return moved
        for message in batch:
            sent: dict[str, Any] = {"QueueUrl": destination_url, "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                sent["MessageAttributes"] = message["MessageAttributes"]
            sqs.send_message(**sent)
            sqs.delete_message(QueueUrl=source_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


def redrive(sqs: Any, queue_url: str, *, max_per_second: int | None = None, limit: int | None = None) -> Redrive:
    """Move every message of ``queue_url``'s DLQ back to ``queue_url``."""
    source_url, source_arn = dead_letter_queue_of(sqs, queue_url)
    destination_arn = _arn(sqs, queue_url)
    if limit is None and _is_aws(sqs):
        task: dict[str, Any] = {"SourceArn": source_arn, "DestinationArn": destination_arn}
        if max_per_second:
            task["MaxNumberOfMessagesPerSecond"] = max_per_second
        handle = sqs.start_message_move_task(**task)["TaskHandle"]
        return Redrive("move_task", source_arn, destination_arn, None, str(handle))
    moved = _move_by_hand(sqs, source_url, queue_url, limit)
    return Redrive("receive_send", source_arn, destination_arn, moved)


def events_queue_of_stack(stack_name: str) -> str:
    cloudformation = boto3.client("cloudformation")
    found = cloudformation.describe_stack_resource(StackName=stack_name, LogicalResourceId=EVENTS_QUEUE)
    return str(found["StackResourceDetail"]["PhysicalResourceId"])  # a queue's physical id is its URL


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.redrive", description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="deployed stack name: its EventsQueue and that queue's DLQ")
    where.add_argument("--queue-url", help="the events queue URL (its redrive policy names the DLQ)")
    parser.add_argument("--max-per-second", type=int, help="move task rate limit (AWS only)")
    parser.add_argument("--limit", type=int, help="move at most this many messages (by hand, oldest first)")
    args = parser.parse_args(argv)
    queue_url = args.queue_url or events_queue_of_stack(args.stack)
    done = redrive(boto3.client("sqs"), queue_url, max_per_second=args.max_per_second, limit=args.limit)
    print(json.dumps(done.__dict__, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
