"""Sellsy's domain rules with the examples of Sellsy's documentation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bridge.domain import sellsy_rules as rules
from bridge.sellsy.models import Tax

# The account's taxes as GET /taxes answers them (rates are numbers; 192 is the documented example id).
TAXES = [
    {"id": 190, "rate": 20, "label": "TVA 20%", "is_active": True, "is_ecotax": False},
    {"id": 191, "rate": 5.5, "label": "TVA 5,5%", "is_active": True, "is_ecotax": False},
    {"id": 192, "rate": 19.6, "label": "TVA 19,6%", "is_active": True, "is_ecotax": False},
    {"id": 193, "rate": 0, "label": "Exonéré", "is_active": True, "is_ecotax": False},
    {"id": 194, "rate": 10, "label": "Eco-part", "is_active": True, "is_ecotax": True},
    {"id": 185, "rate": 10, "label": "TVA 10% (old)", "is_active": False, "is_ecotax": False},
    {"id": 195, "rate": 10, "label": "TVA 10%", "is_active": True, "is_ecotax": False},
]


def test_invoice_statuses_and_french_labels() -> None:
    assert rules.STATUS_LABELS["invoice"] == {
        "draft": "Brouillon",
        "due": "À régler",
        "payinprogress": "Paiement partiel",
        "paid": "Payée",
        "late": "Retard",
        "cancelled": "Annulée",
    }


@pytest.mark.parametrize(
    ("doc_type", "expected"),
    [
        (
            "estimate",
            (
                "draft",
                "sent",
                "read",
                "accepted",
                "refused",
                "expired",
                "advanced",
                "partialinvoiced",
                "invoiced",
                "cancelled",
            ),
        ),
        ("creditnote", ("draft", "stored", "partialspend", "spent", "cancelled")),
        (
            "order",
            ("draft", "sent", "read", "accepted", "expired", "advanced", "partialinvoiced", "invoiced", "cancelled"),
        ),
        ("delivery", ("draft", "sent", "read", "accepted", "partialinvoiced", "invoiced")),
        (
            "proforma",
            ("draft", "sent", "read", "accepted", "expired", "advanced", "partialinvoiced", "invoiced", "cancelled"),
        ),
    ],
)
def test_status_vocabularies(doc_type: str, expected: tuple[str, ...]) -> None:
    assert set(rules.statuses(doc_type)) == set(expected)


def test_labels_lookup_both_ways_and_tolerate_new_statuses() -> None:
    assert rules.status_label("invoice", "payinprogress") == "Paiement partiel"
    assert rules.status_label("credit-notes", "spent") == "Imputé"
    assert rules.status_label("estimate", "brand-new-status") == "brand-new-status"
    assert rules.status_from_label("invoice", "  a RÉGLER ".replace("a", "à")) == "due"
    assert rules.is_known_status("estimate", "accepted")
    assert not rules.is_known_status("estimate", "paid")
    with pytest.raises(rules.UnknownValue):
        rules.status_from_label("invoice", "Perdue")
    with pytest.raises(rules.UnknownValue):
        rules.statuses("purchase")


def test_row_types_v1_and_v2() -> None:
    assert rules.row_type_v2("once") == "single"
    assert rules.row_type_v2("item") == "catalog"
    assert rules.row_type_v2("sum") == "sub-total"
    assert rules.row_type_v2("empty") == "break-line"
    assert rules.row_type_v2("break") == "break-page"
    assert rules.row_type_v2("catalog") == "catalog"
    assert rules.row_type_v1("single") == "once"
    assert rules.row_type_v1("sub-total") == "sum"
    assert set(rules.V2_TO_V1_ROW_TYPE) == set(rules.V2_ROW_TYPES)
    with pytest.raises(rules.UnknownValue):
        rules.row_type_v2("discount")


@pytest.mark.parametrize("rate", [19.6, "19.6", "19,6", Decimal("19.60"), "19.600"])
def test_tax_rate_by_value_resolves_to_the_account_tax_id(rate: object) -> None:
    assert rules.resolve_tax_id(rate, TAXES) == 192


def test_tax_resolution_prefers_active_and_skips_ecotax() -> None:
    assert rules.resolve_tax_id(10, TAXES) == 195
    assert rules.resolve_tax_id(10, TAXES, include_ecotax=True) == 194
    assert rules.resolve_tax_id(0, TAXES) == 193
    models = [Tax.model_validate(tax) for tax in TAXES]
    assert rules.resolve_tax_id("20", models) == 190


def test_unknown_tax_rate_is_an_error_naming_the_value() -> None:
    with pytest.raises(rules.UnknownValue) as caught:
        rules.resolve_tax_id(7, TAXES)
    assert "7" in str(caught.value)
    assert "19.6" in caught.value.available
    with pytest.raises(rules.UnknownValue) as not_a_number:
        rules.resolve_tax_id("vingt", TAXES)
    assert "vingt" in str(not_a_number.value)


def test_unit_by_label() -> None:
    units = [{"id": 1, "label": "Heure"}, {"id": 2, "label": "pièce"}, {"id": 3, "label": "m²"}]
    assert rules.resolve_unit_id("heure", units) == 1
    assert rules.resolve_unit_id("  Pièce ", units) == 2
    with pytest.raises(rules.UnknownValue) as caught:
        rules.resolve_unit_id("kg", units)
    assert "'kg'" in str(caught.value)
    assert caught.value.available == ["Heure", "pièce", "m²"]


def test_payment_terms_cascade_account_customer_document() -> None:
    account = {"payment_terms": 45}
    customer = {"payment_terms": 30}
    assert rules.resolve_preference("payment_terms", account=account) == rules.Resolved(45, "account")
    assert rules.resolve_preference("payment_terms", account=account, customer=customer) == rules.Resolved(
        30, "customer"
    )
    on_document = rules.resolve_preference(
        "payment_terms", account=account, customer=customer, document={"payment_terms": "on_receipt"}
    )
    assert on_document == rules.Resolved("on_receipt", "document")
    # A level that does not set the preference defers to the one above.
    assert rules.resolve_preference(
        "payment_terms", account=account, customer={"payment_terms": None}, document={}
    ) == rules.Resolved(45, "account")
    assert rules.resolve_preference("payment_terms", default=0) == rules.Resolved(0, None)


@pytest.mark.parametrize(
    ("kind", "object_id", "expected"),
    [
        ("estimate", 123, "https://www.sellsy.com/?_f=estimateOverview&id=123"),
        ("invoice", 9, "https://www.sellsy.com/?_f=invoiceOverview&id=9"),
        ("order", 5, "https://www.sellsy.com/?_f=orderOverview&id=5"),
        ("company", 77, "https://www.sellsy.com/?_f=third&thirdid=77&thirdtype=client"),
        ("prospect", 78, "https://www.sellsy.com/?_f=third&thirdid=78&thirdtype=prospect"),
        ("individual", 79, "https://www.sellsy.com/?_f=third&thirdid=79&thirdtype=client"),
        ("opportunity", 456, "https://www.sellsy.com/?_f=prospection_opportunity&action=overview&oid=456"),
        ("item", 987, "https://www.sellsy.com/?_f=catalogueitem&id=987&type=item"),
    ],
)
def test_deep_links(kind: str, object_id: int, expected: str) -> None:
    assert rules.deep_link(kind, object_id) == expected


def test_deep_link_host_is_configurable() -> None:
    assert rules.deep_link("estimate", 1, host="https://www.sellsy.fr/") == (
        "https://www.sellsy.fr/?_f=estimateOverview&id=1"
    )
    with pytest.raises(rules.UnknownValue):
        rules.deep_link("estimate", 1, host="evil.test/?x=")
    with pytest.raises(rules.UnknownValue):
        rules.deep_link("ticket", 1)


def test_an_einvoicing_compliant_tax_wins_when_several_share_the_rate() -> None:
    # Two 20 % taxes, as an account mid-way through the e-invoicing reform has them (register T1).
    taxes = [
        {"id": 300, "rate": 20, "is_active": True, "is_ecotax": False, "is_einvoicing_compliant": False},
        {"id": 301, "rate": 20, "is_active": True, "is_ecotax": False, "is_einvoicing_compliant": True},
        {"id": 299, "rate": 20, "is_active": True, "is_ecotax": False},  # says nothing: between the two
    ]
    assert rules.resolve_tax_id(20, taxes) == 301
    assert rules.resolve_tax_id(20, [taxes[0], taxes[2]]) == 299
    assert rules.resolve_tax_id(20, [taxes[0]]) == 300  # the only one: Sellsy's answer will say why
    inactive_compliant = [{**taxes[1], "is_active": False}, taxes[0]]
    assert rules.resolve_tax_id(20, inactive_compliant) == 301  # non-compliant is refused outright
    assert rules.resolve_tax_id("20", [Tax.model_validate(t) for t in taxes]) == 301
