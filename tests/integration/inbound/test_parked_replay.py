"""Deliveries parked while an account needed reconnecting run by themselves after the reconnect, oldest first,
even in the seconds right after it (the worker's account cache still says needs_reconnect then)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

import bridge.handlers.api
import bridge.handlers.webhook  # noqa: F401  (loaded before the gateway/pump threads import them concurrently)
from bridge.adapters import accounts_repo, field_repo
from bridge.domain.accounts import AccountSettings
from bridge.flows import accounts as account_flows
from bridge.flows import exchange_log
from bridge.flows.inbound import parked
from bridge.sellsy.errors import NeedsReconnect
from tests.integration.inbound.test_worker import _message, _run


def _connect(stack: Any, account_id: str) -> None:
    account_flows.connect_client_credentials(
        account_id, client_id=stack.sandbox.client_id, client_secret=stack.sandbox.client_secret
    )


def _deliver(account_id: str, estimate_id: int) -> None:
    assert _run(_message(account_id, "estimate", estimate_id)) == {"batchItemFailures": []}


@pytest.fixture()
def parked_account(stack: Any) -> tuple[str, list[int]]:
    """An account that lost its credentials while two quotes were accepted (both deliveries parked)."""
    account_id = f"pk-{uuid.uuid4().hex[:10]}"
    account_flows.create_account(name="Parked", account_id=account_id, settings=AccountSettings())
    _connect(stack, account_id)
    with httpx.Client(
        base_url=stack.sandbox.api_url, headers={"Authorization": f"Bearer {stack.sandbox.access_token()}"}, timeout=30
    ) as sellsy:
        estimate_ids = []
        for company in (8, 9):
            rows = [{"type": "single", "unit_amount": "50.00", "quantity": "1", "tax_id": 1, "description": "Pose"}]
            created = sellsy.post("/estimates", json={"related": [{"type": "company", "id": company}], "rows": rows})
            estimate_ids.append(int(created.json()["id"]))
            stack.sandbox.act_set_estimate_status(estimate_ids[-1], "accepted")
    accounts_repo.mark_needs_reconnect(account_id, "token revoked in Sellsy")
    for estimate_id in estimate_ids:
        _deliver(account_id, estimate_id)  # parked, and the worker now caches needs_reconnect
    kinds = [e.kind for e in exchange_log.list_exchanges(account_id, limit=100, status="failed")[0]]
    assert kinds.count("account_needs_reconnect") == 2
    return account_id, estimate_ids


def test_a_reconnect_replays_the_parked_deliveries_oldest_first_at_once(
    stack: Any, parked_account: tuple[str, list[int]]
) -> None:
    account_id, estimate_ids = parked_account
    _connect(stack, account_id)  # the replays go on the queue; the pump runs them within milliseconds
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(
        field_repo.get_intervention(account_id, f"est-{i}") for i in estimate_ids
    ):
        time.sleep(0.05)
    assert all(field_repo.get_intervention(account_id, f"est-{i}") for i in estimate_ids)

    exchanges = exchange_log.list_exchanges(account_id, limit=200)[0]
    parked_ids = sorted(e.id for e in exchanges if e.kind == "account_needs_reconnect")
    requested = sorted((e for e in exchanges if e.kind == "replay_requested"), key=lambda e: e.id)
    assert [e.replay_of for e in requested] == parked_ids  # oldest first, each once
    assert [e.kind for e in exchanges].count("parked_replayed") == 1
    assert accounts_repo.require_account(account_id).status == "active"
    assert parked.parked_exchange_ids(account_id) == []  # a second reconnect replays nothing again


class _RefusedToken:
    def get(self, path: str, *, params: dict[str, Any] | None = None) -> Any:
        raise NeedsReconnect("401 after renewing the token", status=401)


def test_nothing_is_replayed_while_the_token_still_fails(stack: Any, parked_account: tuple[str, list[int]]) -> None:
    account_id, _ = parked_account
    with pytest.raises(NeedsReconnect):
        parked.replay_parked(account_id, client=_RefusedToken())
    assert len(parked.parked_exchange_ids(account_id)) == 2
    kinds = [e.kind for e in exchange_log.list_exchanges(account_id, limit=100)[0]]
    assert "replay_requested" not in kinds
