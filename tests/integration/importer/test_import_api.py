"""Imports and records through the HTTP API handler: a start is a real StartExecution (recorded by moto) for
that account only, played as the embedded default does; list and follow runs, a second start is refused while
one runs, browse records, edit one (its fields become locked), bad input → 4xx JSON."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from infra.local.executions import ExecutionRunner, wait_played
from infra.local.import_runner import list_accounts
from tests.fixtures.api import invoke, reset_app_caches
from tests.fixtures.emf import emitted_metrics, seen_by_alarm

ACCOUNT = "revenue"


@pytest.fixture
def api(api_env: Any, sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # api_env: a clean moto with the API token in place (a running stack's own token, if any).
    from bridge.settings import get_settings

    sb = sandbox_factory(seed=9, size=60)
    monkeypatch.setenv("SELLSY_API_URL", sb.api_url)
    monkeypatch.setenv("SELLSY_TOKEN_URL", sb.token_url)
    get_settings.cache_clear()
    reset_app_caches()
    assert invoke("POST", "/accounts", json_body={"id": ACCOUNT, "name": "Revenue Co"}).status == 201
    yield sb
    monkeypatch.undo()
    get_settings.cache_clear()
    reset_app_caches()


def connect(sb: Any, account_id: str = ACCOUNT) -> None:
    body = {"method": "client_credentials", "client_id": sb.client_id, "client_secret": sb.client_secret}
    answer = invoke("PUT", f"/accounts/{account_id}/connection", json_body=body)
    assert answer.status == 200, answer.text


def _executions(status: str | None = None) -> list[dict[str, Any]]:
    from bridge.adapters.aws import client

    sfn = client("stepfunctions")
    arn = os.environ["IMPORT_STATE_MACHINE_ARN"]
    listed = sfn.list_executions(stateMachineArn=arn, **({"statusFilter": status} if status else {}))
    return [sfn.describe_execution(executionArn=e["executionArn"]) for e in listed["executions"]]


def play(execution_arn: str) -> None:
    """What the embedded default does at once: play the execution moto recorded (a running stack in this
    process may have taken it already; then wait for it)."""
    ExecutionRunner(os.environ["IMPORT_STATE_MACHINE_ARN"]).run_pending()
    assert wait_played(execution_arn, timeout=300), execution_arn


def start_and_play() -> dict[str, Any]:
    started = invoke("POST", f"/accounts/{ACCOUNT}/imports")
    assert started.status == 202, started.text
    play(started.json["execution_arn"])
    return dict(started.json)


def test_start_follow_browse_and_lock(api):
    refused = invoke("POST", f"/accounts/{ACCOUNT}/imports")
    assert refused.status == 409 and refused.error["code"] == "account_not_active"
    assert list_accounts() == []  # the state machine's first step lists active accounts only
    connect(api)
    assert invoke("POST", "/accounts", json_body={"id": "bystander", "name": "Other Co"}).status == 201
    connect(api, "bystander")
    assert sorted(list_accounts()) == ["bystander", ACCOUNT]

    started = invoke("POST", f"/accounts/{ACCOUNT}/imports")
    assert started.status == 202, started.text
    run_id, execution_arn = started.json["run_id"], started.json["execution_arn"]
    assert started.json["status"] == "running" and execution_arn
    # One real StartExecution, for this account only (no listing of every account).
    [execution] = _executions()
    assert execution["executionArn"] == execution_arn and execution["status"] == "RUNNING"
    assert json.loads(execution["input"]) == {"accounts": [{"account_id": ACCOUNT}], "max_concurrency": 1}

    again = invoke("POST", f"/accounts/{ACCOUNT}/imports")
    assert again.status == 409, again.text
    assert again.error["code"] == "import_running"
    assert again.error["details"] == {
        "run_id": run_id,
        "started_at": started.json["started_at"],
        "execution_arn": execution_arn,
    }
    assert len(_executions()) == 1

    play(execution_arn)
    [finished] = _executions()
    assert finished["status"] == "SUCCEEDED", finished
    listed = invoke("GET", f"/accounts/{ACCOUNT}/imports")
    assert listed.status == 200, listed.text
    [run] = listed.json["items"]
    assert run["run_id"] == run_id and run["status"] == "done" and run["execution_arn"] == execution_arn
    assert run["progress"]["counters"]["invoices"]["created"] == 60
    assert run["progress"]["counters"]["customers"]["created"] > 0
    assert invoke("GET", "/accounts/bystander/imports").json == {"items": []}  # the other account: untouched

    run = invoke("GET", f"/accounts/{ACCOUNT}/imports/{run_id}")
    assert run.status == 200 and run.json["status"] == "done"
    summary = run.json["summary"]
    assert summary["streams"]["invoices"]["created"] == 60 and summary["api_calls"] > 60
    assert summary["exports"]["invoices"]["key"].endswith(f"{run_id}/invoices.jsonl.gz")
    assert summary["reconciliation"]["out_of_balance"] == 0  # the run's report is part of the summary served
    assert summary["reconciliation"]["streams"]["invoices"]["documents"] == 60
    assert summary["exports"]["reconciliation"]["key"].endswith(f"{run_id}/reconciliation.json")

    page = invoke("GET", f"/accounts/{ACCOUNT}/records/invoices", query={"limit": 25})
    assert page.status == 200 and len(page.json["items"]) == 25 and page.json["next_cursor"]
    ids = {i["id"] for i in page.json["items"]}
    cursor = page.json["next_cursor"]
    while cursor:
        more = invoke("GET", f"/accounts/{ACCOUNT}/records/invoices", query={"limit": 25, "cursor": cursor})
        ids |= {i["id"] for i in more.json["items"]}
        cursor = more.json["next_cursor"]
    assert len(ids) == 60

    paid = invoke("GET", f"/accounts/{ACCOUNT}/records/invoices", query={"status": "paid", "limit": 200})
    assert paid.status == 200 and all(i["data"]["status"] == "paid" for i in paid.json["items"])

    target = sorted(ids)[0]
    patched = invoke(
        "PATCH", f"/accounts/{ACCOUNT}/records/invoices/{target}", json_body={"fields": {"status": "disputed"}}
    )
    assert patched.status == 200, patched.text
    assert patched.json["locked_fields"] == ["status"] and patched.json["data"]["status"] == "disputed"
    again = invoke("GET", f"/accounts/{ACCOUNT}/records/invoices/{target}")
    assert again.json["locked_fields"] == ["status"]
    locked = invoke("GET", f"/accounts/{ACCOUNT}/records/invoices", query={"locked": "true"})
    assert [i["id"] for i in locked.json["items"]] == [target]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/records/invoices", {"cursor": "not-a-cursor"}, 400, "bad_cursor"),
        ("PATCH", "/records/invoices/1", {"fields": {"nope": 1}}, 400, "unknown_field"),
        ("PATCH", "/records/invoices/1", {"fields": {"original_id": 2}}, 400, "read_only_field"),
        ("PATCH", "/records/invoices/999999", {"fields": {"status": "x"}}, 404, "not_found"),
        ("GET", "/records/invoices/999999", None, 404, "not_found"),
        ("GET", "/imports/20260101T000000Z-abcdef", None, 404, "not_found"),
    ],
)
def test_bad_input_is_a_clear_4xx(api, method, path, body, status, code):
    url = f"/accounts/{ACCOUNT}{path}"
    answer = invoke(method, url, query=body) if method == "GET" else invoke(method, url, json_body=body)
    assert answer.status == status, answer.text
    assert answer.error["code"] == code


def test_unknown_stream_and_bad_patch_body_are_4xx(api):
    assert invoke("GET", f"/accounts/{ACCOUNT}/records/widgets").status in (400, 422)
    answer = invoke("PATCH", f"/accounts/{ACCOUNT}/records/invoices/1", json_body={"fields": {}})
    assert answer.status in (400, 422) and "error" in answer.json


def test_the_openapi_document_describes_starting_and_listing_imports(api_env):
    document = invoke("GET", "/openapi.json", token=None).json
    imports = document["paths"]["/accounts/{account_id}/imports"]
    assert {"get", "post"} <= set(imports)
    assert "202" in imports["post"]["responses"] and "409" in imports["post"]["responses"]
    listed = imports["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["$ref"].endswith("/ImportRunPage")
    assert "execution_arn" in document["components"]["schemas"]["ImportRun"]["properties"]


def test_an_import_stopped_at_the_quota_reserve_emits_the_metric_the_alarm_watches(api, capfd):
    connect(api)
    api.set_quotas(per_day=40)  # Sellsy answers 39 left after the first call: below the reserve
    settings = {"settings": {"daily_quota_reserve": 100}}
    assert invoke("PATCH", f"/accounts/{ACCOUNT}", json_body=settings).status == 200
    capfd.readouterr()

    start_and_play()
    [run] = invoke("GET", f"/accounts/{ACCOUNT}/imports").json["items"]
    assert run["status"] == "quota_reserve_reached", run
    stopped = seen_by_alarm(emitted_metrics(capfd.readouterr().out), "ImportRunStoppedAlarm")
    assert len(stopped) == 1 and stopped[0].value in (1, [1], 1.0, [1.0])
    assert stopped[0].blob["account_id"] == ACCOUNT and stopped[0].blob["outcome"] == "quota_reserve_reached"

    # The next start resumes the same run (a stopped run is not "running": no 409).
    api.set_quotas(per_day=None)
    assert invoke("PATCH", f"/accounts/{ACCOUNT}", json_body={"settings": {"daily_quota_reserve": 0}}).status == 200
    assert start_and_play()["run_id"] == run["run_id"]
    done = invoke("GET", f"/accounts/{ACCOUNT}/imports/{run['run_id']}").json
    assert done["status"] == "done"
    assert seen_by_alarm(emitted_metrics(capfd.readouterr().out), "NoSuccessfulImportAlarm")


def test_a_chunk_that_crashes_is_recorded_failed_and_emits_the_metric_the_alarm_watches(
    api, capfd, monkeypatch: pytest.MonkeyPatch
):
    from bridge.flows.importer import phases

    def crash(*args: Any) -> Any:
        raise RuntimeError("the import function crashed")

    connect(api)
    monkeypatch.setitem(phases.PHASE_STEPS, phases.phase_names()[0], crash)
    capfd.readouterr()
    start_and_play()
    [run] = invoke("GET", f"/accounts/{ACCOUNT}/imports").json["items"]
    assert run["status"] == "failed", run
    assert run["progress"]["error"] == {"type": "RuntimeError", "message": "the import function crashed"}
    [execution] = _executions()
    assert execution["status"] == "SUCCEEDED"  # the Map caught it: without our metric, no alarm would fire
    [failed] = seen_by_alarm(emitted_metrics(capfd.readouterr().out), "ImportRunStoppedAlarm")
    assert failed.blob["outcome"] == "failed" and failed.blob["account_id"] == ACCOUNT
