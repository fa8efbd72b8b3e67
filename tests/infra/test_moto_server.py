"""The embedded moto keeps DynamoDB's promise: a conditional write is checked and applied as one step."""

from __future__ import annotations

import sys
import threading
import uuid

import boto3
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

THREADS = 8
INCREMENTS = 8


def test_concurrent_conditional_increments_lose_nothing(aws):
    # Optimistic read-modify-write from many clients: with a check-then-write race, two writers that read
    # the same value would both succeed and an increment would be lost. moto serves from this process, so
    # switching threads very often makes such a race show up at once instead of once in a while.
    key = {"pk": f"TEST#{uuid.uuid4().hex}", "sk": "COUNTER"}
    table_name = aws.env["ACCOUNTS_TABLE"]
    boto3.resource("dynamodb", endpoint_url=aws.endpoint_url).Table(table_name).put_item(Item={**key, "n": 0})
    barrier = threading.Barrier(THREADS)
    conflicts: list[int] = []
    errors: list[BaseException] = []

    def increment() -> None:
        table = boto3.session.Session().resource("dynamodb", endpoint_url=aws.endpoint_url).Table(table_name)
        try:
            barrier.wait()
            done = 0
            while done < INCREMENTS:
                seen = table.get_item(Key=key, ConsistentRead=True)["Item"]["n"]
                try:
                    table.update_item(
                        Key=key,
                        UpdateExpression="SET n = :next",
                        ConditionExpression=Attr("n").eq(seen),
                        ExpressionAttributeValues={":next": seen + 1},
                    )
                    done += 1
                except ClientError as exc:
                    assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
                    conflicts.append(1)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=increment) for _ in range(THREADS)]
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        sys.setswitchinterval(previous)

    assert errors == []
    final = boto3.resource("dynamodb", endpoint_url=aws.endpoint_url).Table(table_name).get_item(Key=key)["Item"]["n"]
    assert final == THREADS * INCREMENTS
    assert conflicts, "the threads never contended: the test proved nothing"
