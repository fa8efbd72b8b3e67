"""A hand edit with a number no store can hold (NaN, ±Infinity, 1e400, a 40-digit integer, 1e300) is a 400
naming the problem, and the record is left exactly as it was: not saved as null, not locked."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.api import invoke

ACCOUNT = "refusals"
RECORD = "inv-1"
URL = f"/accounts/{ACCOUNT}/records/invoices/{RECORD}"


@pytest.fixture
def stored(api_env: Any) -> dict[str, Any]:
    from bridge.adapters import records_repo
    from bridge.domain.revenue import stable_hash

    assert invoke("POST", "/accounts", json_body={"id": ACCOUNT, "name": "Refusals Co"}).status == 201
    data = {"original_id": 1, "status": "paid", "amount_incl_tax": 120}
    item = {**records_repo.record_key(ACCOUNT, "invoices", RECORD), "data": data, "hash": stable_hash(data)}
    records_repo.put_items([item])
    before = records_repo.get_record(ACCOUNT, "invoices", RECORD)
    assert before is not None
    return before


@pytest.mark.parametrize(
    ("raw_value", "code"),
    [
        ("NaN", "invalid_json"),
        ("Infinity", "invalid_json"),
        ("-Infinity", "invalid_json"),
        ("1e400", "invalid_json"),
        ("-1e400", "invalid_json"),
        ("1e300", "out_of_range"),
        ("1" + "0" * 39, "out_of_range"),
        ("1000000000000000", "out_of_range"),
    ],
)
def test_a_number_out_of_range_is_a_400_and_changes_nothing(stored, raw_value, code):
    from bridge.adapters import records_repo

    body = '{"fields": {"amount_incl_tax": ' + raw_value + "}}"
    answer = invoke("PATCH", URL, body=body, headers={"content-type": "application/json"})
    assert answer.status == 400, answer.text
    assert answer.error["code"] == code
    assert "finite" in answer.error["message"] or "range" in answer.error["message"]
    assert records_repo.get_record(ACCOUNT, "invoices", RECORD) == stored
    assert invoke("GET", URL).json["locked_fields"] == []


def test_a_large_but_representable_amount_is_saved_and_locked(stored):
    field = "amount_incl_tax"
    answer = invoke("PATCH", URL, json_body={"fields": {field: 999999999999.99}})
    assert answer.status == 200, answer.text
    assert answer.json["data"][field] == "999999999999.99"
    assert answer.json["locked_fields"] == [field]
