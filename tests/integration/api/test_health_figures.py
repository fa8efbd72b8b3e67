"""The health figures the exchange log keeps as it records (moto): the latest delivery, failures counted
per hour and per minute, so an account's health never scans its log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.adapters import exchanges_repo
from bridge.flows.exchange_log import record_exchange
from bridge.flows.health import account_health


def test_failures_in_the_window_are_counted_to_the_minute(api_env: Any) -> None:
    now = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)
    for minutes_ago in (0, 59, 60 * 23 + 59, 60 * 24, 60 * 24 + 1, 60 * 30):
        exchanges_repo.count_failure("acme", now - timedelta(minutes=minutes_ago))
    assert exchanges_repo.failures_since("acme", now - timedelta(hours=24)) == 4
    assert exchanges_repo.failures_since("acme", now - timedelta(minutes=59)) == 2
    assert exchanges_repo.failures_since("other", now - timedelta(hours=24)) == 0


def test_recorded_failures_and_deliveries_feed_the_health(api_env: Any, call: Any) -> None:
    assert call("POST", "/accounts", json_body={"id": "acme", "name": "Acme"}).status == 201
    for _ in range(3):
        record_exchange(account_id="acme", direction="outbound", kind="object_written", status="failed", reason="x")
    record_exchange(account_id="acme", direction="outbound", kind="object_written", status="ok")
    later = record_exchange(
        account_id="acme",
        direction="inbound",
        kind="webhook_received",
        status="ok",
        sellsy_type="estimate",
        sellsy_id=7,
    )
    # A delivery recorded late (an older stamp) does not hide the latest one.
    record_exchange(
        account_id="acme",
        direction="inbound",
        kind="webhook_received",
        status="ok",
        sellsy_type="estimate",
        sellsy_id=6,
        at=datetime.now(UTC) - timedelta(minutes=5),
    )
    health = account_health("acme")
    assert health["failures_24h"] == 3
    assert health["last_webhook"]["exchange_id"] == later
    assert (health["last_webhook"]["sellsy_type"], health["last_webhook"]["sellsy_id"]) == ("estimate", "7")
    assert health["problems"][-1] == "3 failed exchanges in 24 h"
    answer = call("GET", "/accounts/acme/health").json
    assert answer["failures_24h"] == 3 and answer["issues"][-1] == {"code": "failures", "count": 3, "capped": False}
