"""Pure rules of quote → invoice: what the body carries, what counts as a difference, which quotes are
not converted, which interventions are held, and service periods the file accepts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bridge.domain import quote_invoice as qi
from bridge.domain.triggers import OutboundRuleError, invoicing_hold
from bridge.flows.outbound.models import CompletionRequest

QUOTE = {
    "id": 7,
    "status": "accepted",
    "currency": "GBP",
    "invoicing_address_id": 31,
    "delivery_address_id": 32,
    "issuer_address_id": 0,
    "note": "Merci",
    "discount": {"percent": "10.00", "amount": "30.24", "type": "percent"},
    "amounts": {"total_raw_excl_tax": "336.00", "total_excl_tax": "272.16", "total": "326.59"},
    "rows": [
        {
            "id": 701,
            "type": "catalog",
            "related": {"id": 4, "type": "product"},
            "unit_amount": "100.00",
            "quantity": "2.00",
            "tax_id": 1,
            "unit_id": 0,
            "reference": "PUMP",
            "description": None,
            "discount": {"type": "percent", "value": "10", "total": "20.00"},
            "tax_rate": "20.00",
            "amount_tax_exc": "180.00",
        },
        {"id": 702, "type": "comment", "text": "Garantie 2 ans"},
        {"id": 703, "type": "single", "unit_amount": "80.00", "quantity": "1.50", "tax_id": 1, "discount": None},
    ],
    "_embed": {"payment_terms": {"settings": {"type": "settings", "value": {"id": 3, "label": "45 jours"}}}},
}


def test_the_body_carries_rows_discounts_currency_addresses_and_payment_terms():
    body = qi.invoice_fields(QUOTE)
    assert body["currency"] == "GBP"
    assert (body["invoicing_address_id"], body["delivery_address_id"]) == (31, 32)
    assert "issuer_address_id" not in body  # 0 means none; the file wants an id
    assert body["discount"] == {"type": "percent", "value": "10.00"}
    assert body["payment_terms"] == {"id": 3}
    catalog, comment, single = body["rows"]
    assert catalog == {
        "type": "catalog",
        "related": {"id": 4, "type": "product"},
        "unit_amount": "100.00",
        "quantity": "2.00",
        "tax_id": 1,
        "reference": "PUMP",
        "description": None,  # kept: absent, Sellsy would take the catalogue item's own
        "discount": {"type": "percent", "value": "10"},
    }
    assert comment == {"type": "comment", "text": "Garantie 2 ans"}
    assert "discount" not in single and "id" not in single


def test_an_amount_discount_is_written_by_its_amount():
    quote = {**QUOTE, "discount": {"percent": "0.00", "amount": "20.00", "type": "amount"}}
    assert qi.invoice_fields(quote)["discount"] == {"type": "amount", "value": "20.00"}


def test_payment_terms_follow_the_cascade_document_then_customer_then_account():
    bare = {**QUOTE, "_embed": {}}
    assert qi.invoice_fields(QUOTE, customer_preferences={"payment_terms_id": 9})["payment_terms"] == {"id": 3}
    assert qi.invoice_fields(bare, customer_preferences={"payment_terms_id": 9})["payment_terms"] == {"id": 9}
    assert qi.invoice_fields(bare, account_preferences={"payment_terms_id": 1})["payment_terms"] == {"id": 1}
    assert "payment_terms" not in qi.invoice_fields(bare)  # Sellsy's own default then applies


def test_a_row_type_an_invoice_cannot_take_is_a_clear_error():
    with pytest.raises(OutboundRuleError, match="row 1 is of type 'progress-catalog'"):
        qi.invoice_fields({**QUOTE, "rows": [{"type": "progress-catalog"}]})


def invoice_like(quote: dict) -> dict:
    return {**quote, "amounts": {**quote["amounts"], "total_incl_tax": quote["amounts"]["total"]}}


def test_an_equal_invoice_has_no_differences():
    assert qi.differences(QUOTE, invoice_like(QUOTE)) == []


def test_every_difference_is_named():
    invoice = invoice_like(QUOTE)
    invoice["currency"] = "EUR"
    invoice["discount"] = None
    invoice["amounts"] = {**invoice["amounts"], "total_excl_tax": "302.40"}
    invoice["rows"] = [{**QUOTE["rows"][0], "unit_amount": "101.00"}, *QUOTE["rows"][1:]]
    found = {d["field"]: (d["quote"], d["invoice"]) for d in qi.differences(QUOTE, invoice)}
    assert found["currency"] == ("GBP", "EUR")
    assert found["discount"] == ({"type": "percent", "value": "10.00"}, None)
    assert found["amounts.total_excl_tax"] == ("272.16", "302.40")
    assert found["row 1 (catalog PUMP).unit_amount"] == ("100.00", "101.00")
    assert "currency: quote 'GBP', invoice 'EUR'" in qi.describe(qi.differences(QUOTE, invoice))


def test_a_missing_row_is_a_difference():
    invoice = {**invoice_like(QUOTE), "rows": QUOTE["rows"][:2]}
    assert {"field": "rows.count", "quote": 3, "invoice": 2} in qi.differences(QUOTE, invoice)


@pytest.mark.parametrize("status", ["advanced", "partialinvoiced", "invoiced"])
def test_quotes_invoiced_in_part_or_in_full_are_not_converted(status):
    assert qi.conversion_refusal(status)


@pytest.mark.parametrize("status", ["draft", "sent", "read", "accepted", "refused", "expired", "cancelled"])
def test_the_other_statuses_of_the_file_are_converted(status):
    assert qi.conversion_refusal(status) is None


def test_service_period_follows_the_file():
    assert qi.service_period({"start": "2026-11-01", "end": "2026-11-30"}) == {
        "start": "2026-11-01",
        "end": "2026-11-30",
    }
    assert qi.service_period({"start": "2026-11-20", "end": "2026-11-20"}) is None  # end must be after start
    assert qi.service_period({"start": "2026-11-20"}) is None
    assert qi.service_period(None) is None


def test_a_flagged_intervention_is_held_unless_forced():
    flag = {"code": "estimate_refused", "reason": "the quote was marked refused in Sellsy", "at": "2026-11-20"}
    assert invoicing_hold({"flags": []}) is None
    assert "refused" in (invoicing_hold({"flags": [flag]}) or "")
    assert invoicing_hold({"flags": [flag], "completion": {"force": True}}) is None


def test_force_is_a_strict_boolean_outside_the_fingerprint():
    plain = CompletionRequest(technician="Marc")
    forced = CompletionRequest(technician="Marc", force=True)
    assert forced.force is True and plain.force is False
    assert plain.fingerprint() == forced.fingerprint()  # the same work, a decision about it
    with pytest.raises(ValidationError):
        CompletionRequest.model_validate({"technician": "Marc", "force": "yes"})


def test_a_quote_without_an_address_of_its_own_leaves_the_customers_to_sellsy():
    quote = {**QUOTE, "invoicing_address_id": 0, "delivery_address_id": None}
    invoice = {**invoice_like(quote), "invoicing_address_id": 40, "delivery_address_id": 41}
    assert qi.differences(quote, invoice) == []
    assert "invoicing_address_id" not in qi.invoice_fields(quote)
