"""Interventions and imports pages over real HTTP: filters, detail, refusals, the run's progress document."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from bridge.adapters import accounts_repo, field_repo, ledger_repo
from bridge.domain.interventions import Intervention
from bridge.flows import accounts as account_flows
from bridge.flows.importer.run import start_run
from tests.integration.console.conftest import CSRF, Browser

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def account_id(console_stack: Any) -> str:
    account_id = f"ip-{uuid.uuid4().hex[:8]}"
    account_flows.create_account(name=f"Pages {account_id}", account_id=account_id)
    return account_id


def seed(account_id: str) -> None:
    for n in range(3):
        field_repo.create_intervention(
            Intervention(
                id=f"est-{n}",
                account_id=account_id,
                source_type="estimate",
                source_id=n,
                source_status="accepted",
                estimate_id=n,
                status="completed" if n == 2 else "new",
                customer_id=f"company-{10 + n}",
                customer_name=f"Garage {n} <script>",
                created_at=f"2026-11-2{n}T09:00:00.000+00:00",
            )
        )
    ledger_repo.claim(account_id, "est-2", "job#0", kind="convert_quote", marker="m")
    ledger_repo.mark_done(account_id, "est-2", "job#0", sellsy_type="invoice", sellsy_id=77)


def ids(html: str) -> list[str]:
    return re.findall(r'data-intervention-id="([^"]+)"', html)


def test_interventions_filter_newest_first_and_escape_what_sellsy_sent(signed_in: Browser, account_id: str) -> None:
    seed(account_id)
    base = f"/console/accounts/{account_id}/interventions"
    page = signed_in.get(base)
    assert page.status_code == 200 and ids(page.text) == ["est-1", "est-0", "est-2"]
    assert "<script>" not in page.text and "Garage 1 &lt;script&gt;" in page.text
    assert ids(signed_in.get(base, params={"status": "completed"}).text) == ["est-2"]
    assert ids(signed_in.get(base, params={"customer": "company-10"}).text) == ["est-0"]
    assert ids(signed_in.get(base, params={"created_from": "2026-11-21", "created_to": "2026-11-21"}).text) == ["est-1"]
    bad = signed_in.get(base, params={"created_from": "tomorrow", "status": "lost"})
    assert bad.status_code == 400 and "tomorrow" in bad.text and "lost" in bad.text


def test_intervention_detail_links_to_sellsy_back_here_and_shows_actions(signed_in: Browser, account_id: str) -> None:
    seed(account_id)
    accounts_repo.put_account(
        accounts_repo.require_account(account_id).model_copy(
            update={
                "settings": accounts_repo.require_account(account_id).settings.model_copy(
                    update={"deep_link_host": "www.sellsy.fr"}
                )
            }
        )
    )
    path = f"/console/accounts/{account_id}/interventions/est-2"
    page = signed_in.get(path)
    assert page.status_code == 200
    assert "https://www.sellsy.fr/?_f=estimateOverview&amp;id=2" in page.text
    assert "https://www.sellsy.fr/?_f=third&amp;thirdid=12&amp;thirdtype=client" in page.text
    assert f'value="{signed_in.base_url}{path}"' in page.text  # the link back
    assert "https://www.sellsy.fr/?_f=invoiceOverview&amp;id=77" in page.text and "convert_quote" in page.text
    french = signed_in.get(path, params={"lang": "fr"})
    assert "Accepté" in french.text and "Terminée" in french.text
    assert signed_in.get(f"/console/accounts/{account_id}/interventions/est-404").status_code == 404
    assert signed_in.get(f"/console/accounts/{account_id}/interventions/..%2F").status_code == 404


def test_the_chooser_lists_accounts_for_each_section(signed_in: Browser, account_id: str) -> None:
    for section in ("exchanges", "interventions", "imports"):
        answer = signed_in.get(f"/console/{section}")
        if answer.status_code == 302:  # the only account: its page directly
            assert answer.headers["location"] == f"/console/accounts/{account_id}/{section}"
        else:
            assert answer.status_code == 200 and f'href="/console/accounts/{account_id}/{section}"' in answer.text


def test_imports_refuse_an_inactive_account_and_serve_a_runs_progress(signed_in: Browser, account_id: str) -> None:
    base = f"/console/accounts/{account_id}/imports"
    page = signed_in.get(base)
    token = CSRF.search(page.text)
    assert page.status_code == 200 and token
    refused = signed_in.post(base, {"csrf_token": token.group(1)})
    assert refused.status_code == 409 and "reconnect it before importing" in refused.text
    assert signed_in.post(base, {"csrf_token": "forged"}).status_code == 403

    accounts_repo.set_status(account_id, "active", None, auth_method="client_credentials")
    state = start_run(account_id, "EUR")
    run = signed_in.get(f"{base}/{state['run_id']}")
    assert run.status_code == 200 and 'id="run-live"' in run.text and 'id="run-refresh"' in run.text
    progress = signed_in.get(f"{base}/{state['run_id']}/progress.json")
    assert progress.status_code == 200 and progress.headers["content-type"].startswith("application/json")
    document = json.loads(progress.text)
    assert document["status"] == "running" and document["done"] is False
    assert [row["stream"] for row in document["streams"]][:2] == ["customers", "products"]
    assert signed_in.get(f"{base}/20260101T000000Z-abcdef").status_code == 404
    assert signed_in.get(f"{base}/not-a-run/progress.json").status_code == 404
    listing = signed_in.get(base)
    assert f'data-run-id="{state["run_id"]}"' in listing.text


def test_pages_need_a_session(browser: Browser, account_id: str) -> None:
    for path in ("exchanges", "interventions", "imports", "imports/20260101T000000Z-abcdef/progress.json"):
        answer = browser.get(f"/console/accounts/{account_id}/{path}")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/console/signin")
