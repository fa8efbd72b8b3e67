"""The exchange log in a real browser: see a failed exchange, replay it, see it fixed; keyboard and labels."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from bridge.flows.exchange_log import record_exchange
from tests.browser import a11y
from tests.browser.conftest import Console, connect_account, settle
from tests.integration.outbound.scenario import make_scenario, sellsy_client


def an_accepted_estimate(stack: Any) -> int:
    """A new quote accepted in the sandbox (its own company and opportunity: the seed's data stay as they are)."""
    client = sellsy_client(stack.sandbox)
    try:
        return make_scenario(client).estimate_id
    finally:
        client.close()


def test_a_failed_exchange_is_replayed_and_then_shown_fixed(console: Console, stack: Any, shoot: Any) -> None:
    account_id = connect_account(stack, name="Replay", webhook=False)
    estimate_id = an_accepted_estimate(stack)
    settle(stack)  # other accounts' webhooks may hear of it; this account has none: no delivery made its intervention
    # What the worker records when Sellsy fails while a delivery is processed: a failure with the work to replay.
    failure = record_exchange(
        account_id=account_id,
        direction="inbound",
        kind="sellsy_unavailable",
        status="failed",
        sellsy_type="estimate",
        sellsy_id=estimate_id,
        reason="Sellsy answered 503 Service Unavailable",
        request={"event": "estimate.step"},
        replay={
            "kind": "sellsy.webhook",
            "account_id": account_id,
            "payload": {"entity": "estimate", "event": "step", "object_id": str(estimate_id)},
        },
    )

    page = console.new_page(f"/accounts/{account_id}/exchanges")
    a11y.assert_accessible(page)
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    row = page.locator(f'tr[data-exchange-id="{failure}"]')
    expect(row.get_by_text("Failed", exact=True)).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(1)
    shoot(page, "exchanges-failed")

    row.get_by_role("link").click()
    page.wait_for_url(f"**/exchanges/{failure}")
    expect(page.get_by_text("Sellsy answered 503 Service Unavailable").first).to_be_visible()
    a11y.assert_accessible(page)
    page.get_by_role("button", name="Replay this exchange").click()
    page.wait_for_url(re.compile(r".*replayed="))
    expect(page.get_by_role("status").filter(has_text="Replay requested")).to_be_visible()
    expect(page.get_by_role("button", name="Replay this exchange")).to_have_count(0)  # replayed once only

    settle(stack)  # the replay runs through the queue and the worker: the intervention is made
    page.reload()
    fixed = page.get_by_text("This failure was fixed by a later success:")
    expect(fixed).to_be_visible()
    shoot(page, "exchange-fixed")
    page.locator("p.notice.ok a").click()
    expect(page.locator("dd code").filter(has_text="intervention_created")).to_be_visible()
    page.get_by_role("link", name=f"Intervention est-{estimate_id}").click()
    expect(page.get_by_role("heading", level=1).filter(has_text=f"est-{estimate_id}")).to_be_visible()

    page.goto(console.url(f"/accounts/{account_id}/exchanges?status=failed"))
    expect(page.locator(f'tr[data-exchange-id="{failure}"]').get_by_text("Failed, fixed later")).to_be_visible()


def test_replay_every_failure_since_a_time_confirms_first(console: Console, stack: Any, shoot: Any) -> None:
    account_id = connect_account(stack, name="Bulk")
    for n in range(3):
        record_exchange(
            account_id=account_id,
            direction="outbound",
            kind="action_add_comment",
            status="failed",
            field_id=f"est-{990 + n}",
            reason="Sellsy answered 503",
            replay={"kind": "noop", "account_id": account_id, "payload": {}},
        )
    page = console.new_page(f"/accounts/{account_id}/exchanges")
    page.get_by_role("button", name="Replay failures…").click()
    expect(page.get_by_text("3 failed exchange(s) since")).to_be_visible()
    a11y.assert_accessible(page)
    shoot(page, "exchanges-replay-confirm")
    page.get_by_role("button", name="Replay 3 exchange(s)").click()
    expect(page.get_by_role("status").filter(has_text="3 replayed, 0 skipped.")).to_be_visible()
    a11y.assert_accessible(page)
    page.get_by_role("link", name="Back to the exchange log").click()
    page.get_by_role("button", name="Replay failures…").click()
    expect(page.get_by_text("Nothing to replay since")).to_be_visible()
