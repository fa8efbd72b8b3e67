"""A failure fixed by a later success is shown as such; every failure since a time is replayed at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.flows.exchange_log import record_exchange, subject_of
from tests.fixtures.api import Call
from tests.integration.api.test_exchanges_api import activate, receive_all

WORK = {"kind": "sellsy.webhook", "account_id": "acme", "payload": {"entity": "estimate", "object_id": 7}}


def fail(sellsy_id: int, *, kind: str = "intervention_created", replay: bool = True, **more: Any) -> str:
    return record_exchange(
        account_id="acme",
        direction="inbound",
        kind=kind,
        status="failed",
        sellsy_type="estimate",
        sellsy_id=sellsy_id,
        reason="Sellsy answered 503",
        replay=WORK if replay else None,
        **more,
    )


def succeed(sellsy_id: int, *, kind: str = "intervention_created", direction: str = "inbound") -> str:
    return record_exchange(
        account_id="acme", direction=direction, kind=kind, status="ok", sellsy_type="estimate", sellsy_id=sellsy_id
    )


def test_subjects_separate_actions_field_records_and_sellsy_objects() -> None:
    assert subject_of("outbound", "action_add_comment", "comment", "9", "est-1") == "outbound#action_add_comment#est-1"
    assert subject_of("outbound", "customer_pushed", "company", "3", "company-3") == "outbound#company-3"
    assert subject_of("inbound", "intervention_created", "estimate", "7", "est-7") == "inbound#estimate#7"
    assert subject_of("inbound", "webhook_received", "estimate", "7", None) is None  # a receipt, not an outcome
    assert subject_of("internal", "replay_requested", "estimate", "7", None) is None
    assert subject_of("import", "import_done", None, None, None) is None


def test_a_later_success_about_the_same_subject_fixes_a_failure(call: Call, account: dict[str, Any]) -> None:
    fixed = fail(1)
    still_failing = fail(2)
    succeed(1, kind="intervention_exists")  # any later success about estimate 1, inbound
    succeed(2, direction="outbound", kind="customer_pushed")  # another direction: fixes nothing
    receipt = record_exchange(
        account_id="acme",
        direction="inbound",
        kind="webhook_received",
        status="ok",
        sellsy_type="estimate",
        sellsy_id=2,
    )
    later_failure = fail(1)  # after the success: not fixed by it
    page = {e["id"]: e for e in call("GET", "/accounts/acme/exchanges", query={"status": "failed"}).json["items"]}
    assert page[fixed]["fixed_by"] and page[fixed]["fixed_by"] > fixed
    assert page[still_failing]["fixed_by"] is None and receipt > still_failing
    assert page[later_failure]["fixed_by"] is None
    assert call("GET", f"/accounts/acme/exchanges/{fixed}").json["fixed_by"] == page[fixed]["fixed_by"]


def test_replaying_every_failure_since_a_time_skips_fixed_replayed_and_bare_ones(
    call: Call, account: dict[str, Any], api_env: Any, no_pump: None
) -> None:
    activate(api_env)
    start = datetime.now(UTC) - timedelta(seconds=1)
    first, second = fail(10), fail(11)
    fixed = fail(12)
    succeed(12)
    bare = fail(13, replay=False)
    replayed_before = fail(14)
    assert call("POST", f"/accounts/acme/exchanges/{replayed_before}/replay").status == 202
    receive_all(api_env)

    body = {"since": start.isoformat()}
    plan = call("POST", "/accounts/acme/exchanges/replay-failures", json_body={**body, "dry_run": True})
    assert plan.status == 200, plan.text
    assert plan.json["replayed"] == [first, second] and plan.json["replay_exchanges"] == []
    reasons = {s["exchange_id"]: s["reason"] for s in plan.json["skipped"]}
    assert reasons == {fixed: "fixed", bare: "not_replayable", replayed_before: "already_replayed"}
    assert receive_all(api_env) == []  # a dry run enqueues nothing

    done = call("POST", "/accounts/acme/exchanges/replay-failures", json_body=body)
    assert done.status == 200, done.text
    assert done.json["replayed"] == [first, second] and len(done.json["replay_exchanges"]) == 2
    assert sorted(m["replay_of"] for m in receive_all(api_env)) == sorted([first, second])
    again = call("POST", "/accounts/acme/exchanges/replay-failures", json_body=body).json
    assert again["replayed"] == [] and {s["reason"] for s in again["skipped"]} >= {"already_replayed"}


def test_a_bulk_replay_outside_the_window_or_with_bad_input_does_nothing(
    call: Call, account: dict[str, Any], api_env: Any, no_pump: None
) -> None:
    activate(api_env)
    fail(20)
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    answer = call("POST", "/accounts/acme/exchanges/replay-failures", json_body={"since": later})
    assert answer.status == 200 and answer.json["replayed"] == [] and answer.json["skipped"] == []
    naive = call("POST", "/accounts/acme/exchanges/replay-failures", json_body={"since": "2026-11-21T10:00:00"})
    assert naive.status == 400 and "time zone" in naive.error["message"]
    assert call("POST", "/accounts/acme/exchanges/replay-failures", json_body={}).status == 422
    assert call("POST", "/accounts/nobody/exchanges/replay-failures", json_body={"since": later}).status == 404


def test_a_bulk_replay_of_an_account_that_cannot_sync_is_refused(call: Call, account: dict[str, Any]) -> None:
    fail(30)
    answer = call("POST", "/accounts/acme/exchanges/replay-failures", json_body={"since": "2026-01-01T00:00:00Z"})
    assert answer.status == 409 and "reconnect" in answer.error["message"]
