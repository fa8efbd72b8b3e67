"""Exchange log pages over real HTTP: filters, paging, detail with the masked summary, replay one, replay all."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge.adapters import accounts_repo
from bridge.flows import accounts as account_flows
from bridge.flows.exchange_log import record_exchange
from tests.integration.console.conftest import CSRF, Browser

pytestmark = [pytest.mark.e2e]
EMAIL = "jeanne.martin@example.fr"
WORK = {"kind": "noop", "payload": {}}


@pytest.fixture
def account_id(console_stack: Any, no_pump: None) -> str:
    account_id = f"xp-{uuid.uuid4().hex[:8]}"
    account_flows.create_account(name=f"Exchanges {account_id}", account_id=account_id)
    accounts_repo.set_status(account_id, "active", None, auth_method="client_credentials")
    return account_id


def failed(account_id: str, sellsy_id: int, **more: Any) -> str:
    return record_exchange(
        account_id=account_id,
        direction="inbound",
        kind="intervention_created",
        status="failed",
        sellsy_type="estimate",
        sellsy_id=sellsy_id,
        reason="Sellsy answered 503",
        request={"contact": {"email": EMAIL}},
        replay={**WORK, "account_id": account_id},
        **more,
    )


def ok(account_id: str, sellsy_id: int) -> str:
    return record_exchange(
        account_id=account_id,
        direction="inbound",
        kind="intervention_created",
        status="ok",
        sellsy_type="estimate",
        sellsy_id=sellsy_id,
    )


def rows(html: str) -> list[str]:
    return re.findall(r'data-exchange-id="([^"]+)"', html)


def test_the_log_filters_and_pages(signed_in: Browser, account_id: str) -> None:
    ids = [failed(account_id, 1), ok(account_id, 2)]
    ids += [ok(account_id, 100 + n) for n in range(55)]
    base = f"/console/accounts/{account_id}/exchanges"
    first = signed_in.get(base)
    assert first.status_code == 200, first.text
    assert rows(first.text) == list(reversed(ids))[:50]
    next_link = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert next_link
    second = signed_in.get(next_link.group(1).replace("&amp;", "&"))
    assert rows(second.text) == list(reversed(ids))[50:]
    assert 'rel="next"' not in second.text
    failures = signed_in.get(base, params={"status": "failed"})
    assert rows(failures.text) == [ids[0]]
    by_object = signed_in.get(base, params={"sellsy_type": "estimate", "sellsy_id": "2"})
    assert rows(by_object.text) == [ids[1]]
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert rows(signed_in.get(base, params={"since": later}).text) == []


def test_bad_filters_are_explained_not_failed(signed_in: Browser, account_id: str) -> None:
    base = f"/console/accounts/{account_id}/exchanges"
    answer = signed_in.get(base, params={"since": "last tuesday", "direction": "sideways"})
    assert answer.status_code == 400
    assert "last tuesday" in answer.text and "sideways" in answer.text and 'role="alert"' in answer.text
    assert signed_in.get(base, params={"cursor": "garbage"}).status_code == 400
    assert signed_in.get("/console/accounts/nobody-here/exchanges").status_code == 404
    assert signed_in.get(f"{base}/not-an-id").status_code == 404


def test_detail_shows_the_masked_summary_and_a_fix(signed_in: Browser, account_id: str) -> None:
    fixed = failed(account_id, 5)
    later = ok(account_id, 5)
    page = signed_in.get(f"/console/accounts/{account_id}/exchanges/{fixed}")
    assert page.status_code == 200
    assert EMAIL not in page.text and "*****" in page.text
    assert "fixed by a later success" in page.text and f"/exchanges/{later}" in page.text
    listing = signed_in.get(f"/console/accounts/{account_id}/exchanges", params={"status": "failed"})
    assert "Failed, fixed later" in listing.text and "exchange-fixed" in listing.text
    french = signed_in.get(f"/console/accounts/{account_id}/exchanges/{fixed}", params={"lang": "fr"})
    assert "corrigé par un succès ultérieur" in french.text


def test_replay_one_from_its_page(signed_in: Browser, account_id: str) -> None:
    failure = failed(account_id, 9)
    path = f"/console/accounts/{account_id}/exchanges/{failure}"
    page = signed_in.get(path)
    token = CSRF.search(page.text)
    assert token and f'action="{path}/replay"' in page.text
    answer = signed_in.post(f"{path}/replay", {"csrf_token": token.group(1)})
    assert answer.status_code == 303 and "replayed=" in answer.headers["location"]
    after = signed_in.get(answer.headers["location"])
    assert "Replay requested" in after.text and f'action="{path}/replay"' not in after.text
    again = signed_in.post(f"{path}/replay", {"csrf_token": token.group(1)})
    assert again.status_code == 303 and again.headers["location"].endswith("notice=already_replayed")
    forged = signed_in.post(f"{path}/replay", {"csrf_token": "forged"})
    assert forged.status_code == 403


def test_replay_all_failures_confirms_then_reports(signed_in: Browser, account_id: str) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    first, second = failed(account_id, 20), failed(account_id, 21)
    fixed = failed(account_id, 22)
    ok(account_id, 22)
    base = f"/console/accounts/{account_id}/exchanges"
    confirm = signed_in.get(f"{base}/replay-failures", params={"since": since.strftime("%Y-%m-%dT%H:%M")})
    assert confirm.status_code == 200, confirm.text
    assert "2 failed exchange(s)" in confirm.text and "1 left alone" in confirm.text
    assert first in confirm.text and fixed in confirm.text
    token = CSRF.search(confirm.text)
    assert token
    hidden_since = re.search(r'name="since" value="([^"]+)"', confirm.text.split('method="post"')[-1])
    assert hidden_since
    done = signed_in.post(f"{base}/replay-failures", {"csrf_token": token.group(1), "since": hidden_since.group(1)})
    assert done.status_code == 200
    assert "2 replayed, 1 skipped." in done.text and second in done.text
    again = signed_in.get(f"{base}/replay-failures", params={"since": since.strftime("%Y-%m-%dT%H:%M")})
    assert "Nothing to replay" in again.text
    assert signed_in.get(f"{base}/replay-failures", params={"since": "soon"}).status_code == 400
