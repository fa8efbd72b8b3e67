"""Lines reconcile with their document: Sellsy's own totals are the oracle, never the mapping's sums.

The pure level: hand-made documents in Sellsy's read shape, the sandbox's seeded documents over many seeds
(rendered without HTTP), and every row type of Sellsy's OpenAPI file being either mapped or left out for
a stated reason.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.domain import reconciliation, revenue
from bridge.domain.currency import BaseCurrencyConverter
from infra.local.sandbox.state import State
from tests.unit.importer.test_currency import TABLE

CENT = Decimal("0.01")


def converter() -> BaseCurrencyConverter:
    return BaseCurrencyConverter("EUR", TABLE, source="test")


def row(row_id: int, kind: str, excl: str, rate: str = "20.00", **extra: Any) -> dict[str, Any]:
    amount = Decimal(excl)
    tax = (amount * Decimal(rate) / 100).quantize(CENT)
    return {
        "id": row_id,
        "type": kind,
        "quantity": "1",
        "unit_amount": excl,
        "amount_tax_exc": excl,
        "tax_rate": rate,
        "tax_amount": str(tax),
        "amount_tax_inc": str(amount + tax),
        **extra,
    }


# 10 % off the goods (300.00 → 270.00); shipping (at 5.5 %) is not discounted; a deposit of 50.00 deducted.
DISCOUNTED = {
    "id": 9,
    "number": "F-1",
    "currency": "EUR",
    "date": "2024-03-01",
    "discount": {"type": "percent", "percent": "10.00", "amount": "30.00"},
    "amounts": {"total_excl_tax": "230.00", "total_incl_tax": "274.55"},
    "taxes": [
        {"id": 1, "label": "TVA 20%", "rate": "20.00", "amount": "44.00"},
        {"id": 3, "label": "TVA 5,5%", "rate": "5.50", "amount": "0.55"},
    ],
    "rows": [
        row(1, "catalog", "200.00", related={"id": 5, "type": "product"}),
        {"id": 2, "type": "sub-total", "amount": "200.00"},
        row(3, "single", "100.00"),
        row(4, "shipping", "10.00", "5.50"),
        row(5, "deposit", "-50.00"),
        {"id": 6, "type": "comment", "text": "Merci"},
    ],
}


def sums(lines: list[tuple[str, dict[str, Any]]], name: str) -> Decimal:
    return sum((line[name] for _, line in lines), Decimal(0))


def test_document_discount_is_allocated_to_goods_lines_and_recorded():
    _, record, lines = revenue.map_document("invoice", DISCOUNTED, converter())
    by_id = {line["original_id"]: line for _, line in lines}
    assert set(by_id) == {1, 3, 4, 5}  # sub-total and comment left out
    assert by_id[1]["amount_excl_tax_before_document_discount"] == Decimal("200.00")
    assert by_id[1]["document_discount_amount"] == Decimal("20.00")
    assert by_id[1]["amount_excl_tax"] == Decimal("180.00")  # after every discount
    assert by_id[3]["amount_excl_tax"] == Decimal("90.00")
    assert by_id[4]["document_discount_amount"] == 0 and by_id[4]["amount_excl_tax"] == Decimal("10.00")
    assert by_id[5]["row_type"] == "deposit" and by_id[5]["amount_excl_tax"] == Decimal("-50.00")
    assert record["discount_type"] == "percent" and record["discount_amount"] == Decimal("30.00")
    assert record["discount_allocation"].startswith("pro rata over goods")
    assert record["deposit_amount_excl_tax"] == Decimal("-50.00")
    # the oracle: the document's own totals
    assert sums(lines, "amount_excl_tax") == Decimal(DISCOUNTED["amounts"]["total_excl_tax"])
    assert sums(lines, "amount_incl_tax") == Decimal(DISCOUNTED["amounts"]["total_incl_tax"])
    assert sums(lines, "tax_amount") == Decimal("44.55")
    assert record["out_of_balance"] is False


def test_credit_notes_reconcile_negated():
    _, record, lines = revenue.map_document("credit_note", DISCOUNTED, converter())
    assert sums(lines, "amount_excl_tax") == record["amount_excl_tax"] == Decimal("-230.00")
    assert record["discount_amount"] == Decimal("-30.00") and record["out_of_balance"] is False


def test_a_gap_no_discount_explains_is_flagged_with_the_difference_and_not_spread():
    broken = {**DISCOUNTED, "discount": None}
    _, record, lines = revenue.map_document("invoice", broken, converter())
    assert all(line["document_discount_amount"] == 0 for _, line in lines)
    assert record["out_of_balance"] is True and record["out_of_balance_amount_excl_tax"] == Decimal("30.00")
    assert record["discount_allocation"] is None


def test_pro_rata_shares_add_up_exactly_and_follow_the_weights():
    shares = reconciliation.pro_rata(Decimal("10.00"), [Decimal("1"), Decimal("1"), Decimal("1")])
    assert sum(shares) == Decimal("10.00") and sorted(shares) == [Decimal("3.33"), Decimal("3.33"), Decimal("3.34")]
    assert reconciliation.pro_rata(Decimal("-0.05"), [Decimal("3"), Decimal("1")]) == [
        Decimal("-0.04"),
        Decimal("-0.01"),
    ]


@given(
    total=st.decimals(min_value=-5000, max_value=5000, places=2),
    weights=st.lists(st.decimals(min_value=0, max_value=10_000, places=2), min_size=1, max_size=8),
)
def test_pro_rata_always_adds_up(total: Decimal, weights: list[Decimal]) -> None:
    assert sum(reconciliation.pro_rata(total, weights), Decimal(0)) == total


def _assert_reconciles(kind: str, doc: dict[str, Any]) -> None:
    _, record, lines = revenue.map_document(kind, doc, converter())
    sign = -1 if kind == "credit_note" else 1
    excl = Decimal(doc["amounts"]["total_excl_tax"]) * sign
    incl = Decimal(doc["amounts"]["total_incl_tax"]) * sign
    where = (kind, doc["id"], record["out_of_balance_amount_excl_tax"], record["out_of_balance_tax_amount"])
    assert abs(sums(lines, "amount_excl_tax") - excl) <= CENT, where
    assert abs(sums(lines, "amount_incl_tax") - incl) <= CENT, where
    assert abs(sums(lines, "tax_amount") - (incl - excl)) <= CENT, where
    assert record["out_of_balance"] is False, where
    for _, line in lines:  # true to its name: after the row's and the document's discounts
        assert line["amount_excl_tax"] == (
            line["amount_excl_tax_before_document_discount"] - line["document_discount_amount"]
        )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=10**6))
def test_every_seeded_document_reconciles_over_many_seeds(seed: int) -> None:
    state = State(seed, 60, 1)
    for kind, store in (("invoice", "invoice"), ("credit_note", "creditnote")):
        for doc_id in state.docs[store].ids():
            _assert_reconciles(kind, state.docs[store].get(doc_id))


def test_the_default_sandbox_seeds_every_row_type_and_discount_kind():
    state = State(7, 300, 1)
    invoices = [state.docs["invoice"].get(i) for i in state.docs["invoice"].ids()]
    credit_notes = [state.docs["creditnote"].get(i) for i in state.docs["creditnote"].ids()]
    row_types = {r["type"] for d in invoices for r in d["rows"]}
    assert set(reconciliation.MAPPED_ROW_TYPES) <= row_types
    assert {d["discount"]["type"] for d in invoices if d.get("discount")} == {"percent", "amount"}
    assert {d["discount"]["type"] for d in credit_notes if d.get("discount")} == {"percent", "amount"}
    assert {r["discount"]["type"] for d in invoices for r in d["rows"] if r.get("discount")} == {"percent", "amount"}
    assert any(d["is_deposit"] for d in invoices) and any(d.get("is_progress_invoice") for d in invoices)


def _row_types_in_file(spec: dict[str, Any]) -> set[str]:
    found: set[str] = set()

    def walk(node: Any, in_rows: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "rows":
                    walk(value, True)
                elif in_rows and key == "type" and isinstance(value, dict) and "enum" in value:
                    found.update(v for v in value["enum"] if isinstance(v, str))
                else:
                    walk(value, in_rows and key not in ("related", "discount", "amount", "eco_tax"))
        elif isinstance(node, list):
            for value in node:
                walk(value, in_rows)

    schemas = spec["components"]["schemas"]
    for name in ("InvoiceOne", "InvoiceOrProgressInvoiceOne", "CreditNoteOne", "EstimateCreate"):
        walk(schemas[name], False)
    return found


def test_every_row_type_of_sellsys_file_is_mapped_or_left_out_for_a_reason(sellsy_contract: Any) -> None:
    in_file = _row_types_in_file(sellsy_contract.raw)
    assert {"deposit", "progress-single", "sub-total"} <= in_file  # the walk found the row schemas
    known = set(reconciliation.MAPPED_ROW_TYPES) | set(reconciliation.LEFT_OUT_ROW_TYPES)
    assert in_file <= known, in_file - known
    assert set(reconciliation.MAPPED_ROW_TYPES) <= in_file  # nothing mapped that Sellsy does not send


@pytest.mark.parametrize("kind", ["invoice", "credit_note"])
def test_an_unknown_row_type_with_an_amount_is_kept(kind: str) -> None:
    doc = {**DISCOUNTED, "discount": None, "rows": [row(1, "catalog", "100.00"), row(2, "new-kind", "20.00")]}
    doc["amounts"] = {"total_excl_tax": "120.00", "total_incl_tax": "144.00"}
    doc["taxes"] = [{"id": 1, "label": "TVA 20%", "rate": "20.00", "amount": "24.00"}]
    _assert_reconciles(kind, doc)
