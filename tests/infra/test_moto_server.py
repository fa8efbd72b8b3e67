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


# ------------------------------------------------- item answers written with json.dumps, as moto writes them

_EVERY_TYPE = {
    "pk": {"S": "P#1"},
    "sk": {"S": "A"},
    "n": {"N": "12.50"},
    "b": {"B": "AAEC/w=="},
    "ss": {"SS": ["x", "y"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": ["AA==", "AQ=="]},
    "m": {"M": {"inner": {"L": [{"S": "é"}, {"N": "-1"}, {"BOOL": False}, {"NULL": True}, {"B": "/w=="}]}}},
    "empty": {"M": {}},
    "flag": {"BOOL": True},
    "none": {"NULL": True},
}


def _item_requests(table: str) -> list[tuple[str, dict]]:
    key = {"pk": {"S": "P#1"}, "sk": {"S": "A"}}
    second = {**_EVERY_TYPE, "sk": {"S": "B"}}
    capacity = {"ReturnConsumedCapacity": "TOTAL"}
    partition = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "P#1"}}}
    return [
        ("PutItem", {"TableName": table, "Item": _EVERY_TYPE, **capacity}),
        ("PutItem", {"TableName": table, "Item": second, "ReturnValues": "ALL_OLD"}),
        ("PutItem", {"TableName": table, "Item": second, "ReturnValues": "ALL_OLD"}),
        ("GetItem", {"TableName": table, "Key": key, "ConsistentRead": True}),
        ("GetItem", {"TableName": table, "Key": {"pk": {"S": "none"}, "sk": {"S": "none"}}}),
        ("GetItem", {"TableName": table, "Key": key, "ProjectionExpression": "m.inner, b"}),
        (
            "UpdateItem",
            {
                "TableName": table,
                "Key": key,
                "UpdateExpression": "SET n = n + :one, added = :b",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":b": {"B": "Zm9v"}},
                "ReturnValues": "ALL_NEW",
                **capacity,
            },
        ),
        ("Query", {"TableName": table, **partition, "Limit": 1}),
        ("Query", {"TableName": table, **partition, "Select": "COUNT"}),
        ("Scan", {"TableName": table, **capacity}),
        ("BatchGetItem", {"RequestItems": {table: {"Keys": [key, {"pk": {"S": "P#1"}, "sk": {"S": "B"}}]}}}),
        ("BatchWriteItem", {"RequestItems": {table: [{"PutRequest": {"Item": {**_EVERY_TYPE, "sk": {"S": "C"}}}}]}}),
        ("TransactGetItems", {"TransactItems": [{"Get": {"TableName": table, "Key": key}}]}),
        ("TransactWriteItems", {"TransactItems": [{"Delete": {"TableName": table, "Key": key}}]}),
        ("DeleteItem", {"TableName": table, "Key": {"pk": {"S": "P#1"}, "sk": {"S": "B"}}, "ReturnValues": "ALL_OLD"}),
        ("PutItem", {"TableName": table, "Item": key, "ConditionExpression": "attribute_not_exists(pk)"}),
        ("PutItem", {"TableName": table, "Item": key, "ConditionExpression": "attribute_not_exists(pk)"}),
    ]


def _answers(aws, table: str) -> list[tuple[int, str, object]]:
    import json

    import httpx

    from infra.local.resources import DEFAULT_REGION

    aws.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk")],
        BillingMode="PAY_PER_REQUEST",
    )
    credential = f"testing/20260101/{DEFAULT_REGION}/dynamodb/aws4_request"
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=0",
    }
    answers = []
    try:
        for action, body in _item_requests(table):
            target = {"X-Amz-Target": f"DynamoDB_20120810.{action}"}
            answer = httpx.post(aws.endpoint_url, json=body, headers=headers | target, timeout=30)
            content = json.loads(answer.text.replace(table, "T"))
            answers.append((answer.status_code, answer.headers["content-type"], content))
    finally:
        aws.client("dynamodb").delete_table(TableName=table)
    return answers


def test_item_answers_written_as_json_equal_moto_s_own_writer(aws):
    from infra.local.moto_server import write_item_answers_as_json

    suffix = uuid.uuid4().hex[:8]
    fast = _answers(aws, f"fast-{suffix}")
    write_item_answers_as_json(False)
    try:
        moto_s = _answers(aws, f"moto-{suffix}")
    finally:
        write_item_answers_as_json(True)
    assert [status for status, _, _ in fast][-2:] == [200, 400], "the failed condition must stay moto's answer"
    for request, mine, theirs in zip(_item_requests("T"), fast, moto_s, strict=True):
        assert mine == theirs, request[0]
