"""Thin typed helpers over ``SellsyClient`` for what the flows do with Sellsy.

Each helper is one Sellsy call (or one paginated listing) and returns models. Writes return what
Sellsy answered; they never retry on an unknown outcome (see ``WriteOutcomeUnknown``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from bridge.sellsy.client import SellsyClient
from bridge.sellsy.kinds import collection
from bridge.sellsy.models import (
    Address,
    Comment,
    Company,
    Contact,
    CreditNote,
    Currency,
    CustomFieldValue,
    Estimate,
    File,
    Individual,
    Invoice,
    Item,
    ItemPrice,
    Opportunity,
    RateCategory,
    Staff,
    Tax,
    Unit,
    Webhook,
)

ESTIMATE_EMBEDS = ("company", "individual", "contact", "invoicing_address", "delivery_address", "currency")
OPPORTUNITY_EMBEDS = ("company", "individual", "contacts", "assigned_staffs")
INVOICE_EMBEDS = ("company", "individual", "contact", "invoicing_address", "delivery_address")
CUSTOMER_EMBEDS = ("invoicing_address", "delivery_address", "main_contact")


def _embeds(base: Iterable[str], custom_field_ids: Iterable[int] = ()) -> list[str]:
    return [*base, *(f"cf.{field_id}" for field_id in custom_field_ids)]


class SellsyApi:
    def __init__(self, client: SellsyClient) -> None:
        self.client = client

    # -- reads of one object ----------------------------------------------------------------------
    def _get(self, path: str, embed: Iterable[str] | None = None) -> Any:
        params = {"embed[]": list(embed)} if embed else None
        return self.client.get(path, params=params)

    def get_estimate(self, estimate_id: int, *, custom_field_ids: Iterable[int] = ()) -> Estimate:
        return Estimate.model_validate(
            self._get(f"/estimates/{estimate_id}", _embeds(ESTIMATE_EMBEDS, custom_field_ids))
        )

    def get_opportunity(self, opportunity_id: int, *, custom_field_ids: Iterable[int] = ()) -> Opportunity:
        return Opportunity.model_validate(
            self._get(f"/opportunities/{opportunity_id}", _embeds(OPPORTUNITY_EMBEDS, custom_field_ids))
        )

    def get_invoice(self, invoice_id: int, *, embed: Iterable[str] | None = None) -> Invoice:
        return Invoice.model_validate(self._get(f"/invoices/{invoice_id}", embed))

    def get_credit_note(self, credit_note_id: int, *, embed: Iterable[str] | None = None) -> CreditNote:
        return CreditNote.model_validate(self._get(f"/credit-notes/{credit_note_id}", embed))

    def get_company(self, company_id: int, *, custom_field_ids: Iterable[int] = ()) -> Company:
        return Company.model_validate(self._get(f"/companies/{company_id}", _embeds(CUSTOMER_EMBEDS, custom_field_ids)))

    def get_individual(self, individual_id: int, *, custom_field_ids: Iterable[int] = ()) -> Individual:
        embeds = _embeds(("invoicing_address", "delivery_address"), custom_field_ids)
        return Individual.model_validate(self._get(f"/individuals/{individual_id}", embeds))

    def get_contact(self, contact_id: int) -> Contact:
        return Contact.model_validate(self._get(f"/contacts/{contact_id}"))

    def get_staff(self, staff_id: int) -> Staff:
        return Staff.model_validate(self._get(f"/staffs/{staff_id}"))

    def get_address(self, owner_kind: str, owner_id: int, address_id: int) -> Address:
        return Address.model_validate(self._get(f"/{collection(owner_kind)}/{owner_id}/addresses/{address_id}"))

    def custom_field_values(self, kind: str, object_id: int) -> list[CustomFieldValue]:
        return [
            CustomFieldValue.model_validate(item)
            for item in self.client.iterate(f"/{collection(kind)}/{object_id}/custom-fields", search=False)
        ]

    # -- catalogue and reference data -------------------------------------------------------------
    def search_items_by_reference(self, reference: str, *, include_archived: bool = False) -> list[Item]:
        filters: dict[str, Any] = {"reference": reference}
        if not include_archived:
            filters["is_archived"] = False
        items = self.client.iterate("/items/search", search=True, filters=filters, model=Item)
        # Sellsy's reference filter may match loosely: keep exact (case-insensitive) matches only.
        return [item for item in items if (item.reference or "").casefold() == reference.casefold()]

    def item_prices(self, item_id: int) -> list[ItemPrice]:
        return list(self.client.iterate(f"/items/{item_id}/prices", search=False, model=ItemPrice))

    def list_taxes(self) -> list[Tax]:
        return list(self.client.iterate("/taxes", search=False, model=Tax))

    def list_units(self) -> list[Unit]:
        return list(self.client.iterate("/units", search=False, model=Unit))

    def list_currencies(self) -> list[Currency]:
        return list(self.client.iterate("/currencies", search=False, model=Currency))

    def list_rate_categories(self) -> list[RateCategory]:
        return list(self.client.iterate("/rate-categories", search=False, model=RateCategory))

    def credit_note_invoices(self, credit_note_id: int) -> list[Invoice]:
        """The invoices a credit note is linked to (summaries, as Sellsy lists them)."""
        path = f"/credit-notes/{credit_note_id}/invoices"
        return list(self.client.iterate(path, search=False, model=Invoice))

    # -- invoices ---------------------------------------------------------------------------------
    def create_invoice(self, body: dict[str, Any]) -> Invoice:
        return Invoice.model_validate(self.client.post("/invoices", json=body))

    def create_invoice_from_estimate(self, estimate_id: int, body: dict[str, Any]) -> Invoice:
        """Convert a quote: ``POST /invoices`` with ``parent`` = the estimate (the invoice is a draft)."""
        return self.create_invoice({**body, "parent": {"type": "estimate", "id": estimate_id}})

    def validate_invoice(self, invoice_id: int, *, date: str | None = None) -> Invoice:
        body = {"date": date} if date else {}
        return Invoice.model_validate(self.client.post(f"/invoices/{invoice_id}/validate", json=body))

    def find_invoices(self, **filters: Any) -> Iterator[Invoice]:
        return self.client.iterate("/invoices/search", search=True, filters=filters, model=Invoice)

    # -- customers --------------------------------------------------------------------------------
    def convert_prospect(self, kind: str, object_id: int) -> dict[str, Any]:
        """Prospect -> client (invoices accept client customers only)."""
        if kind not in ("company", "individual"):
            raise ValueError(f"only companies and individuals convert, not {kind!r}")
        answer = self.client.post(f"/{collection(kind)}/{object_id}/convert", json={"target": "client"})
        return dict(answer or {})

    def update_company(self, company_id: int, fields: dict[str, Any]) -> Company:
        return Company.model_validate(self.client.put(f"/companies/{company_id}", json=fields))

    def update_individual(self, individual_id: int, fields: dict[str, Any]) -> Individual:
        return Individual.model_validate(self.client.put(f"/individuals/{individual_id}", json=fields))

    def update_contact(self, contact_id: int, fields: dict[str, Any]) -> Contact:
        return Contact.model_validate(self.client.put(f"/contacts/{contact_id}", json=fields))

    def update_address(self, owner_kind: str, owner_id: int, address_id: int, fields: dict[str, Any]) -> Address:
        path = f"/{collection(owner_kind)}/{owner_id}/addresses/{address_id}"
        return Address.model_validate(self.client.put(path, json=fields))

    # -- comments and files -----------------------------------------------------------------------
    def create_comment(self, description: str, *, related_type: str, related_id: int) -> Comment:
        body = {"description": description, "related": [{"type": related_type, "id": related_id}]}
        return Comment.model_validate(self.client.post("/comments", json=body))

    def search_comments(self, *, related_type: str, related_id: int) -> list[Comment]:
        filters = {"related_objects": [{"type": related_type, "id": related_id}]}
        return list(self.client.iterate("/comments/search", search=True, filters=filters, model=Comment))

    def upload_file(
        self,
        kind: str,
        object_id: int,
        *,
        filename: str,
        content: bytes,
        content_type: str = "application/pdf",
    ) -> File:
        path = f"/{collection(kind)}/{object_id}/files"
        answer = self.client.upload_file(path, filename=filename, content=content, content_type=content_type)
        return File.model_validate(answer)

    def list_files(self, kind: str, object_id: int) -> list[File]:
        body = self.client.get(f"/{collection(kind)}/{object_id}/files") or {}
        return [File.model_validate(item) for item in body.get("data", []) if item.get("type", "file") == "file"]

    # -- webhooks ---------------------------------------------------------------------------------
    def list_webhooks(self) -> list[Webhook]:
        return list(self.client.iterate("/webhooks", search=False, model=Webhook))

    def get_webhook(self, webhook_id: int) -> Webhook:
        return Webhook.model_validate(self.client.get(f"/webhooks/{webhook_id}"))

    def create_webhook(
        self,
        *,
        name: str,
        endpoint: str,
        sign_key: str,
        events: Iterable[str],
        json_content_type: bool = True,
        object_in_payload: bool = True,
    ) -> Webhook:
        body = {
            "type": "http",
            "name": name,
            "endpoint": endpoint,
            "is_enabled": True,
            "json_content_type": json_content_type,
            "object_in_payload": object_in_payload,
            "sign_key": sign_key,
            "configuration": [{"id": event, "is_enabled": True} for event in events],
        }
        return Webhook.model_validate(self.client.post("/webhooks", json=body))

    def update_webhook(self, webhook_id: int, fields: dict[str, Any]) -> Webhook:
        return Webhook.model_validate(self.client.put(f"/webhooks/{webhook_id}", json=fields))

    def delete_webhook(self, webhook_id: int) -> None:
        self.client.delete(f"/webhooks/{webhook_id}")

    def webhook_events(self) -> list[dict[str, Any]]:
        answer = self.client.get("/webhooks/events")
        return list(answer if isinstance(answer, list) else (answer or {}).get("data", []))
