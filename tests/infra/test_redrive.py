"""`make redrive` / `python -m infra.redrive`: the events DLQ goes back onto the events queue (moto server:
no message move task there, so the receive/send path runs; on AWS SQS's StartMessageMoveTask is asked first)."""

from __future__ import annotations

import json
from typing import Any

from botocore.stub import Stubber

from infra.redrive import dead_letter_queue_of, main, redrive


def _bodies(sqs: Any, url: str) -> list[dict[str, Any]]:
    got = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]
    ).get("Messages", []):
        got += batch
    return got


def test_dead_letters_go_back_to_the_events_queue_with_their_attributes(
    aws_clean: Any, no_pump: None, capsys: Any
) -> None:
    sqs = aws_clean.client("sqs")
    events_url = aws_clean.env["EVENTS_QUEUE_URL"]
    dlq_url, _ = dead_letter_queue_of(sqs, events_url)
    assert dlq_url != events_url
    for n in range(12):
        sqs.send_message(
            QueueUrl=dlq_url,
            MessageBody=json.dumps({"kind": "estimate_accepted", "n": n}),
            MessageAttributes={"delivery": {"DataType": "String", "StringValue": f"d-{n}"}},
        )

    assert redrive(sqs, events_url, limit=2).moved == 2
    assert main(["--queue-url", events_url]) == 0
    assert json.loads(capsys.readouterr().out)["moved"] == 10

    assert _bodies(sqs, dlq_url) == []
    back = _bodies(sqs, events_url)
    assert sorted(json.loads(m["Body"])["n"] for m in back) == list(range(12))
    assert {m["MessageAttributes"]["delivery"]["StringValue"] for m in back} == {f"d-{n}" for n in range(12)}


def test_on_aws_the_message_move_task_is_used() -> None:
    import boto3

    sqs = boto3.client(
        "sqs",
        region_name="eu-west-3",
        endpoint_url="https://sqs.eu-west-3.amazonaws.com",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    events_url = "https://sqs.eu-west-3.amazonaws.com/123456789012/stack-EventsQueue"
    dlq_arn, events_arn = (f"arn:aws:sqs:eu-west-3:123456789012:stack-{n}" for n in ("EventsDLQ", "EventsQueue"))
    with Stubber(sqs) as stub:
        stub.add_response(
            "get_queue_attributes",
            {"Attributes": {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})}},
        )
        stub.add_response("get_queue_url", {"QueueUrl": events_url.replace("EventsQueue", "EventsDLQ")})
        stub.add_response("get_queue_attributes", {"Attributes": {"QueueArn": events_arn}})
        stub.add_response(
            "start_message_move_task",
            {"TaskHandle": "handle-1"},
            {"SourceArn": dlq_arn, "DestinationArn": events_arn, "MaxNumberOfMessagesPerSecond": 5},
        )
        done = redrive(sqs, events_url, max_per_second=5)
    assert (done.method, done.task_handle, done.source_arn) == ("move_task", "handle-1", dlq_arn)
