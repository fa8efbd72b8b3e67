"""Models tolerate Sellsy's evolution; the committed filter table matches the OpenAPI file."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bridge.sellsy.errors import ValidationFailed, error_from_response
from bridge.sellsy.models import Estimate, Invoice, Opportunity
from bridge.sellsy.search_filters import SEARCH_FILTERS, SPEC_VERSION
from tests.fixtures.contract import spec_path


def test_amounts_become_decimals_and_unknown_fields_survive() -> None:
    invoice = Invoice.model_validate(
        {
            "id": 1,
            "status": "a-status-added-later",
            "amounts": {"total_excl_tax": "22.20", "total_incl_tax": "26.64"},
            "rows": [{"type": "single", "quantity": "7.2", "unit_amount": "3.10", "new_field": True}],
            "parent": {"id": 5, "type": "estimate"},
            "brand_new": {"x": 1},
            "_embed": {"company": {"id": 9, "name": "Dupont"}},
        }
    )
    assert invoice.amounts is not None and invoice.amounts.total_excl_tax == Decimal("22.20")
    assert invoice.rows is not None and invoice.rows[0].quantity == Decimal("7.2")
    assert invoice.rows[0].model_extra == {"new_field": True}
    assert invoice.status == "a-status-added-later"
    assert invoice.model_extra == {"brand_new": {"x": 1}}
    assert invoice.embedded("company") == {"id": 9, "name": "Dupont"}
    assert invoice.parent is not None and invoice.parent.type == "estimate"


def test_related_lookup_and_money() -> None:
    estimate = Estimate.model_validate(
        {"id": 3, "related": [{"id": 7, "type": "company"}, {"id": 8, "type": "opportunity"}]}
    )
    assert estimate.related_id("opportunity") == 8
    assert estimate.related_id("individual") is None
    opportunity = Opportunity.model_validate({"id": 1, "status": "won", "amount": {"value": "1500.50"}})
    assert opportunity.amount is not None and opportunity.amount.value == Decimal("1500.50")


def test_error_body_becomes_typed_error() -> None:
    body = {"error": {"code": 400, "message": "Invalid", "context": "x", "details": {"name": "required"}}}
    error = error_from_response(400, body, method="POST", path="/companies")
    assert isinstance(error, ValidationFailed)
    assert error.to_dict() == {
        "type": "ValidationFailed",
        "status": 400,
        "message": "Invalid",
        "details": {"name": "required"},
        "method": "POST",
        "path": "/companies",
    }
    assert error_from_response(500, "not json").status == 500


@pytest.mark.needs_openapi
def test_committed_filter_table_matches_the_openapi_file() -> None:
    from infra.sellsy_filters import extract_filters, load_spec

    spec = load_spec(spec_path())
    assert spec["info"]["version"] == SPEC_VERSION
    expected = {route: frozenset(keys) for route, keys in extract_filters(spec).items()}
    assert expected == SEARCH_FILTERS
    # The reference's known pitfall: these names are not filters of /estimates/search.
    assert not {"third_ids", "contact_id", "individual_ids"} & SEARCH_FILTERS["/estimates/search"]
    assert {"updated_at", "reference"} <= SEARCH_FILTERS["/companies/search"]
