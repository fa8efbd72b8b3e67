"""Failed and skipped exchanges are listed from their own index partition: a failures-only page reads only
failures, whatever the number of days it spans, and pages through them without gaps or repeats."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge.adapters import dynamo
from bridge.flows.exchange_log import exchange_item, list_exchanges, record_exchange


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The requests of every Query the exchange log makes, as sent."""
    sent: list[dict[str, Any]] = []
    pages = dynamo.pages

    def spy(read: Callable[..., dict[str, Any]], request: dict[str, Any], start: Any = None) -> Iterator[Any]:
        def recorded(**kwargs: Any) -> dict[str, Any]:
            sent.append(kwargs)
            return read(**kwargs)

        return pages(recorded, request, start)

    monkeypatch.setattr(dynamo, "pages", spy)
    return sent


def _seed(account_id: str, days: int) -> list[str]:
    """Three exchanges an hour apart each day over ``days`` days, the second of them failed; failure ids."""
    now = datetime.now(UTC)
    failed: list[str] = []
    for day in range(days, 0, -1):
        for n in range(3):
            status = "failed" if n == 1 else "ok"
            exchange_id = record_exchange(
                account_id=account_id,
                direction="outbound" if day % 2 else "inbound",
                kind="object_written",
                status=status,
                sellsy_type="invoice",
                sellsy_id=day,
                at=now - timedelta(days=day, hours=n),
            )
            if status == "failed":
                failed.append(exchange_id)
    return failed


def test_only_failed_and_skipped_exchanges_are_in_the_outcome_index(aws: Any) -> None:
    keys = {
        status: {k for k in exchange_item(account_id="acme", direction="inbound", kind="object_read", status=status)}
        for status in ("ok", "failed", "skipped")
    }
    assert "gsi2pk" not in keys["ok"]
    assert {"gsi2pk", "gsi2sk"} <= keys["failed"] and {"gsi2pk", "gsi2sk"} <= keys["skipped"]


def test_a_failures_page_over_many_days_is_one_query_of_failures(aws: Any, reads: list[dict[str, Any]]) -> None:
    account_id = f"acc_{uuid.uuid4().hex[:8]}"
    failed = _seed(account_id, days=6)
    records, cursor = list_exchanges(account_id, status="failed", limit=50)
    assert [r.id for r in records] == sorted(failed, reverse=True) and cursor is None
    assert len(reads) == 1 and reads[0]["IndexName"] == "gsi2"


def test_failures_page_with_a_cursor_and_other_filters(aws: Any) -> None:
    account_id = f"acc_{uuid.uuid4().hex[:8]}"
    failed = sorted(_seed(account_id, days=5), reverse=True)
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = list_exchanges(account_id, status="failed", limit=2, cursor=cursor)
        seen += [r.id for r in page]
        if cursor is None:
            break
    assert seen == failed
    outbound = list_exchanges(account_id, status="failed", direction="outbound")[0]
    assert [r.id for r in outbound] == [failed[i] for i in (0, 2, 4)]  # days 1, 3 and 5 are outbound
    one_object = list_exchanges(account_id, status="failed", sellsy_type="invoice", sellsy_id="2")[0]
    assert [r.id for r in one_object] == [failed[1]]
    since = datetime.now(UTC) - timedelta(days=2, hours=12)
    assert [r.id for r in list_exchanges(account_id, status="failed", since=since)[0]] == failed[:2]
    succeeded = list_exchanges(account_id, status="ok", limit=50)[0]  # most of the log: read by day, filtered
    assert len(succeeded) == 10 and {r.status for r in succeeded} == {"ok"}


def test_backfill_gives_earlier_failures_their_index_keys(aws: Any) -> None:
    from bridge.adapters import exchanges_repo

    account_id = f"acc_{uuid.uuid4().hex[:8]}"
    earlier = exchange_item(account_id=account_id, direction="inbound", kind="object_read", status="failed")
    for key in ("gsi2pk", "gsi2sk"):
        del earlier[key]  # as stored before the index existed
    exchanges_repo.put(earlier)
    assert list_exchanges(account_id, status="failed")[0] == []
    assert exchanges_repo.backfill_outcome_keys() >= 1
    assert [r.id for r in list_exchanges(account_id, status="failed")[0]] == [earlier["id"]]
    assert exchanges_repo.backfill_outcome_keys() == 0  # nothing left to do
    from infra.backfill_index_keys import main

    assert main([]) == 0  # the command runs both back-fills on the tables the environment names
