"""What the field app may send: completions, upload URL requests, customer changes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bridge.flows.outbound.models import CompletionRequest, CustomerChange, UploadUrlRequest


def test_completion_parses_items_as_decimals_and_fingerprints_content_not_time():
    first = CompletionRequest.model_validate(
        {
            "technician": "Marc",
            "used_items": [{"sku": "A-1", "quantity": "1.5"}],
            "completed_at": "2026-11-20T10:00:00Z",
        }
    )
    assert str(first.used_items[0].quantity) == "1.5"
    later = CompletionRequest.model_validate(
        {
            "technician": "Marc",
            "used_items": [{"sku": "A-1", "quantity": "1.5"}],
            "completed_at": "2026-11-21T10:00:00Z",
        }
    )
    other = CompletionRequest.model_validate({"technician": "Marc", "used_items": [{"sku": "A-1", "quantity": 2}]})
    assert first.fingerprint() == later.fingerprint()
    assert first.fingerprint() != other.fingerprint()


@pytest.mark.parametrize(
    "body",
    [
        {"used_items": []},  # no technician
        {"technician": "M", "used_items": [{"sku": "A", "quantity": 0}]},
        {"technician": "M", "used_items": [{"sku": "A", "quantity": "-1"}]},
        {"technician": "M", "used_items": [{"sku": "", "quantity": 1}]},
        {"technician": "M", "used_items": [{"sku": "A", "quantity": 1, "tax_rate": 120}]},
        {"technician": "M", "completed_at": "2026-11-20T10:00:00"},  # no time zone
        {"technician": "M", "colour": "blue"},  # unknown field
    ],
)
def test_bad_completions_are_refused(body):
    with pytest.raises(ValidationError):
        CompletionRequest.model_validate(body)


def test_upload_url_is_pdf_only():
    assert UploadUrlRequest.model_validate({"size": 10}).content_type == "application/pdf"
    with pytest.raises(ValidationError, match="application/pdf"):
        UploadUrlRequest.model_validate({"size": 10, "content_type": "image/png"})
    with pytest.raises(ValidationError):
        UploadUrlRequest.model_validate({"size": 0})


def test_customer_change_needs_something_to_change():
    with pytest.raises(ValidationError, match="nothing to change"):
        CustomerChange.model_validate({})
    with pytest.raises(ValidationError, match="at least one"):
        CustomerChange.model_validate({"main_contact": {}})
    with pytest.raises(ValidationError):
        CustomerChange.model_validate({"main_contact": {"email": "not-an-email"}})
    change = CustomerChange.model_validate(
        {"address": {"lines": ["1 rue A"], "postal_code": "69001", "city": "Lyon", "country_code": "fr"}}
    )
    assert change.address is not None and change.address.country_code == "FR"
