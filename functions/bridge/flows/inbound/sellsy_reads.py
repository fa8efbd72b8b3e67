"""The Sellsy reads inbound flows need, each one call (or one short search), tolerant of missing parts.

Webhook payloads are thin and forgeable, so every flow re-reads the object here and acts on what
Sellsy says now. A missing optional part (deleted staff, no comments) is None/empty, never an error;
only the main object raising ``NotFound`` stops a flow.

Each read takes what it can in one call with ``embed[]`` (customer, contact, addresses and custom-field
values of a quote; main contact, addresses and custom-field values of a customer). The custom-field
definitions (to name the ``cf.{id}`` embeds) and the staff (a document's owner, which no document
embeds) are reference data, kept a few minutes per account (``bridge.sellsy.reference_cache``).
"""

from __future__ import annotations

from typing import Any, Protocol

from bridge.sellsy.errors import Forbidden, NotFound
from bridge.sellsy.reference_cache import cached

MAX_COMMENTS = 100
PAGE = 100
# Objects a custom field definition names in `related_object`, by the kind of object read.
CUSTOM_FIELD_OBJECTS = {
    "estimate": {"document"},
    "opportunity": {"opportunity"},
    "company": {"client", "prospect", "supplier"},
    "individual": {"client", "prospect", "supplier"},
}


class SellsyReader(Protocol):
    def get(self, path: str, *, params: dict[str, Any] | None = None) -> Any: ...

    def post(self, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any: ...


PLURAL = {"estimate": "estimates", "opportunity": "opportunities", "company": "companies", "individual": "individuals"}


def estimate(client: SellsyReader, estimate_id: int) -> dict[str, Any]:
    """The estimate with its rows, customer, contact, its own copies of the addresses and its custom fields."""
    embeds = ["company", "individual", "contact", "invoicing_address", "delivery_address"]
    params = {"embed[]": embeds + custom_field_embeds(client, "estimate")}
    result: dict[str, Any] = client.get(f"/estimates/{estimate_id}", params=params)
    return result


def opportunity(client: SellsyReader, opportunity_id: int) -> dict[str, Any]:
    embeds = ["company", "individual", "contacts"]
    params = {"embed[]": embeds + custom_field_embeds(client, "opportunity")}
    result: dict[str, Any] = client.get(f"/opportunities/{opportunity_id}", params=params)
    return result


def third(client: SellsyReader, kind: str, third_id: int) -> dict[str, Any]:
    """A company or individual with its main contact, addresses and custom fields."""
    embeds = ["main_contact", "delivery_address", "invoicing_address"]
    params = {"embed[]": embeds + custom_field_embeds(client, kind)}
    result: dict[str, Any] = client.get(f"/{PLURAL[kind]}/{third_id}", params=params)
    return result


def custom_field_definitions(client: SellsyReader) -> list[dict[str, Any]]:
    """Every custom field of the account (reference data); empty when the token may not read them."""

    def load() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        offset: str | None = None
        while True:
            params: dict[str, Any] = {"limit": PAGE, **({"offset": offset} if offset else {})}
            answer = optional(lambda query=params: client.get("/custom-fields", params=query))
            data = (answer or {}).get("data") if isinstance(answer, dict) else None
            page = [d for d in data or [] if isinstance(d, dict)]
            found.extend(page)
            pagination = (answer or {}).get("pagination") or {}
            following = pagination.get("offset") if isinstance(pagination, dict) else None
            if len(page) < PAGE or not following or str(following) == offset:
                return found
            offset = str(following)

    return cached(client, ("custom-fields",), load)


def custom_field_embeds(client: SellsyReader, kind: str) -> list[str]:
    """``cf.{id}`` for every custom field that applies to this kind of object."""
    wanted = CUSTOM_FIELD_OBJECTS[kind]
    return [
        f"cf.{definition['id']}"
        for definition in custom_field_definitions(client)
        if isinstance(definition.get("id"), int) and wanted & set(definition.get("related_object") or [])
    ]


def embedded_custom_fields(obj: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The custom-field values a read embedded (``_embed.custom_fields``)."""
    values = ((obj or {}).get("_embed") or {}).get("custom_fields")
    return [v for v in values if isinstance(v, dict)] if isinstance(values, list) else []


def optional(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except (NotFound, Forbidden):
        return None


def staff(client: SellsyReader, staff_id: int | None) -> dict[str, Any] | None:
    """A staff member (reference data: documents do not embed their owner)."""
    if not staff_id:
        return None
    key = int(staff_id)
    return cached(client, ("staff", key), lambda: optional(lambda: client.get(f"/staffs/{key}")))


def comments(client: SellsyReader, kind: str, object_id: int) -> list[dict[str, Any]]:
    """Private notes: comments attached to the estimate or opportunity (first 100, oldest first)."""
    answer = optional(
        lambda: client.post(
            "/comments/search",
            params={"limit": MAX_COMMENTS, "order": "created", "direction": "asc"},
            json={"filters": {"related_objects": [{"type": kind, "id": object_id}]}},
        )
    )
    data = (answer or {}).get("data") if isinstance(answer, dict) else None
    return [d for d in data or [] if isinstance(d, dict)]
