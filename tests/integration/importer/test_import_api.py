"""Imports and records through the HTTP API handler, with the local runner playing the state machine:
start a run, follow it, browse records, edit one (its fields become locked), bad input → 4xx JSON."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from infra.local.import_runner import list_accounts, run_import
from tests.fixtures.api import invoke, reset_app_caches

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


def connect(sb: Any) -> None:
    body = {"method": "client_credentials", "client_id": sb.client_id, "client_secret": sb.client_secret}
    answer = invoke("PUT", f"/accounts/{ACCOUNT}/connection", json_body=body)
    assert answer.status == 200, answer.text


def test_start_follow_browse_and_lock(api):
    refused = invoke("POST", f"/accounts/{ACCOUNT}/imports")
    assert refused.status == 409 and refused.error["code"] == "account_not_active"
    assert list_accounts() == []  # the state machine's first step lists active accounts only
    connect(api)
    assert list_accounts() == [ACCOUNT]
    started = invoke("POST", f"/accounts/{ACCOUNT}/imports")
    assert started.status == 202, started.text
    run_id = started.json["run_id"]
    assert started.json["status"] == "running"
    assert invoke("POST", f"/accounts/{ACCOUNT}/imports").json["run_id"] == run_id  # same unfinished run

    seen: list[dict[str, Any]] = []
    results = run_import([ACCOUNT], on_progress=seen.append)
    assert results[ACCOUNT]["status"] == "done" and results[ACCOUNT]["run_id"] == run_id
    assert seen and seen[-1]["progress"]["counters"]["invoices"]["created"] == 60

    run = invoke("GET", f"/accounts/{ACCOUNT}/imports/{run_id}")
    assert run.status == 200 and run.json["status"] == "done"
    summary = run.json["summary"]
    assert summary["streams"]["invoices"]["created"] == 60 and summary["api_calls"] > 60
    assert summary["exports"]["invoices"]["key"].endswith(f"{run_id}/invoices.jsonl.gz")

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
