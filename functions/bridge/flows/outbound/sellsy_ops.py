"""The Sellsy calls the outbound actions make, and the marker searches that make them exactly-once.

Every function takes the client as its first argument (``SellsyPort``: the real ``SellsyClient`` or a
fake in unit tests), so the flows never build clients themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from bridge.domain.sellsy_rules import UnknownValue, resolve_tax_id
from bridge.domain.triggers import OutboundRuleError, decimal_text

FILE_ROUTES = {"estimate": "/estimates/{id}/files", "opportunity": "/opportunities/{id}/files"}
CUSTOMER_ROUTES = {"company": "/companies/{id}", "individual": "/individuals/{id}"}


class SellsyPort(Protocol):
    def get(self, path: str, *, params: dict[str, Any] | None = None) -> Any: ...

    def post(self, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any: ...

    def put(self, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any: ...

    def iterate(self, path: str, *, search: bool, **kwargs: Any) -> Iterator[Any]: ...

    def upload_file(self, path: str, *, filename: str, content: bytes, content_type: str = ...) -> Any: ...


class CustomerIsProspect(OutboundRuleError):
    code = "customer_is_prospect"


# --- marker searches -----------------------------------------------------------------------------


def find_invoice(sellsy: SellsyPort, related: list[dict[str, Any]], mark: str) -> dict[str, Any] | None:
    """The invoice carrying ``mark`` (order_reference or subject suffix) among the customer's invoices."""
    customer = [r for r in related if r["type"] in ("company", "individual")][:1]
    for invoice in sellsy.iterate(
        "/invoices/search", search=True, filters={"related_objects": customer}, order="created", direction="desc"
    ):
        if invoice.get("order_reference") == mark or str(invoice.get("subject") or "").endswith(mark):
            return dict(invoice)
    return None


def find_file(sellsy: SellsyPort, target: str, target_id: int, name: str) -> dict[str, Any] | None:
    for entry in sellsy.iterate(FILE_ROUTES[target].format(id=target_id), search=False):
        if entry.get("type", "file") == "file" and entry.get("name") == name:
            return dict(entry)
    return None


def find_comment(sellsy: SellsyPort, target: str, target_id: int, mark: str) -> dict[str, Any] | None:
    filters = {"related_objects": [{"type": target, "id": target_id}]}
    for comment in sellsy.iterate("/comments/search", search=True, filters=filters):
        if str(comment.get("description") or "").rstrip().endswith(mark):
            return dict(comment)
    return None


# --- reads the actions need ----------------------------------------------------------------------


def catalogue_for(sellsy: SellsyPort, skus: Iterable[str]) -> dict[str, dict[str, Any]]:
    """SKU → non-archived Sellsy item whose reference is exactly the SKU (one search per SKU)."""
    found: dict[str, dict[str, Any]] = {}
    for sku in sorted(set(skus)):
        for item in sellsy.iterate("/items/search", search=True, filters={"reference": sku, "is_archived": False}):
            if str(item.get("reference")) == sku and not item.get("is_archived"):
                found[sku] = dict(item)
                break
    return found


def tax_ids_for(sellsy: SellsyPort, rates: Iterable[Any]) -> dict[str, int]:
    """Normalised rate text → the account's tax id (F8); an unknown rate is a clear error."""
    wanted = sorted({decimal_text(r, what="tax rate") for r in rates})
    if not wanted:
        return {}
    taxes = list(sellsy.iterate("/taxes", search=False))
    resolved: dict[str, int] = {}
    for rate in wanted:
        try:
            resolved[rate] = resolve_tax_id(rate, taxes)
        except UnknownValue as exc:
            raise OutboundRuleError(str(exc), details={"tax_rate": rate, "available": exc.available}) from exc
    return resolved


def ensure_invoiceable(sellsy: SellsyPort, kind: str, customer_id: int, *, convert_prospects: bool) -> str:
    """Sellsy invoices only clients: a prospect is converted when the account allows it, else an error.

    Returns what was done: ``client`` (nothing needed) or ``converted``.
    """
    customer = sellsy.get(CUSTOMER_ROUTES[kind].format(id=customer_id))
    if (customer or {}).get("type") != "prospect":
        return "client"
    if not convert_prospects:
        raise CustomerIsProspect(
            f"{kind} {customer_id} is a prospect; Sellsy only invoices clients. Convert it in Sellsy "
            "or allow prospect conversion in the account settings",
            details={"customer": {"type": kind, "id": customer_id}},
        )
    sellsy.post(
        f"{CUSTOMER_ROUTES[kind].format(id=customer_id)}/convert",
        json={"target": "client", "also_enable_custom_fields_on_target": {"mode": "none"}},
    )
    return "converted"


def read_invoice(sellsy: SellsyPort, invoice_id: int | str) -> dict[str, Any]:
    return dict(sellsy.get(f"/invoices/{invoice_id}") or {})


def read_quote(sellsy: SellsyPort, estimate_id: int) -> dict[str, Any]:
    """The quote with its rows and its own payment terms (an embed: the file lists it for estimates)."""
    return dict(sellsy.get(f"/estimates/{estimate_id}", params={"embed[]": ["payment_terms"]}) or {})


def file_link(entry: Mapping[str, Any]) -> str | None:
    link = entry.get("public_link")
    if isinstance(link, Mapping):
        link = link.get("url")
    return str(link) if link else None
