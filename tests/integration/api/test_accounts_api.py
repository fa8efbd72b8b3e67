"""Accounts through the API: create, read, list, update settings, signing key, needs_reconnect."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fixtures.api import Call

TRIGGER = {
    "name": "done",
    "when": {"status": "completed", "has_estimate": True},
    "actions": [{"type": "convert_quote", "validate": True}, {"type": "upload_report", "target": "estimate"}],
}
RULE = {"custom_field": "annual-contract", "equals": True, "tag": "annual-contract", "recurrence": "P1Y"}


def scan_all(aws: Any, table_env: str) -> list[dict[str, Any]]:
    table = aws.client("dynamodb")
    return list(table.scan(TableName=aws.env[table_env])["Items"])


def test_create_then_read(call: Call, account: dict[str, Any]) -> None:
    assert account["id"] == "acme" and account["status"] == "disconnected"
    assert account["settings"]["base_currency"] == "EUR"
    read = call("GET", "/accounts/acme")
    assert read.status == 200 and read.json == account


def test_generated_id_and_full_settings(call: Call) -> None:
    settings = {
        "base_currency": "CHF",
        "sync_direction": "both",
        "custom_field_rules": [RULE],
        "triggers": [TRIGGER],
        "deep_link_host": "www.sellsy.fr",
    }
    answer = call("POST", "/accounts", json_body={"name": "Beta", "settings": settings})
    assert answer.status == 201, answer.text
    created = answer.json
    assert created["id"].startswith("acc_")
    stored = call("GET", f"/accounts/{created['id']}").json["settings"]
    assert stored["custom_field_rules"][0]["recurrence"] == "P1Y"
    assert stored["triggers"][0]["actions"][0] == {"type": "convert_quote", "validate": True}


def test_duplicate_id_is_409(call: Call, account: dict[str, Any]) -> None:
    again = call("POST", "/accounts", json_body={"id": "acme", "name": "Other"})
    assert again.status == 409 and "already exists" in again.error["message"]
    assert call("GET", "/accounts/acme").json["name"] == "Acme Services"


def test_unknown_account_is_404(call: Call) -> None:
    for method, path in (("GET", "/accounts/ghost"), ("PATCH", "/accounts/ghost")):
        answer = call(method, path, json_body={"name": "x"} if method == "PATCH" else None)
        assert answer.status == 404 and "ghost" in answer.error["message"]


def test_patch_replaces_only_given_settings(call: Call, account: dict[str, Any]) -> None:
    first = call("PATCH", "/accounts/acme", json_body={"settings": {"triggers": [TRIGGER]}})
    assert first.status == 200, first.text
    second = call("PATCH", "/accounts/acme", json_body={"name": "Acme SA", "settings": {"base_currency": "usd"}})
    body = second.json
    assert body["name"] == "Acme SA"
    assert body["settings"]["base_currency"] == "USD"
    assert body["settings"]["triggers"][0]["name"] == "done"
    assert body["version"] == account["version"] + 2


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"triggers": [{**TRIGGER, "actions": [{"type": "fly"}]}]}, "fly"),
        ({"triggers": [TRIGGER, TRIGGER]}, "repeated: done"),
        ({"custom_field_rules": [{**RULE, "recurrence": "yearly"}]}, "ISO 8601"),
        ({"sync_direction": "up"}, "sync_direction"),
    ],
)
def test_bad_settings_patch_is_422_and_changes_nothing(
    call: Call, account: dict[str, Any], settings: dict[str, Any], words: str
) -> None:
    answer = call("PATCH", "/accounts/acme", json_body={"settings": settings})
    assert answer.status == 422, answer.text
    assert words in answer.text
    assert call("GET", "/accounts/acme").json == account


def test_stale_expected_version_is_409(call: Call, account: dict[str, Any]) -> None:
    ok = call("PATCH", "/accounts/acme", json_body={"name": "A", "expected_version": account["version"]})
    assert ok.status == 200
    stale = call("PATCH", "/accounts/acme", json_body={"name": "B", "expected_version": account["version"]})
    assert stale.status == 409
    assert call("GET", "/accounts/acme").json["name"] == "A"


def test_listing_pages_through_every_account(call: Call) -> None:
    for n in range(7):
        assert call("POST", "/accounts", json_body={"id": f"t{n}", "name": f"T{n}"}).status == 201
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = call("GET", "/accounts", query=query).json
        assert len(page["items"]) <= 3
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == [f"t{n}" for n in range(7)]
    assert call("GET", "/accounts", query={"cursor": "garbage!"}).status == 400


def test_signing_key_lives_in_secrets_manager_only(call: Call, api_env: Any) -> None:
    key = "whsec-0123456789abcdef-first"
    created = call("POST", "/accounts", json_body={"id": "acme", "name": "Acme", "webhook_signing_key": key})
    assert created.status == 201 and created.json["webhook_signing_key_set"] is True
    assert key not in created.text
    assert key not in json.dumps(scan_all(api_env, "ACCOUNTS_TABLE"))

    from bridge.adapters import secrets

    assert secrets.get_webhook_signing_keys("acme") == [key]
    rotated = "whsec-0123456789abcdef-second"
    assert call("PATCH", "/accounts/acme", json_body={"webhook_signing_key": rotated}).status == 200
    secrets.reset_cache()
    assert secrets.get_webhook_signing_keys("acme") == [rotated, key]


def test_needs_reconnect_is_visible_and_counted_once(
    call: Call, account: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from bridge.adapters import accounts_repo

    capsys.readouterr()
    accounts_repo.mark_needs_reconnect("acme", "invalid_grant from Sellsy")
    accounts_repo.mark_needs_reconnect("acme", "invalid_grant again")
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    metrics = [m for m in emitted if "NeedsReconnect" in m]
    assert len(metrics) == 1
    assert metrics[0]["NeedsReconnect"] in (1, 1.0, [1], [1.0])
    shown = call("GET", "/accounts/acme").json
    assert shown["status"] == "needs_reconnect"
    assert shown["status_reason"] == "invalid_grant from Sellsy"
    listed = call("GET", "/accounts", query={"status": "needs_reconnect"}).json["items"]
    assert [a["id"] for a in listed] == ["acme"]


def test_signing_key_reads_are_served_from_memory_when_warm(call: Call, api_env: Any) -> None:
    """The webhook receiver reads the key on every delivery: warm reads must not call Secrets Manager."""
    from bridge.adapters import secrets

    key = "whsec-0123456789abcdef-warm"
    assert call("POST", "/accounts", json_body={"id": "acme", "name": "A", "webhook_signing_key": key}).status == 201
    assert secrets.get_webhook_signing_keys("acme") == [key]
    api_env.client("secretsmanager").delete_secret(
        SecretId=secrets.account_secret_name("acme", secrets.WEBHOOK), ForceDeleteWithoutRecovery=True
    )
    assert secrets.get_webhook_signing_keys("acme") == [key]  # cached (max age 60 s)
    secrets.reset_cache()
    assert secrets.get_webhook_signing_keys("acme") == []


def _tampered(cursor: str) -> str:
    middle = len(cursor) // 2
    return cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]


@pytest.mark.parametrize(
    "path", ["/accounts", "/accounts/acme/exchanges", "/accounts/acme/interventions", "/accounts/acme/records/invoices"]
)
def test_a_cursor_this_api_did_not_issue_is_400_bad_cursor(call: Call, account: dict[str, Any], path: str) -> None:
    from bridge.adapters import dynamo

    issued_elsewhere = dynamo.encode_cursor({"elsewhere": True})
    for cursor in ("garbage!", _tampered(dynamo.encode_cursor({"after": "20261202T000000000000-x"})), issued_elsewhere):
        answer = call("GET", path, query={"cursor": cursor})
        assert answer.status == 400, (path, cursor, answer.text)
        assert answer.json["error"]["code"] == "bad_cursor"
