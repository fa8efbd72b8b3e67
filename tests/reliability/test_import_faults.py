"""An import through ~10% injected Sellsy faults ends with the same data as a clean run.

Faults come from the sandbox itself, over real HTTP: 5xx, 429, dropped connections, slow answers,
and every token revoked at a few pages (the client must renew and carry on).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from bridge.flows.importer.run import ImportDeps, run_chunk
from bridge.sellsy.auth import Credentials, LocalTokenProvider, TokenEndpoint
from bridge.sellsy.client import SellsyClient
from tests.integration.importer.test_import_flow import data_of

pytestmark = pytest.mark.slow  # long: scheduled first (tests/fixtures/ordering.py)

FAULTS = {"rate_5xx": 0.03, "rate_429": 0.03, "rate_drop": 0.02, "rate_slow": 0.02, "slow_seconds": 0.3}
REVOKE_AT = {("invoices", 2), ("credit_notes", 1), ("products", 1)}


def renewing_client(sb: Any) -> tuple[SellsyClient, LocalTokenProvider]:
    provider = LocalTokenProvider(
        TokenEndpoint(sb.token_url),
        Credentials(grant_type="client_credentials", client_id=sb.client_id, client_secret=sb.client_secret),
    )
    return SellsyClient(sb.api_url, provider, backoff_base=0.01), provider


def test_import_through_ten_percent_faults_equals_a_clean_run(
    reference_import: Any, reliability_report: list[dict[str, Any]]
) -> None:
    sb = reference_import.fresh_sandbox()
    reference = reference_import.data  # the clean run of this sandbox (tests/fixtures/imports.py)

    client, tokens = renewing_client(sb)
    revoked: list[tuple[str, int]] = []

    def revoke_tokens(name: str, page: int) -> None:
        if (name, page) in REVOKE_AT and (name, page) not in revoked:
            revoked.append((name, page))
            sb.expire_tokens()

    sb.reset_calls()
    sb.set_faults(**FAULTS)
    faulty = f"faulty{uuid.uuid4().hex[:6]}"
    answer: dict[str, Any] = {}
    try:
        deps = ImportDeps(client=client, base_currency="EUR", export_bucket=None, on_page=revoke_tokens)
        for _ in range(500):
            answer = run_chunk(faulty, deps, run_id=answer.get("run_id"))
            if answer["done"]:
                break
    finally:
        sb.clear_faults()
    calls = sb.calls()

    assert answer["status"] == "done", answer
    assert data_of(faulty) == reference
    assert len(revoked) == len(REVOKE_AT) and tokens.renewals >= len(REVOKE_AT)
    injected = {kind: calls["routes"].get(f"faults.{kind}", 0) for kind in ("5xx", "429", "drop", "slow")}
    assert all(injected.values()), f"every fault kind must actually happen: {injected}"
    reliability_report.append(
        {
            "scenario": "import through injected Sellsy faults",
            "tried": f"{calls['total']} calls with faults {injected}, tokens revoked at {sorted(revoked)}",
            "result": f"status done, data identical to a clean run, {tokens.renewals} token renewals",
        }
    )
