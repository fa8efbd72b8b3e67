"""The shared DynamoDB pieces: cursor codec, key builders, conditional failures, paged reads (no AWS needed)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bridge.adapters import dynamo, records_repo


@pytest.mark.parametrize(
    "value",
    [
        {"after": "20261202T061500123456-ab12"},
        {"s": 3, "k": {"pk": "A#acme#R#invoices#3", "sk": "1234-98765"}},
        {"s": "scheduled", "k": None},
        {"text": "é/+?=&"},  # characters that plain base64 or a URL would mangle
    ],
)
def test_a_cursor_decodes_to_what_was_encoded(value: dict[str, Any]) -> None:
    cursor = dynamo.encode_cursor(value)
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor  # safe in a query string as is
    assert dynamo.decode_cursor(cursor) == value


def test_a_padded_cursor_is_read_too() -> None:
    # Cursors handed out before the codec was shared kept their base64 padding.
    padded = base64.urlsafe_b64encode(json.dumps({"s": "done"}).encode()).decode()
    assert padded.endswith("=")
    assert dynamo.decode_cursor(padded) == {"s": "done"}


def _tampered(cursor: str) -> str:
    middle = len(cursor) // 2
    return cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor!",
        "",
        base64.urlsafe_b64encode(b"not json").decode(),
        dynamo.encode_cursor({"after": 1})[:-3],  # cut short
        base64.urlsafe_b64encode(b'["a list"]').decode(),
        _tampered(dynamo.encode_cursor({"after": "20261202T061500123456-ab12"})),
    ],
)
def test_a_cursor_this_api_did_not_issue_is_a_bad_cursor(cursor: str) -> None:
    with pytest.raises(dynamo.BadCursor, match="not a value returned by this API") as caught:
        dynamo.decode_cursor(cursor, lambda value: isinstance(value.get("after"), str))
    assert isinstance(caught.value, ValueError)  # what the API handlers turn into 400 bad_cursor


def test_the_shape_check_refuses_a_well_formed_cursor_of_another_listing() -> None:
    exchanges_cursor = dynamo.encode_cursor({"after": "x"})
    with pytest.raises(dynamo.BadCursor):
        records_repo.decode_cursor(exchanges_cursor)
    with pytest.raises(dynamo.BadCursor):
        records_repo.decode_cursor(records_repo.encode_cursor(records_repo.SHARDS, None))  # shard out of range
    assert records_repo.decode_cursor(records_repo.encode_cursor(2, {"pk": "p", "sk": "s"})) == (
        2,
        {"pk": "p", "sk": "s"},
    )


def test_keys_of_an_account_share_one_prefix() -> None:
    assert dynamo.account_pk("acme") == "A#acme"
    assert dynamo.account_pk("acme", "R", "invoices", 3) == "A#acme#R#invoices#3"
    assert dynamo.item_key(dynamo.account_pk("acme"), "ACCOUNT") == {"pk": "A#acme", "sk": "ACCOUNT"}
    assert dynamo.is_table_key({"pk": "a", "sk": "b"})
    assert not dynamo.is_table_key({"pk": "a"}) and not dynamo.is_table_key(["pk", "sk"])


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "PutItem")


def test_only_a_refused_condition_counts_as_a_conditional_failure() -> None:
    assert dynamo.is_conditional_failure(_client_error("ConditionalCheckFailedException"))
    assert not dynamo.is_conditional_failure(_client_error("ProvisionedThroughputExceededException"))
    assert not dynamo.is_conditional_failure(ClientError({}, "PutItem"))


def test_pages_follow_the_last_evaluated_key_and_read_the_request_again() -> None:
    answers = [
        {"Items": [{"n": 1}], "LastEvaluatedKey": {"pk": "p", "sk": "1"}},
        {"Items": [{"n": 2}], "LastEvaluatedKey": {"pk": "p", "sk": "2"}},
        {"Items": []},
    ]
    calls: list[dict[str, Any]] = []

    def read(**request: Any) -> dict[str, Any]:
        calls.append(dict(request))
        return answers[len(calls) - 1]

    request: dict[str, Any] = {"Limit": 5}
    seen = []
    for items, last in dynamo.pages(read, request, start={"pk": "p", "sk": "0"}):
        seen.append((items, last))
        request["Limit"] = 2
    assert seen == [
        ([{"n": 1}], {"pk": "p", "sk": "1"}),
        ([{"n": 2}], {"pk": "p", "sk": "2"}),
        ([], None),
    ]
    assert calls == [
        {"Limit": 5, "ExclusiveStartKey": {"pk": "p", "sk": "0"}},
        {"Limit": 2, "ExclusiveStartKey": {"pk": "p", "sk": "1"}},
        {"Limit": 2, "ExclusiveStartKey": {"pk": "p", "sk": "2"}},
    ]
