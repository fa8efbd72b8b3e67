"""Trigger planning, markers, comment templates and invoice rows (pure rules)."""

from __future__ import annotations

import pytest

from bridge.domain.accounts import Trigger
from bridge.domain.triggers import (
    MAX_ORDER_REFERENCE,
    MissingTarget,
    OutboundRuleError,
    TemplateFieldUnknown,
    UnknownSkus,
    invoice_related,
    invoice_rows_from_items,
    marker,
    plan_actions,
    render_comment,
    report_file_name,
    target_document,
)

INTERVENTION = {
    "id": "itv-42",
    "number": "INT-0042",
    "status": "completed",
    "estimate_id": "310",
    "opportunity_id": 77,
    "customer": {"sellsy_type": "company", "sellsy_id": "12", "name": "Boulangerie Léa"},
    "address": {
        "address_line_1": "3 rue des Lilas",
        "postal_code": "69003",
        "city": "Lyon",
        "country_code": "FR",
    },
    "technician": "Marc Dubois",
    "notes": "Filter replaced",
    "completed_at": "2026-11-20T15:30:00+00:00",
    "used_items": [{"sku": "PUMP-1", "quantity": "2"}, {"sku": "LAB-H", "quantity": "1.50"}],
}


def trigger(**data):
    return Trigger.model_validate(data)


def test_plan_keeps_only_matching_triggers_in_order():
    triggers = [
        trigger(name="quote", when={"has_estimate": True}, actions=[{"type": "convert_quote"}]),
        trigger(name="tagged", when={"tag": "vip"}, actions=[{"type": "invoice_from_items"}]),
        trigger(
            name="report",
            actions=[
                {"type": "upload_report", "target": "estimate"},
                {"type": "upload_report", "target": "opportunity"},
            ],
        ),
    ]
    planned = plan_actions(triggers, INTERVENTION)
    assert [(p.trigger, p.index, p.kind) for p in planned] == [
        ("quote", 0, "convert_quote"),
        ("report", 0, "upload_report"),
        ("report", 1, "upload_report"),
    ]
    assert planned[1].key == "report#0"


def test_marker_is_stable_distinct_and_fits_order_reference():
    first = marker("itv-42", "Invoice it", 0)
    assert first == marker("itv-42", "Invoice it", 0)
    assert first.startswith("[sb:itv-42:invoice-it.") and first.endswith(".0]")
    assert first != marker("itv-42", "Invoice it", 1)
    assert first != marker("itv-42", "Invoice-it", 0)  # slugs clash, the hash does not
    assert first != marker("itv-43", "Invoice it", 0)
    long_id = "x" * 150
    assert len(marker(long_id, "a very long trigger name that goes on", 3)) <= MAX_ORDER_REFERENCE
    assert marker(long_id, "t", 0) != marker("y" * 150, "t", 0)


def test_report_file_name_is_safe():
    assert report_file_name("itv-42") == "report-itv-42.pdf"
    assert report_file_name("../a b") == "report-a-b.pdf"


def test_comment_template_renders_fields_and_carries_no_marker():
    text = render_comment("Job {number} done by {technician} at {address}: {used_items}", INTERVENTION)
    assert text == "Job INT-0042 done by Marc Dubois at 3 rue des Lilas, 69003 Lyon, FR: 2 × PUMP-1, 1.50 × LAB-H"


def test_comment_template_with_unknown_field_is_a_clear_error():
    with pytest.raises(TemplateFieldUnknown, match="tecnician"):
        render_comment("Done by {tecnician}", INTERVENTION)


def test_rows_match_skus_and_resolve_tax_by_value():
    catalogue = {
        "PUMP-1": {"id": 5, "type": "product", "name": "Pump"},
        "LAB-H": {"id": 9, "type": "service", "name": "Labour hour"},
    }
    items = [
        *INTERVENTION["used_items"][:1],
        {"sku": "LAB-H", "quantity": "1.50", "unit_price": "45.0", "tax_rate": 20.0},
    ]
    rows = invoice_rows_from_items(items, catalogue, {"20": 192})
    assert rows == [
        {
            "quantity": "2",
            "type": "catalog",
            "related": {"type": "product", "id": 5},
            "reference": "PUMP-1",
            "description": "Pump",
        },
        {
            "quantity": "1.5",
            "type": "catalog",
            "related": {"type": "service", "id": 9},
            "reference": "LAB-H",
            "description": "Labour hour",
            "unit_amount": "45",
            "tax_id": 192,
        },
    ]


def test_unknown_sku_fails_the_whole_invoice_and_names_it():
    with pytest.raises(UnknownSkus) as caught:
        invoice_rows_from_items(INTERVENTION["used_items"], {"PUMP-1": {"id": 5, "type": "product"}})
    assert caught.value.details == {"unknown_skus": ["LAB-H"]}
    assert "LAB-H" in str(caught.value)


def test_unknown_tax_rate_and_bad_quantity_are_errors():
    catalogue = {"PUMP-1": {"id": 5, "type": "product"}}
    with pytest.raises(OutboundRuleError, match=r"7\.7"):
        invoice_rows_from_items([{"sku": "PUMP-1", "quantity": 1, "tax_rate": "7.7"}], catalogue, {"20": 1})
    with pytest.raises(OutboundRuleError, match="not a number"):
        invoice_rows_from_items([{"sku": "PUMP-1", "quantity": "two"}], catalogue)


def test_targets_and_related():
    assert target_document(INTERVENTION, "estimate") == ("estimate", 310)
    assert invoice_related(INTERVENTION) == [{"type": "company", "id": 12}, {"type": "opportunity", "id": 77}]
    with pytest.raises(MissingTarget):
        target_document({"id": "x"}, "opportunity")
    with pytest.raises(MissingTarget):
        invoice_related({"id": "x", "customer": {"sellsy_type": "contact", "sellsy_id": 3}})
