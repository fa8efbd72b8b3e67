"""The main job of `make run`, end to end on the embedded default, searched for leaks afterwards.

Same code path as `make run` (account through the API, first import, quote accepted in Sellsy,
completion with a report, invoice/file/comment in Sellsy). Then every log line, EMF blob and exchange
record of the run is searched for the sandbox's seeded emails and phone numbers, every token it
issued, its client secrets, our API token and the account's webhook signing key.
"""

from __future__ import annotations

import uuid
from typing import Any

from infra.local import demo
from infra.local.stack import Stack
from tests.fixtures.leaks import exchange_records_text, find_leaks, issued_secrets, seeded_personal_data


def test_make_run_story_end_to_end_leaks_nothing(
    stack: Stack, aws: Any, sandbox: Any, leak_capture: Any, reliability_report: list[dict[str, Any]]
) -> None:
    from bridge.adapters import secrets as account_secrets

    account_id = demo.create_demo_account(stack, None, account_id=f"run{uuid.uuid4().hex[:8]}")
    imported = demo.run_first_import(account_id)
    story = demo.play_field_story(stack, account_id)

    counters = imported["progress"]["counters"]
    assert counters["invoices"]["created"] > 0 and counters["customers"]["created"] > 0
    intervention = story["intervention"]
    assert intervention["status"] == "completed"
    assert len(intervention["sellsy_links"]["invoices"]) == 1
    created = story["created"]
    mine = [c for c in created["comments"] if intervention["id"] in c["description"]]
    assert len(created["invoices"]) >= 1 and len(mine) == 1
    assert any(f["name"] == f"report-{intervention['id']}.pdf" for f in created["files"])

    needles = seeded_personal_data(sandbox) | issued_secrets(
        sandbox, extra=[stack.api_token, *account_secrets.get_webhook_signing_keys(account_id)]
    )
    haystack = leak_capture.text() + exchange_records_text(aws)
    assert account_id in haystack and "intervention_created" in haystack, "the capture saw nothing of the run"
    assert len(needles) > 20
    assert find_leaks(haystack, needles) == []
    reliability_report.append(
        {
            "scenario": "secrets and personal data in a full run's logs and exchange records",
            "tried": f"{len(needles)} seeded emails, phones, tokens and secrets searched in {len(haystack)} chars",
            "result": "none found in clear",
        }
    )
