"""Pydantic models of the Sellsy objects the connector reads and writes.

Tolerant by design (Sellsy's versioning rules): unknown fields are kept (``extra="allow"``), enum-like
fields are plain strings (new values may appear), almost everything is optional (a missing field is
not the same as null). Amounts arrive as JSON strings and become ``Decimal``; an amount that does not
parse (an empty string, a new format) is None rather than a refused object.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _decimal_or_none(value: Any) -> Decimal | None:
    """An amount as Sellsy writes it (a string, sometimes a number); anything else ("", junk) is None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        parsed = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return parsed if parsed.is_finite() else None


Amount = Annotated[Decimal | None, BeforeValidator(_decimal_or_none)]


def _without_nulls(value: Any) -> Any:
    """A list with null entries (nullable items) keeps its other entries."""
    return [item for item in value if item is not None] if isinstance(value, list) else value


def _objects_only(value: Any) -> Any:
    """A list of objects keeps its objects (an entry of another shape is left out, not a refused body)."""
    return [item for item in value if isinstance(item, dict | BaseModel)] if isinstance(value, list) else value


Objects = BeforeValidator(_objects_only)
Present = BeforeValidator(_without_nulls)


class SellsyModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    embed: dict[str, Any] | None = Field(default=None, alias="_embed")

    def embedded(self, name: str) -> Any:
        """An ``embed[]`` object (None when absent or when the token lacked the scope)."""
        return (self.embed or {}).get(name)


class Ref(SellsyModel):
    id: int | None = None
    type: str | None = None


class DateRange(SellsyModel):
    start: str | None = None
    end: str | None = None


class Discount(SellsyModel):
    type: str | None = None
    value: Amount = None
    percent: Amount = None
    amount: Amount = None
    total: Amount = None


# -- customers ------------------------------------------------------------------------------------
class Address(SellsyModel):
    id: int | None = None
    name: str | None = None
    address_line_1: str | None = None
    address_line_2: str | None = None
    address_line_3: str | None = None
    address_line_4: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country_code: str | None = None
    country: str | None = None
    is_invoicing_address: bool | None = None
    is_delivery_address: bool | None = None
    geocode: dict[str, Any] | None = None


class Company(SellsyModel):
    id: int
    type: str | None = None  # prospect | client | supplier
    name: str | None = None
    email: str | None = None
    phone_number: str | None = None
    mobile_number: str | None = None
    website: str | None = None
    reference: str | None = None
    note: str | None = None
    is_archived: bool | None = None
    created: str | None = None
    updated_at: str | None = None
    owner: Ref | None = None
    main_contact_id: int | None = None
    invoicing_contact_id: int | None = None
    invoicing_address_id: int | None = None
    delivery_address_id: int | None = None
    rate_category_id: int | None = None


class Individual(SellsyModel):
    id: int
    type: str | None = None
    civility: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone_number: str | None = None
    mobile_number: str | None = None
    reference: str | None = None
    note: str | None = None
    is_archived: bool | None = None
    created: str | None = None
    updated_at: str | None = None
    owner: Ref | None = None
    invoicing_address_id: int | None = None
    delivery_address_id: int | None = None

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class Contact(SellsyModel):
    id: int
    civility: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone_number: str | None = None
    mobile_number: str | None = None
    position: str | None = None
    note: str | None = None
    created: str | None = None
    updated: str | None = None
    owner: Ref | None = None
    invoicing_address_id: int | None = None
    delivery_address_id: int | None = None


class Staff(SellsyModel):
    id: int
    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None
    phone_number: str | None = None
    mobile_number: str | None = None
    position: str | None = None
    status: str | None = None

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.firstname, self.lastname) if part)


# -- documents ------------------------------------------------------------------------------------
class Row(SellsyModel):
    """One row of an estimate, invoice or credit note (``type``: single, catalog, comment, ...)."""

    id: int | None = None
    type: str | None = None
    related: Ref | None = None
    reference: str | None = None
    description: str | None = None
    text: str | None = None
    quantity: Amount = None
    unit_amount: Amount = None
    unit_id: int | None = None
    tax_id: int | None = None
    tax_rate: Amount = None
    tax_amount: Amount = None
    amount_tax_exc: Amount = None
    amount_tax_inc: Amount = None
    purchase_amount: Amount = None
    discount: Discount | None = None
    is_optional: bool | None = None


class DocumentAmounts(SellsyModel):
    total_raw_excl_tax: Amount = None
    total_after_discount_excl_tax: Amount = None
    total_excl_tax: Amount = None
    total_incl_tax: Amount = None
    total: Amount = None
    total_remaining_due_incl_tax: Amount = None


class DocumentTax(SellsyModel):
    id: int | None = None
    label: str | None = None
    rate: Amount = None
    amount: Amount = None


class Document(SellsyModel):
    """Shared shape of estimates, invoices and credit notes."""

    id: int
    number: str | None = None
    status: str | None = None
    date: str | None = None
    created: str | None = None
    subject: str | None = None
    note: str | None = None
    currency: str | None = None
    amounts: DocumentAmounts | None = None
    taxes: Annotated[list[DocumentTax] | None, Objects] = None
    discount: Discount | None = None
    related: Annotated[list[Ref] | None, Objects] = None
    contact_id: int | None = None
    owner: Ref | None = None
    assigned_staff_id: int | None = None
    invoicing_address_id: int | None = None
    delivery_address_id: int | None = None
    service_dates: DateRange | None = None
    pdf_link: str | None = None
    rows: Annotated[list[Row] | None, Objects] = None  # only on the detail (GET /<documents>/{id})

    def related_id(self, kind: str) -> int | None:
        return next((ref.id for ref in self.related or [] if ref.type == kind), None)


class Estimate(Document):
    expiry_date: str | None = None
    public_link: str | None = None


class Invoice(Document):
    due_date: str | None = None
    parent: Ref | None = None
    order_reference: str | None = None
    is_deposit: bool | None = None
    public_link: dict[str, Any] | None = None


class CreditNote(Document):
    pass


class Money(SellsyModel):
    value: Amount = None
    currency: str | None = None


class Opportunity(SellsyModel):
    id: int
    number: str | None = None
    name: str | None = None
    status: str | None = None  # open | won | lost | cancelled | closed | late
    amount: Money | None = None
    pipeline: Ref | None = None
    step: Ref | None = None
    probability: int | None = None
    due_date: str | None = None
    note: str | None = None
    owner: Ref | None = None
    assigned_staff_ids: Annotated[list[int] | None, Present] = None
    contact_ids: Annotated[list[int] | None, Present] = None
    company_id: int | None = None
    individual_id: int | None = None
    main_doc_id: int | None = None
    related: Annotated[list[Ref] | None, Objects] = None
    created: str | None = None
    updated_status: str | None = None


# -- catalogue and reference data -----------------------------------------------------------------
class Item(SellsyModel):
    id: int
    type: str | None = None  # product | service | shipping | packaging
    name: str | None = None
    reference: str | None = None
    reference_price_taxes_exc: Amount = None
    reference_price_taxes_inc: Amount = None
    purchase_amount: Amount = None
    tax_id: int | None = None
    unit_id: int | None = None
    currency: str | None = None
    description: str | None = None
    is_archived: bool | None = None


class ItemPrice(SellsyModel):
    rate_category_id: int | None = None
    amount_excl_tax: Amount = None
    amount_incl_tax: Amount = None


class Tax(SellsyModel):
    id: int
    rate: Amount = None
    label: str | None = None
    is_active: bool | None = None
    is_ecotax: bool | None = None
    is_einvoicing_compliant: bool | None = None


class Unit(SellsyModel):
    id: int
    label: str | None = None


class Currency(SellsyModel):
    id: int | str | None = None
    code: str | None = None
    symbol: str | None = None
    is_default: bool | None = None


class RateCategory(SellsyModel):
    id: int
    label: str | None = None
    is_default: bool | None = None


# -- custom fields, comments, files, webhooks -----------------------------------------------------
class CustomField(SellsyModel):
    id: int
    name: str | None = None
    code: str | None = None
    type: str | None = None
    mandatory: bool | None = None
    related_object: Annotated[list[str] | None, Present] = None
    parameters: Any = None


class CustomFieldValue(SellsyModel):
    id: int
    code: str | None = None
    name: str | None = None
    type: str | None = None
    value: Any = None


class Comment(SellsyModel):
    id: int
    description: str | None = None
    related: Annotated[list[Ref] | None, Objects] = None
    parent_id: int | None = None
    created: str | None = None
    updated: str | None = None


class File(SellsyModel):
    id: int
    type: str | None = None
    name: str | None = None
    size: int | None = None
    extension: str | None = None
    created: str | None = None
    public_link: str | None = None
    related: Annotated[list[Ref] | None, Objects] = None


class Webhook(SellsyModel):
    id: int
    type: str | None = None
    name: str | None = None
    endpoint: str | None = None
    is_enabled: bool | None = None
    json_content_type: bool | None = None
    object_in_payload: bool | None = None
    configuration: Annotated[list[dict[str, Any]] | None, Objects] = None
    nb_failures: int | None = None
