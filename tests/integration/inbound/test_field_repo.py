"""Field-side store on moto server: conditional creation, optimistic updates, status listing, echo memory."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from bridge.adapters import field_repo
from bridge.domain.interventions import Address, FieldCustomer, Intervention, Person


def _account() -> str:
    return f"acc_{uuid.uuid4().hex[:8]}"


def _intervention(account_id: str, source_id: int, **extra: Any) -> Intervention:
    return Intervention(
        id=f"est-{source_id}", account_id=account_id, source_type="estimate", source_id=source_id, **extra
    )


def test_creation_is_exactly_once_under_concurrency(aws: Any) -> None:
    account_id = _account()
    results: list[bool] = []
    lock = threading.Lock()

    def create(n: int) -> None:
        created = field_repo.create_intervention(_intervention(account_id, 7, subject=f"attempt {n}"))
        with lock:
            results.append(created)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1
    stored = field_repo.get_intervention(account_id, "est-7")
    assert stored is not None and stored.version == 1


def test_tenants_are_isolated(aws: Any) -> None:
    a, b = _account(), _account()
    assert field_repo.create_intervention(_intervention(a, 1, subject="A"))
    assert field_repo.create_intervention(_intervention(b, 1, subject="B"))
    assert field_repo.get_intervention(a, "est-1").subject == "A"  # type: ignore[union-attr]
    assert field_repo.get_intervention(b, "est-1").subject == "B"  # type: ignore[union-attr]


def test_update_is_optimistic_and_moves_status_index(aws: Any) -> None:
    account_id = _account()
    field_repo.create_intervention(_intervention(account_id, 3))
    current = field_repo.get_intervention(account_id, "est-3")
    assert current is not None
    field_repo.put_intervention(current.model_copy(update={"status": "scheduled"}), expected_version=1)
    with pytest.raises(field_repo.StaleWrite):
        field_repo.put_intervention(current.model_copy(update={"status": "completed"}), expected_version=1)

    def complete(iv: Intervention) -> Intervention:
        iv.status = "completed"
        return iv

    done = field_repo.update_intervention(account_id, "est-3", complete)
    assert done is not None and done.status == "completed" and done.version == 3
    assert [i.id for i in field_repo.list_interventions(account_id, status="completed")[0]] == ["est-3"]
    assert field_repo.list_interventions(account_id, status="scheduled")[0] == []


def test_update_retries_when_someone_wrote_in_between(aws: Any) -> None:
    # moto serialises nothing between threads, so the race is staged: the first attempt is overtaken.
    account_id = _account()
    field_repo.create_intervention(_intervention(account_id, 4))
    calls: list[int] = []

    def change(iv: Intervention) -> Intervention:
        calls.append(iv.version)
        if len(calls) == 1:
            other = field_repo.get_intervention(account_id, "est-4")
            assert other is not None
            other.tags.append("theirs")
            field_repo.put_intervention(other, expected_version=other.version)
        iv.tags.append("ours")
        return iv

    stored = field_repo.update_intervention(account_id, "est-4", change)
    assert calls == [1, 2]
    assert stored is not None and stored.tags == ["theirs", "ours"] and stored.version == 3


def test_listing_pages_through_every_status(aws: Any) -> None:
    account_id = _account()
    for n in range(5):
        field_repo.create_intervention(_intervention(account_id, n, status="new" if n % 2 else "scheduled"))
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = field_repo.list_interventions(account_id, limit=2, cursor=cursor)
        assert len(page) <= 2
        seen.extend(i.id for i in page)
        if cursor is None:
            break
    assert sorted(seen) == sorted(f"est-{n}" for n in range(5))
    with pytest.raises(ValueError):
        field_repo.list_interventions(account_id, cursor="not-a-cursor")


def test_customer_lookup_by_main_contact(aws: Any) -> None:
    account_id = _account()
    customer = FieldCustomer(
        id="company-9",
        account_id=account_id,
        sellsy_type="company",
        sellsy_id=9,
        name="Acme",
        main_contact=Person(id=55, name="Jo"),
        address=Address(lines=["1 rue X"], city="Lyon"),
    )
    field_repo.put_customer(customer)
    with pytest.raises(field_repo.StaleWrite):
        field_repo.put_customer(customer)  # creation only once
    assert [c.id for c in field_repo.customers_with_contact(account_id, 55)] == ["company-9"]
    got = field_repo.get_customer(account_id, "company-9")
    assert got is not None and got.address is not None and got.address.city == "Lyon"


def test_echo_memory_recognises_only_what_we_wrote(aws: Any) -> None:
    account_id = _account()
    assert not field_repo.is_echo(account_id, "contact", 5, {"email": "a@b.fr"})
    field_repo.remember_written(account_id, "contact", 5, {"email": "Jo@Example.fr", "phone_number": "0102"})
    field_repo.remember_written(account_id, "contact", 5, {"mobile_number": "0607"})
    current = {"id": 5, "email": "jo@example.fr ", "phone_number": "0102", "mobile_number": "0607", "x": 1}
    assert field_repo.is_echo(account_id, "contact", 5, current)
    assert not field_repo.is_echo(account_id, "contact", 5, {**current, "phone_number": "0999"})
    assert not field_repo.is_echo(account_id, "contact", 6, current)  # another object
    assert not field_repo.is_echo(_account(), "contact", 5, current)  # another tenant
    item = aws.client("dynamodb").scan(TableName=aws.env["FIELD_TABLE"])["Items"]
    assert "jo@example.fr" not in str(item).lower()  # hashes only, no personal data stored
