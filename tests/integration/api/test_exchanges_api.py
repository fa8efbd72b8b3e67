"""Exchange log: records written by flows, browsing through the API, masking, TTL, replay."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge.flows.exchange_log import record_exchange
from tests.fixtures.api import Call

EMAIL = "jeanne.martin@example.fr"
PHONE = "+33 6 12 34 56 78"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJjb3JwSWQiOjQyfQ.c2lnbmF0dXJlc2lnbmF0dXJl"
WORK = {"kind": "estimate_accepted", "account_id": "acme", "delivery_id": "d-1", "payload": {"estimate_id": 77}}


def activate(api_env: Any, account_id: str = "acme") -> None:
    from bridge.adapters import accounts_repo

    accounts_repo.set_status(account_id, "active", None, auth_method="client_credentials")


def receive_all(api_env: Any) -> list[dict[str, Any]]:
    sqs = api_env.client("sqs")
    url = api_env.env["EVENTS_QUEUE_URL"]
    got: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return got
        got += [json.loads(m["Body"]) for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_record_masks_personal_data_and_sets_ttl(call: Call, account: dict[str, Any], api_env: Any) -> None:
    before = time.time()
    exchange_id = record_exchange(
        account_id="acme",
        direction="inbound",
        kind="webhook_received",
        status="received",
        sellsy_type="estimate",
        sellsy_id=77,
        request={"relatedobject": {"email": EMAIL, "note": f"call {PHONE}"}, "token": TOKEN},
        response={"body": f"Bearer {TOKEN}"},
        reason=f"customer {EMAIL} unknown",
        duration_ms=12.7,
        correlation_id="corr-1",
    )
    items = api_env.client("dynamodb").scan(TableName=api_env.env["EXCHANGES_TABLE"])["Items"]
    text = json.dumps(items)
    for clear in (EMAIL, PHONE, TOKEN):
        assert clear not in text
    (item,) = [i for i in items if i.get("id", {}).get("S") == exchange_id]
    retention = int(api_env.env.get("EXCHANGE_RETENTION_DAYS", "30")) * 86400
    assert before + retention - 5 <= int(item["expires_at"]["N"]) <= time.time() + retention + 5
    shown = call("GET", f"/accounts/acme/exchanges/{exchange_id}").json
    assert shown["status"] == "ok" and shown["direction"] == "inbound"
    assert shown["sellsy_id"] == "77" and shown["duration_ms"] == 12
    assert shown["request"]["relatedobject"]["email"] == "*****"
    assert shown["correlation_id"] == "corr-1" and shown["replayable"] is False


def test_bad_vocabulary_is_refused_at_once(account: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="direction"):
        record_exchange(account_id="acme", direction="sideways", kind="x", status="ok")
    with pytest.raises(ValueError, match="status"):
        record_exchange(account_id="acme", direction="inbound", kind="x", status="maybe")


def seed(n: int, **common: Any) -> list[str]:
    ids = []
    for i in range(n):
        ids.append(
            record_exchange(
                account_id="acme",
                direction=common.get("direction", "inbound" if i % 2 else "outbound"),
                kind="object_read",
                status=common.get("status", "failed" if i % 3 == 0 else "ok"),
                sellsy_type="invoice",
                sellsy_id=str(100 + i % 2),
                field_id=f"int-{i}",
            )
        )
    return ids


def test_listing_is_newest_first_with_filters(call: Call, account: dict[str, Any]) -> None:
    ids = seed(9)
    page = call("GET", "/accounts/acme/exchanges", query={"limit": 50}).json
    assert [e["id"] for e in page["items"]] == list(reversed(ids))
    failed = call("GET", "/accounts/acme/exchanges", query={"status": "failed"}).json["items"]
    assert [e["id"] for e in failed] == [ids[i] for i in (6, 3, 0)]
    inbound = call("GET", "/accounts/acme/exchanges", query={"direction": "inbound"}).json["items"]
    assert {e["direction"] for e in inbound} == {"inbound"} and len(inbound) == 4
    one_object = call("GET", "/accounts/acme/exchanges", query={"sellsy_type": "invoice", "sellsy_id": "101"}).json[
        "items"
    ]
    assert [e["id"] for e in one_object] == [ids[i] for i in (7, 5, 3, 1)]
    by_field = call("GET", "/accounts/acme/exchanges", query={"field_id": "int-4"}).json["items"]
    assert [e["id"] for e in by_field] == [ids[4]]


def test_time_window_and_pagination(call: Call, account: dict[str, Any]) -> None:
    ids = seed(7)
    seen: list[str] = []
    cursor = None
    while True:
        query: dict[str, Any] = {"limit": 3}
        if cursor:
            query["cursor"] = cursor
        page = call("GET", "/accounts/acme/exchanges", query=query).json
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert call("GET", "/accounts/acme/exchanges", query={"since": future}).json["items"] == []
    past = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    assert call("GET", "/accounts/acme/exchanges", query={"until": past}).json["items"] == []
    # Far-past windows are clamped to the retention period instead of walking years of partitions.
    assert [
        e["id"] for e in call("GET", "/accounts/acme/exchanges", query={"since": "2000-01-01T00:00:00Z"}).json["items"]
    ] == list(reversed(ids))
    naive = call("GET", "/accounts/acme/exchanges", query={"since": "2026-11-21T10:00:00"})
    assert naive.status == 400 and "time zone" in naive.error["message"]


def test_tenants_never_see_each_other(call: Call, account: dict[str, Any]) -> None:
    assert call("POST", "/accounts", json_body={"id": "other", "name": "Other"}).status == 201
    (mine,) = seed(1)
    assert call("GET", "/accounts/other/exchanges").json["items"] == []
    assert call("GET", f"/accounts/other/exchanges/{mine}").status == 404


@pytest.mark.parametrize(
    ("path", "query", "status"),
    [
        ("/accounts/ghost/exchanges", {}, 404),
        ("/accounts/acme/exchanges/20261121T101500000000Z-0a1b2c3d", {}, 404),
        ("/accounts/acme/exchanges/not-an-id", {}, 422),
        ("/accounts/acme/exchanges", {"status": "weird"}, 422),
        ("/accounts/acme/exchanges", {"cursor": "!!"}, 400),
        ("/accounts/acme/exchanges", {"limit": 500}, 422),
    ],
)
def test_rejected_exchange_queries(
    call: Call, account: dict[str, Any], path: str, query: dict[str, Any], status: int
) -> None:
    answer = call("GET", path, query=query)
    assert answer.status == status, answer.text
    assert answer.error["message"]


def test_failed_exchange_replays_through_the_queue(
    call: Call, account: dict[str, Any], api_env: Any, no_pump: None
) -> None:
    activate(api_env)
    receive_all(api_env)
    work = {**WORK, "payload": {"estimate_id": 77, "contact": {"email": EMAIL}}}
    failed_id = record_exchange(
        account_id="acme",
        direction="inbound",
        kind="intervention_created",
        status="failed",
        sellsy_type="estimate",
        sellsy_id=77,
        reason="SellsyUnavailable: 503",
        correlation_id="corr-1",
        replay=work,
    )
    # The work message (may hold personal data) is kept out of the exchange record itself.
    table_text = json.dumps(api_env.client("dynamodb").scan(TableName=api_env.env["EXCHANGES_TABLE"])["Items"])
    assert EMAIL not in table_text
    assert call("GET", f"/accounts/acme/exchanges/{failed_id}").json["replayable"] is True

    answer = call("POST", f"/accounts/acme/exchanges/{failed_id}/replay")
    assert answer.status == 202, answer.text
    body = answer.json
    assert body["replay_of"] == failed_id and answer.headers["location"] == body["link"]

    (message,) = receive_all(api_env)
    assert message["replay_of"] == failed_id
    assert message["delivery_id"] == body["delivery_id"] != "d-1"
    assert message["payload"] == work["payload"] and message["kind"] == "estimate_accepted"

    new = call("GET", body["link"]).json
    assert (new["kind"], new["status"], new["replay_of"], new["sellsy_id"]) == (
        "replay_requested",
        "ok",
        failed_id,
        "77",
    )
    assert call("GET", f"/accounts/acme/exchanges/{failed_id}").json["replayed_by"] == [body["exchange_id"]]
    assert body["already_replayed"] is False

    # A second replay of the same exchange enqueues nothing and says so, naming the first replay.
    second = call("POST", f"/accounts/acme/exchanges/{failed_id}/replay")
    assert second.status == 200, second.text
    assert second.json["already_replayed"] is True
    assert (second.json["exchange_id"], second.json["delivery_id"]) == (body["exchange_id"], body["delivery_id"])
    assert receive_all(api_env) == []
    assert call("GET", f"/accounts/acme/exchanges/{failed_id}").json["replayed_by"] == [body["exchange_id"]]


def test_only_failed_exchanges_with_work_can_be_replayed(
    call: Call, account: dict[str, Any], api_env: Any, no_pump: None
) -> None:
    activate(api_env)
    receive_all(api_env)
    ok_id = record_exchange(account_id="acme", direction="inbound", kind="x", status="ok", replay=WORK)
    bare_id = record_exchange(account_id="acme", direction="inbound", kind="x", status="failed")
    for exchange_id, words in ((ok_id, "only failed"), (bare_id, "no replay message")):
        answer = call("POST", f"/accounts/acme/exchanges/{exchange_id}/replay")
        assert answer.status == 409 and words in answer.error["message"]
    missing = call("POST", "/accounts/acme/exchanges/20261121T101500000000Z-0a1b2c3d/replay")
    assert missing.status == 404
    assert receive_all(api_env) == []


def test_replay_waits_for_a_reconnected_account(
    call: Call, account: dict[str, Any], api_env: Any, no_pump: None
) -> None:
    receive_all(api_env)
    failed_id = record_exchange(account_id="acme", direction="inbound", kind="x", status="failed", replay=WORK)
    answer = call("POST", f"/accounts/acme/exchanges/{failed_id}/replay")
    assert answer.status == 409 and "disconnected" in answer.error["message"]
    assert receive_all(api_env) == []
