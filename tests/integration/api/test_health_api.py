"""GET /accounts/{id}/health: last webhook, last import and its status, failures in 24 h, quota left and the
webhook registration, read from what the flows stored (moto + the Sellsy sandbox, real handlers)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from bridge.flows.exchange_log import record_exchange
from bridge.flows.inbound import receipt
from infra.local.executions import ExecutionRunner, wait_played


def _connect(call: Any, sandbox: Any) -> None:
    body = {"method": "client_credentials", "client_id": sandbox.client_id, "client_secret": sandbox.client_secret}
    assert call("PUT", "/accounts/acme/connection", json_body=body).status == 200


def test_health_of_a_new_account_says_what_is_missing(call, account):
    health = call("GET", "/accounts/acme/health")
    assert health.status == 200, health.text
    body = health.json
    assert body["last_webhook"] is None and body["last_import"] is None and body["quota"] is None
    assert body["failures_24h"] == 0 and body["webhook"] == {
        "registered": False,
        "sellsy_webhook_id": None,
        "signing_key_set": False,
    }
    assert body["problems"] == [
        "account is disconnected",
        "no webhook registered in Sellsy",
        "no webhook signing key: every delivery is refused",
    ]
    assert call("GET", "/accounts/nobody/health").error["code"] == "not_found"


def test_health_after_deliveries_failures_and_an_import(call, account, sellsy):
    _connect(call, sellsy)
    registered = call("POST", "/accounts/acme/webhook", json_body={})
    assert registered.status == 200, registered.text
    message = {
        "kind": receipt.KIND,
        "account_id": "acme",
        "delivery_id": "d" * 32,
        "correlation_id": "c-1",
        "received_at": datetime.now(UTC).isoformat(),
        "payload": {"entity": "estimate", "object_id": "42"},
    }
    delivery_id = receipt.record_receipt(message)  # as the worker does for each delivery it takes
    for _ in range(2):
        record_exchange(account_id="acme", direction="outbound", kind="object_written", status="failed", reason="x")

    unhealthy = call("GET", "/accounts/acme/health").json
    assert "no successful import in 26 h" in unhealthy["problems"]
    started = call("POST", "/accounts/acme/imports")
    assert started.status == 202, started.text
    ExecutionRunner(os.environ["IMPORT_STATE_MACHINE_ARN"]).run_pending()
    assert wait_played(started.json["execution_arn"], timeout=300)

    health = call("GET", "/accounts/acme/health").json
    assert health["status"] == "active"
    assert health["last_webhook"]["exchange_id"] == delivery_id
    assert (health["last_webhook"]["sellsy_type"], health["last_webhook"]["sellsy_id"]) == ("estimate", "42")
    assert health["last_import"]["run_id"] == started.json["run_id"]
    assert health["last_import"]["status"] == "done"
    assert health["last_successful_import_at"] == health["last_import"]["finished_at"]
    assert health["failures_24h"] == 2 and health["failures_24h_capped"] is False
    assert isinstance(health["quota"]["remaining"]["day"], int)  # what Sellsy answered during the import
    assert health["webhook"]["registered"] is True and health["webhook"]["signing_key_set"] is True
    assert health["problems"] == ["2 failed exchanges in 24 h"]
