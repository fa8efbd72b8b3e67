"""End to end: a delivery that failed while the account's tokens were dead is replayed after the fix.

Sandbox (quote accepted) → signed webhook → local gateway → queue → worker → failed, replayable
exchange; the user reconnects, replays through the API; the intervention exists exactly once; a second
replay request of the same exchange is a no-op that says so.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

import bridge.handlers.api
import bridge.handlers.webhook
import bridge.handlers.worker  # noqa: F401  (imported before the gateway/pump threads do)
from bridge.adapters import accounts_repo
from bridge.flows.inbound import account_cache
from tests.fixtures.api import reset_app_caches
from tests.fixtures.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def exchanges(api: httpx.Client, account_id: str, **query: Any) -> list[dict[str, Any]]:
    answer = api.get(f"/accounts/{account_id}/exchanges", params={"limit": 200, **query})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def test_failed_delivery_replayed_after_reconnect_makes_one_intervention(stack: Any, api: httpx.Client) -> None:
    from infra.local.stack import store_api_token

    store_api_token(stack.api_token)  # earlier tests may have wiped moto (aws_clean)
    reset_app_caches()
    sandbox = stack.sandbox
    account_id = f"rp-{uuid.uuid4().hex[:10]}"
    created = api.post(
        "/accounts", json={"id": account_id, "name": "Replay e2e", "webhook_signing_key": uuid.uuid4().hex * 2}
    )
    assert created.status_code == 201, created.text
    creds = {"method": "client_credentials", "client_id": sandbox.client_id, "client_secret": sandbox.client_secret}
    assert api.put(f"/accounts/{account_id}/connection", json=creds).status_code == 200
    registered = api.post(f"/accounts/{account_id}/webhook", json={"events": ["estimate.step"]})
    assert registered.status_code == 200, registered.text
    webhook_id = registered.json()["sellsy_webhook_id"]
    try:
        # The fault: Sellsy stopped accepting the account's credentials.
        accounts_repo.mark_needs_reconnect(account_id, "invalid_grant (simulated)")
        assert api.get(f"/accounts/{account_id}").json()["status"] == "needs_reconnect"
        account_cache.forget(account_id)

        estimate = next(e for e in sandbox.state("estimates")["estimates"] if e["status"] in ("draft", "sent", "read"))
        sandbox.act_set_estimate_status(estimate["id"], "accepted")

        def failed_one() -> list[dict[str, Any]]:
            found = exchanges(api, account_id, status="failed", sellsy_type="estimate", sellsy_id=estimate["id"])
            return [e for e in found if e["replayable"]]

        failed = wait_for(failed_one)
        assert failed, exchanges(api, account_id)
        intervention_path = f"/accounts/{account_id}/interventions/est-{estimate['id']}"
        assert api.get(intervention_path).status_code == 404
        # Replaying before the fix is refused: it could only fail again.
        assert api.post(f"/accounts/{account_id}/exchanges/{failed[0]['id']}/replay").status_code == 409

        # The fix: the user reconnects. Deliveries parked while the account needed reconnecting are replayed
        # by the reconnect itself, once a read shows the token works: no manual replay is needed.
        assert api.put(f"/accounts/{account_id}/connection", json=creds).json()["status"] == "active"
        assert wait_for(lambda: api.get(intervention_path).status_code == 200)
        # A manual replay afterwards is a no-op naming the automatic replay.
        manual = api.post(f"/accounts/{account_id}/exchanges/{failed[0]['id']}/replay")
        assert manual.status_code == 200, manual.text
        assert manual.json()["already_replayed"] is True
        again = api.post(f"/accounts/{account_id}/exchanges/{failed[0]['id']}/replay")
        assert again.json()["exchange_id"] == manual.json()["exchange_id"]

        def runs() -> list[str]:
            found = exchanges(api, account_id, sellsy_type="estimate", sellsy_id=estimate["id"])
            return [e["kind"] for e in found if e["kind"].startswith("intervention_")]

        # Only the automatic replay ran: nothing was enqueued by the manual ones.
        assert wait_for(lambda: len(runs()) >= 1), exchanges(api, account_id)
        time.sleep(1.0)
        assert runs() == ["intervention_created"]
        listed = api.get(f"/accounts/{account_id}/interventions", params={"limit": 200}).json()["items"]
        assert [i["id"] for i in listed if i.get("source_id") == estimate["id"]] == [f"est-{estimate['id']}"]
        original = api.get(f"/accounts/{account_id}/exchanges/{failed[0]['id']}").json()
        assert original["replayed_by"] == [manual.json()["exchange_id"]]
    finally:
        httpx.delete(
            f"{sandbox.api_url}/webhooks/{webhook_id}",
            headers={"Authorization": f"Bearer {sandbox.access_token()}"},
            timeout=10,
        )
