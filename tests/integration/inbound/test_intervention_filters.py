"""Listing interventions by customer and creation day, newest first, paged without gaps or repeats."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from bridge.adapters import field_repo
from bridge.domain.interventions import Intervention


def _seed(account_id: str) -> None:
    for n in range(12):
        field_repo.create_intervention(
            Intervention(
                id=f"est-{n}",
                account_id=account_id,
                source_type="estimate",
                source_id=n,
                status="new" if n < 9 else "scheduled",
                customer_id=f"company-{n % 3}",
                customer_name=["Boulangerie Martin", "Garage Dupont", "Hôtel du Lac"][n % 3],
                created_at=f"2026-11-{10 + n:02d}T09:00:00.000+00:00",
            )
        )


def _all(account_id: str, **filters: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = field_repo.list_interventions(account_id, limit=2, cursor=cursor, **filters)
        assert len(page) <= 2
        seen.extend(i.id for i in page)
        if cursor is None:
            return seen


def test_filters_by_customer_and_days_page_through_every_match(aws: Any) -> None:
    account_id = f"acc_{uuid.uuid4().hex[:8]}"
    _seed(account_id)
    assert _all(account_id, customer="company-1") == ["est-1", "est-4", "est-7", "est-10"]
    assert _all(account_id, customer="Dupont", newest_first=True) == ["est-7", "est-4", "est-1", "est-10"]
    assert _all(account_id, customer="dupont") == []  # a name matches as written
    days = {"created_from": date(2026, 11, 15), "created_to": date(2026, 11, 19)}
    assert _all(account_id, **days) == ["est-5", "est-6", "est-7", "est-8", "est-9"]
    assert _all(account_id, status="new", newest_first=True, **days) == ["est-8", "est-7", "est-6", "est-5"]
    assert _all(account_id, customer="company-0", **days) == ["est-6", "est-9"]
    assert _all(account_id, customer="nobody") == []
    # A list's summary reads only what a list shows, with the same filters and paging.
    assert _all(account_id, customer="Dupont", newest_first=True, summary=True) == ["est-7", "est-4", "est-1", "est-10"]
    page, _ = field_repo.list_interventions(account_id, status="new", summary=True, limit=1)
    assert page[0].customer_name == "Boulangerie Martin" and page[0].rows == [] and page[0].created_at


def test_the_api_passes_the_filters_on(call: Any, account: dict[str, Any]) -> None:
    _seed("acme")
    query = {"customer": "Lac", "created_from": "2026-11-12", "newest_first": "true", "limit": 10}
    answer = call("GET", "/accounts/acme/interventions", query=query)
    assert answer.status == 200, answer.text
    assert [i["id"] for i in answer.json["items"]] == ["est-8", "est-5", "est-2", "est-11"]
    assert call("GET", "/accounts/acme/interventions", query={"created_to": "yesterday"}).status == 422


def test_open_ended_and_empty_day_ranges(aws: Any) -> None:
    account_id = f"acc_{uuid.uuid4().hex[:8]}"
    _seed(account_id)
    assert _all(account_id, created_to=date(2026, 11, 11)) == ["est-0", "est-1"]
    assert _all(account_id, created_from=date(2026, 11, 21)) == ["est-11"]
    assert _all(account_id, created_from=date(2026, 11, 20), created_to=date(2026, 11, 10)) == []


def test_a_filtered_page_reads_a_bounded_number_of_items_and_the_cursor_goes_on(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id = f"acc_{uuid.uuid4().hex[:8]}"
    _seed(account_id)
    monkeypatch.setattr(field_repo, "FILTERED_READ", 2)
    monkeypatch.setattr(field_repo, "FILTERED_QUERIES", 1)
    pages: list[list[str]] = []
    cursor = None
    while True:
        page, cursor = field_repo.list_interventions(account_id, customer="Garage", limit=10, cursor=cursor)
        pages.append([i.id for i in page])
        if cursor is None:
            break
    assert [i for page in pages for i in page] == ["est-1", "est-4", "est-7", "est-10"]
    assert max(len(page) for page in pages) <= 2  # each page read two interventions at most


def test_a_customer_id_reads_only_that_customers_interventions(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    account_id = f"acc_{uuid.uuid4().hex[:8]}"
    _seed(account_id)
    sent: list[dict[str, Any]] = []
    query = field_repo._table().query

    def spy(**request: Any) -> Any:
        sent.append(request)
        return query(**request)

    monkeypatch.setattr(field_repo, "_table", lambda: type("T", (), {"query": staticmethod(spy)})())
    page, cursor = field_repo.list_interventions(account_id, customer="company-1", newest_first=True)
    assert [i.id for i in page] == ["est-7", "est-4", "est-1", "est-10"] and cursor is None
    assert sent and all(r["IndexName"] == "gsi2" and "FilterExpression" not in r for r in sent)
    monkeypatch.undo()
    # A status change moves the intervention to the customer's partition of its new status.
    field_repo.update_intervention(account_id, "est-4", lambda i: i.model_copy(update={"status": "completed"}))
    assert _all(account_id, customer="company-1") == ["est-1", "est-7", "est-10", "est-4"]
    assert _all(account_id, customer="company-1", status="completed") == ["est-4"]


def test_backfill_gives_earlier_interventions_their_customer_keys(aws: Any) -> None:
    account_id = f"acc_{uuid.uuid4().hex[:8]}"
    _seed(account_id)
    table = field_repo._table()
    for n in range(12):  # as stored before the customer index existed
        table.update_item(
            Key={"pk": field_repo.intervention_pk(account_id, f"est-{n}"), "sk": field_repo.INTERVENTION_SK},
            UpdateExpression="REMOVE gsi2pk, gsi2sk",
        )
    assert _all(account_id, customer="company-1") == []
    assert field_repo.backfill_customer_keys() >= 12
    assert _all(account_id, customer="company-1") == ["est-1", "est-4", "est-7", "est-10"]
