"""What the field app sends: a completion (F5) and a customer change (F2 field → Sellsy)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

MAX_USED_ITEMS = 200


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UsedItem(_Strict):
    sku: Annotated[str, Field(min_length=1, max_length=100, description="Sellsy item reference")]
    quantity: Annotated[Decimal, Field(gt=0, le=1_000_000, max_digits=14, decimal_places=4)]
    unit_price: Annotated[Decimal, Field(ge=0, le=100_000_000, max_digits=16, decimal_places=4)] | None = Field(
        default=None, description="Excl. tax; omitted = the catalogue price"
    )
    tax_rate: Annotated[Decimal, Field(ge=0, le=100, max_digits=6, decimal_places=3)] | None = Field(
        default=None, description="Tax rate by value (e.g. 20); resolved to the account's tax id"
    )
    description: Annotated[str, Field(max_length=1000)] | None = None


class CompletionRequest(_Strict):
    technician: Annotated[str, Field(min_length=1, max_length=200)]
    used_items: Annotated[list[UsedItem], Field(max_length=MAX_USED_ITEMS)] = Field(default_factory=list)
    notes: Annotated[str, Field(max_length=10_000)] | None = None
    work_done: Annotated[str, Field(max_length=20_000)] | None = None
    report_key: Annotated[str, Field(min_length=1, max_length=512)] | None = Field(
        default=None, description="Key returned by report-upload-url; omitted = the connector renders the report"
    )
    completed_at: datetime | None = Field(default=None, description="ISO 8601 with time zone; default now")
    force: StrictBool = Field(
        default=False,
        description="Invoice even though the intervention is flagged (its quote was refused or cancelled, its "
        "opportunity lost). Sending the same completion again with force: true releases a held invoice.",
    )

    @field_validator("completed_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("completed_at needs a time zone (e.g. 2026-11-21T10:00:00Z)")
        return value

    def fingerprint(self) -> str:
        """Identical re-submissions (network retries) are recognised by this hash of the content."""
        # ``force`` is a decision about the same work, not other work: it stays out of the fingerprint.
        data = self.model_dump(mode="json", exclude={"completed_at", "force"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


class UploadUrlRequest(_Strict):
    size: Annotated[int, Field(gt=0, description="Exact size of the PDF in bytes (≤ 15 MB)")]
    content_type: str = Field(default="application/pdf", description="Only application/pdf is accepted")

    @field_validator("content_type")
    @classmethod
    def _pdf_only(cls, value: str) -> str:
        if value.lower() != "application/pdf":
            raise ValueError("only application/pdf reports are accepted")
        return "application/pdf"


class AddressChange(_Strict):
    """The intervention address as the technician corrected it."""

    lines: Annotated[list[Annotated[str, Field(min_length=1, max_length=250)]], Field(min_length=1, max_length=4)]
    postal_code: Annotated[str, Field(min_length=2, max_length=30)]
    city: Annotated[str, Field(min_length=2, max_length=250)]
    country_code: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]

    @field_validator("country_code")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class ContactChange(_Strict):
    phone: Annotated[str, Field(min_length=3, max_length=40)] | None = None
    mobile: Annotated[str, Field(min_length=3, max_length=40)] | None = None
    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None

    @model_validator(mode="after")
    def _something(self) -> ContactChange:
        if not self.model_fields_set:
            raise ValueError("main_contact needs at least one of phone, mobile, email")
        return self


class CustomerChange(_Strict):
    address: AddressChange | None = None
    main_contact: ContactChange | None = None

    @model_validator(mode="after")
    def _something(self) -> CustomerChange:
        if self.address is None and self.main_contact is None:
            raise ValueError("nothing to change: give 'address' and/or 'main_contact'")
        return self
