"""The Sellsy reads inbound flows need, each one call (or one short search), tolerant of missing parts.

Webhook payloads are thin and forgeable, so every flow re-reads the object here and acts on what
Sellsy says now. A missing optional part (deleted staff, no comments) is None/empty, never an error;
only the main object raising ``NotFound`` stops a flow.
"""

from __future__ import annotations

from typing import Any, Protocol

from bridge.sellsy.errors import Forbidden, NotFound

MAX_COMMENTS = 100


class SellsyReader(Protocol):
    def get(self, path: str, *, params: dict[str, Any] | None = None) -> Any: ...

    def post(self, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any: ...


PLURAL = {"estimate": "estimates", "opportunity": "opportunities", "company": "companies", "individual": "individuals"}


def estimate(client: SellsyReader, estimate_id: int) -> dict[str, Any]:
    """The estimate with its rows, customer, contact and its own copy of the delivery address."""
    embeds = ["company", "individual", "contact", "delivery_address"]
    result: dict[str, Any] = client.get(f"/estimates/{estimate_id}", params={"embed[]": embeds})
    return result


def opportunity(client: SellsyReader, opportunity_id: int) -> dict[str, Any]:
    embeds = ["company", "individual", "contacts"]
    result: dict[str, Any] = client.get(f"/opportunities/{opportunity_id}", params={"embed[]": embeds})
    return result


def third(client: SellsyReader, kind: str, third_id: int) -> dict[str, Any]:
    """A company or individual with its main contact and addresses."""
    embeds = ["main_contact", "delivery_address", "invoicing_address"]
    result: dict[str, Any] = client.get(f"/{PLURAL[kind]}/{third_id}", params={"embed[]": embeds})
    return result


def optional(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except (NotFound, Forbidden):
        return None


def staff(client: SellsyReader, staff_id: int | None) -> dict[str, Any] | None:
    if not staff_id:
        return None
    return optional(lambda: client.get(f"/staffs/{int(staff_id)}"))


def custom_fields(client: SellsyReader, kind: str, object_id: int) -> list[dict[str, Any]]:
    answer = optional(lambda: client.get(f"/{PLURAL[kind]}/{object_id}/custom-fields", params={"limit": 100}))
    data = (answer or {}).get("data") if isinstance(answer, dict) else None
    return [d for d in data or [] if isinstance(d, dict)]


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
