"""Pagination past 250 records (seek and numeric, list and search) and the typed helpers, on the sandbox."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bridge.domain.sellsy_rules import resolve_tax_id, resolve_unit_id
from bridge.sellsy.client import PAGE_LIMIT
from bridge.sellsy.errors import InvalidFilter, NotFound, PayloadTooLarge, ValidationFailed
from bridge.sellsy.resources import SellsyApi
from infra.local.sandbox import Sandbox
from tests.integration.sellsy.helpers import local_client, request_violations


def _ids(pages: object) -> list[int]:
    return [item["id"] for page in pages for item in page.items]  # type: ignore[attr-defined]


def test_pagination_past_250_records_with_both_methods(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory(seed=41, size=300)
    client = local_client(sb)
    # field[]=id keeps pages small (and the contract check of 300 full invoices out of this test).
    only_ids = ["id"]
    seek_pages = list(client.iter_pages("/invoices", search=False, fields=only_ids))
    seek = _ids(seek_pages)
    numeric = _ids(client.iter_pages("/invoices", search=False, offset=0, fields=only_ids))
    searched = _ids(client.iter_pages("/invoices/search", search=True, filters={}, fields=only_ids))
    searched_numeric = _ids(client.iter_pages("/invoices/search", search=True, filters={}, offset=0, fields=only_ids))

    assert len(seek) == 300 == len(set(seek))
    assert seek_pages[0].total == 300
    assert sorted(numeric) == sorted(searched) == sorted(searched_numeric) == sorted(seek)
    # Exactly the minimum number of calls: 3 pages of 100 per walk, no empty extra page.
    assert sb.calls()["routes"]["GET /v2/invoices"] == 6
    assert sb.calls()["routes"]["POST /v2/invoices/search"] == 6

    # Resume from a checkpoint (the seek offset saved after page 2): nothing skipped, nothing repeated.
    resumed = _ids(client.iter_pages("/invoices", search=False, offset=seek_pages[1].next_offset, fields=only_ids))
    assert resumed == seek[2 * PAGE_LIMIT :]
    assert request_violations(sb) == []


def test_search_filters_narrow_results_and_unknown_ones_are_refused(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    sb = sandbox_factory(seed=42, size=120)
    api = SellsyApi(local_client(sb))
    paid = list(api.find_invoices(status=["paid"]))
    assert paid and all(invoice.status == "paid" for invoice in paid)
    calls_before = sb.calls()["total"]
    with pytest.raises(InvalidFilter):
        list(api.find_invoices(third_ids=[1]))  # the pitfall: Sellsy would ignore it and return everything
    assert sb.calls()["total"] == calls_before
    assert request_violations(sb) == []


def test_reference_data_and_reads_with_embeds(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory(seed=43, size=60)
    api = SellsyApi(local_client(sb))
    taxes = api.list_taxes()
    some_tax = next(tax for tax in taxes if tax.is_active and not tax.is_ecotax)
    assert resolve_tax_id(some_tax.rate, taxes) == some_tax.id
    units = api.list_units()
    assert resolve_unit_id(str(units[0].label).upper(), units) == units[0].id
    assert any(currency.code == "EUR" for currency in api.list_currencies())
    assert api.list_rate_categories()

    estimate = api.get_estimate(4)
    assert estimate.id == 4 and estimate.rows is not None
    customer = estimate.embedded("company") or estimate.embedded("individual")
    assert customer is not None and customer["id"] == next(
        ref.id for ref in estimate.related or [] if ref.type in ("company", "individual")
    )
    if estimate.owner and estimate.owner.id:
        assert api.get_staff(estimate.owner.id).name
    opportunity_id = estimate.related_id("opportunity")
    if opportunity_id:
        assert api.get_opportunity(opportunity_id).id == opportunity_id
    invoice = api.get_invoice(1)
    assert invoice.rows is not None and invoice.amounts is not None
    credit_note = api.get_credit_note(1)
    assert credit_note.id == 1
    assert all(linked.id for linked in api.credit_note_invoices(1))
    company = api.get_company(1)
    assert company.embedded("invoicing_address") is not None
    item = next(iter(api.client.iterate("/items", search=False)))
    found = api.search_items_by_reference(item["reference"])
    assert [match.id for match in found] == [item["id"]]
    assert api.item_prices(item["id"])
    with pytest.raises(NotFound):
        api.get_invoice(999_999)
    assert request_violations(sb) == []


def test_writes_invoice_comment_file_customer_and_webhooks(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory(seed=44, size=60)
    api = SellsyApi(local_client(sb))
    estimate = api.get_estimate(4)
    customer = next(ref for ref in estimate.related or [] if ref.type in ("company", "individual"))

    invoice = api.create_invoice_from_estimate(
        estimate.id, {"related": [{"type": customer.type, "id": customer.id}], "order_reference": "BR-test-1"}
    )
    assert invoice.status == "draft"
    validated = api.validate_invoice(invoice.id)
    assert validated.status == "due" and validated.number

    comment = api.create_comment("Intervention terminée [bridge:c1]", related_type="estimate", related_id=4)
    assert [c.id for c in api.search_comments(related_type="estimate", related_id=4)] == [comment.id]

    uploaded = api.upload_file("estimate", 4, filename="rapport-c1.pdf", content=b"%PDF-1.4 rapport")
    assert [f.id for f in api.list_files("estimate", 4)] == [uploaded.id]
    with pytest.raises(PayloadTooLarge):
        api.upload_file("estimate", 4, filename="big.pdf", content=b"0" * (15 * 1024 * 1024 + 1))

    company = api.get_company(1)
    assert api.update_company(1, {"phone_number": "+33 1 23 45 67 89"}).phone_number == "+33 1 23 45 67 89"
    assert company.invoicing_address_id
    address = api.update_address("company", 1, company.invoicing_address_id, {"city": "Lyon"})
    assert address.city == "Lyon"
    assert api.update_contact(1, {"email": "technicien@example.com"}).email == "technicien@example.com"

    webhook = api.create_webhook(
        name="sellsy-bridge",
        endpoint="https://bridge.example/webhooks/sellsy/a1",
        sign_key="k" * 16,
        events=["estimate.step", "client.updated"],
    )
    assert [w.id for w in api.list_webhooks()] == [webhook.id]
    assert api.update_webhook(webhook.id, {"is_enabled": False}).is_enabled is False
    assert api.get_webhook(webhook.id).is_enabled is False
    api.delete_webhook(webhook.id)
    assert api.list_webhooks() == []
    assert any(event["id"] == "client" for event in api.webhook_events())
    assert request_violations(sb) == []


@pytest.mark.needs_openapi  # the sandbox refuses what the file forbids; without the file it cannot tell
def test_a_body_the_file_forbids_is_a_validation_failure_with_details(sandbox_factory: Callable[..., Sandbox]) -> None:
    api = SellsyApi(local_client(sandbox_factory(seed=44, size=10)))
    with pytest.raises(ValidationFailed) as caught:
        api.update_company(1, {"type": "not-a-type"})
    assert caught.value.details
