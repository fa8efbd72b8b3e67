"""Building an intervention from Sellsy objects: every field from the right source."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.domain import interventions as iv

ESTIMATE: dict[str, Any] = {
    "id": 123,
    "number": "D-2026-00123",
    "status": "accepted",
    "subject": "Chaudière",
    "currency": "EUR",
    "note": "Note publique",
    "amounts": {"total_excl_tax": "1000.50", "total_after_discount_excl_tax": "1000.50"},
    "related": [{"type": "company", "id": 9}, {"type": "opportunity", "id": 44}],
    "owner": {"id": 2, "type": "staff"},
    "rows": [
        {"type": "catalog", "reference": "PRO-1", "description": "Ballon", "quantity": "2.00", "unit_amount": "100"},
        {"type": "title", "text": "Main d'oeuvre"},
        {"type": "break-page"},
        {"type": "single", "description": "Pose", "quantity": "1.5", "amount_tax_exc": "150.00"},
        {"type": "sub-total", "amount": "350"},
    ],
}


def _context(**overrides: Any) -> iv.SourceContext:
    values: dict[str, Any] = {
        "account_id": "acc",
        "source_type": "estimate",
        "document": ESTIMATE,
        "owner": {"id": 2, "firstname": "Claire", "lastname": "Fontaine"},
        "contact": {"id": 5, "first_name": "Jo", "last_name": "Durand", "phone_number": "01", "email": "jo@x.fr"},
        "customer": {"id": 9, "name": "Acme"},
        "customer_type": "company",
        "document_address": {"id": 70, "address_line_1": "1 rue A", "postal_code": "69001", "city": "Lyon"},
        "customer_address": {"id": 71, "address_line_1": "2 rue B", "city": "Paris"},
        "comments": [
            {"id": 2, "description": "second", "created": "2026-01-02T00:00:00Z"},
            {"id": 1, "description": "first", "created": "2026-01-01T00:00:00Z"},
            {"id": 3, "description": "  "},
        ],
        "custom_fields": {"site-code": "S1"},
        "attributes": {"site": "S1"},
        "tags": ["annual"],
        "recurrence": "P1Y",
        "deep_link_host": "www.sellsy.fr",
    }
    values.update(overrides)
    return iv.SourceContext(**values)


def test_estimate_intervention_carries_everything() -> None:
    built = iv.build(_context())
    assert built.id == "est-123" and built.estimate_id == 123 and built.opportunity_id == 44
    assert built.sales_rep is not None and built.sales_rep.name == "Claire Fontaine"
    assert built.amount_excl_tax == "1000.50" and built.currency == "EUR"
    assert (built.subject, built.number, built.public_note) == ("Chaudière", "D-2026-00123", "Note publique")
    assert [(r.type, r.description, r.quantity) for r in built.rows] == [
        ("catalog", "Ballon", "2.00"),
        ("title", "Main d'oeuvre", None),
        ("single", "Pose", "1.5"),
    ]
    assert [n.text for n in built.private_notes] == ["first", "second"]
    assert built.contact is not None and (built.contact.name, built.contact.email) == ("Jo Durand", "jo@x.fr")
    assert built.address is not None and built.address.id == 70 and built.address.origin == "document"
    assert built.customer_id == "company-9" and built.customer_name == "Acme"
    assert built.deep_link == "https://www.sellsy.fr/?_f=estimateOverview&id=123"
    assert (built.tags, built.recurrence, built.attributes) == (["annual"], "P1Y", {"site": "S1"})


def test_customer_address_only_when_the_document_has_none() -> None:
    built = iv.build(_context(document_address=None))
    assert built.address is not None and built.address.id == 71 and built.address.origin == "customer"


def test_opportunity_intervention() -> None:
    opportunity = {
        "id": 45,
        "number": "OPP-45",
        "name": "Toiture",
        "status": "won",
        "amount": {"value": "1800", "currency": "EUR"},
        "main_doc_id": 0,
    }
    built = iv.build(_context(source_type="opportunity", document=opportunity, rows=[]))
    assert built.id == "opp-45" and built.opportunity_id == 45 and built.estimate_id is None
    assert (built.subject, built.amount_excl_tax) == ("Toiture", "1800")
    assert built.deep_link == "https://www.sellsy.fr/?_f=prospection_opportunity&action=overview&oid=45"


@pytest.mark.parametrize(
    ("source", "status", "expected"),
    [
        ("estimate", "accepted", "won"),
        ("estimate", "invoiced", "won"),
        ("estimate", "refused", "lost"),
        ("estimate", "cancelled", "lost"),
        ("estimate", "sent", "other"),
        ("opportunity", "won", "won"),
        ("opportunity", "lost", "lost"),
        ("opportunity", "open", "other"),
    ],
)
def test_source_outcomes(source: str, status: str, expected: str) -> None:
    assert iv.source_outcome(source, status) == expected


def test_ids_are_deterministic_and_recurring_ids_chain() -> None:
    assert iv.intervention_id("estimate", "123") == "est-123"
    assert iv.recurring_id("est-123") == "est-123-r1"
    assert iv.recurring_id("est-123-r1") == "est-123-r2"
    assert iv.recurring_id("opp-9-r9") == "opp-9-r10"


def test_next_occurrence_is_fresh_but_keeps_the_context() -> None:
    parent = iv.build(_context()).model_copy(update={"status": "completed", "completed_at": "2026-01-01"})
    parent.flags.append(iv.flag_for("estimate", "refused"))
    follow = iv.next_occurrence(parent, due_date="2027-01-01", recurrence="P1Y")
    assert (follow.id, follow.status, follow.parent_id) == ("est-123-r1", "new", "est-123")
    assert follow.due_date == "2027-01-01"
    assert follow.flags == [] and follow.completed_at is None
    assert follow.address == parent.address and follow.customer_id == parent.customer_id
