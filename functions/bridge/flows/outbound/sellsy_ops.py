"""The Sellsy calls the outbound actions make, and the marker searches that make them exactly-once.

Every function takes the client as its first argument (``SellsyPort``: the real ``SellsyClient`` or a
fake in unit tests), so the flows never build clients themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

from bridge.domain.sellsy_rules import UnknownValue, resolve_tax_id
from bridge.domain.triggers import MARKER_FIELD_CODE, OutboundRuleError, decimal_text
from bridge.sellsy.reference_cache import cached

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


class MarkerFieldUnusable(OutboundRuleError):
    code = "marker_field_missing"


MARKER_FIELD_HELP = (
    f"create it in Sellsy (Settings > Custom fields): type simple text, on documents, code {MARKER_FIELD_CODE!r}, "
    "not shown on PDF. The connector keeps in it the marker that finds an interrupted invoice again"
)


# --- marker searches -----------------------------------------------------------------------------


def marker_field(sellsy: SellsyPort) -> int:
    """The id of the document custom field that keeps markers; refused if missing or printed on PDFs.

    Reference data: found once per account and execution environment for a few minutes (a refusal is
    not kept, so a field created meanwhile is found by the next completion)."""
    return cached(sellsy, ("marker-field",), lambda: _find_marker_field(sellsy))


def _find_marker_field(sellsy: SellsyPort) -> int:
    for definition in sellsy.iterate("/custom-fields/search", search=True, filters={"related_object": "document"}):
        if definition.get("code") != MARKER_FIELD_CODE:
            continue
        if definition.get("show_on_pdf") or definition.get("type") != "simple-text":
            raise MarkerFieldUnusable(
                f"the custom field {MARKER_FIELD_CODE!r} must be simple text and not shown on PDF (customers "
                f"would read the marker); {MARKER_FIELD_HELP}",
                details={"custom_field_id": definition.get("id")},
            )
        return int(definition["id"])
    raise MarkerFieldUnusable(f"no document custom field has the code {MARKER_FIELD_CODE!r}; {MARKER_FIELD_HELP}")


def marker_value(document: Mapping[str, Any], field_id: int) -> str | None:
    """The marker a document carries in its custom field (``embed[]=cf.{id}``), if any."""
    for value in (document.get("_embed") or {}).get("custom_fields") or []:
        if isinstance(value, Mapping) and value.get("id") == field_id and value.get("value"):
            return str(value["value"])
    return None


def write_marker(sellsy: SellsyPort, invoice_id: int | str, field_id: int, mark: str) -> None:
    sellsy.put(f"/invoices/{invoice_id}/custom-fields", json=[{"id": field_id, "value": mark}])


def find_invoice(
    sellsy: SellsyPort,
    related: list[dict[str, Any]],
    mark: str,
    *,
    field_id: int,
    since: str | None = None,
    orphan: Callable[[Mapping[str, Any]], bool] | None = None,
) -> dict[str, Any] | None:
    """The customer's invoice carrying ``mark``, or the one an interrupted attempt left without it.

    The marker is in the private custom field, or (invoices made before it moved there) in
    ``order_reference`` or at the end of the subject. An invoice created after the attempt started
    (``since``) with no marker at all, that ``orphan`` recognises as the one this action makes, is the
    attempt's own: the marker is written in a second call, so a crash between the two leaves one.
    """
    customer = [r for r in related if r["type"] in ("company", "individual")][:1]
    filters: dict[str, Any] = {"related_objects": customer}
    if since:
        filters["created"] = {"start": since}
    unmarked: list[dict[str, Any]] = []
    for invoice in sellsy.iterate(
        "/invoices/search",
        search=True,
        filters=filters,
        embed=[f"cf.{field_id}"],
        order="created",
        direction="desc",
    ):
        found = marker_value(invoice, field_id)
        if found == mark or invoice.get("order_reference") == mark or str(invoice.get("subject") or "").endswith(mark):
            return dict(invoice)
        if found is None and not str(invoice.get("order_reference") or "").startswith("[sb:"):
            unmarked.append(dict(invoice))
    if since and orphan is not None:
        candidates = [invoice for invoice in unmarked if orphan(invoice)]
        if len(candidates) == 1:
            return candidates[0]
    return None


def find_file(sellsy: SellsyPort, target: str, target_id: int, name: str) -> dict[str, Any] | None:
    for entry in sellsy.iterate(FILE_ROUTES[target].format(id=target_id), search=False):
        if entry.get("type", "file") == "file" and entry.get("name") == name:
            return dict(entry)
    return None


def find_comment(sellsy: SellsyPort, target: str, target_id: int, text: str, mark: str) -> dict[str, Any] | None:
    """The comment this action writes: the same text on the same object (or, written before comments
    lost their marker, a text ending with it)."""
    filters = {"related_objects": [{"type": target, "id": target_id}]}
    for comment in sellsy.iterate("/comments/search", search=True, filters=filters):
        description = str(comment.get("description") or "").strip()
        if description == text.strip() or description.endswith(mark):
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


def ensure_invoiceable(
    sellsy: SellsyPort,
    kind: str,
    customer_id: int,
    *,
    convert_prospects: bool,
    known: Mapping[str, Any] | None = None,
) -> str:
    """Sellsy invoices only clients: a prospect is converted when the account allows it, else an error.

    ``known`` is the customer as just read (a quote's embed): then nothing more is read.
    Returns what was done: ``client`` (nothing needed) or ``converted``.
    """
    fresh = known is not None and str(known.get("id")) == str(customer_id)
    customer = known if fresh else sellsy.get(CUSTOMER_ROUTES[kind].format(id=customer_id))
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


def read_invoice(sellsy: SellsyPort, invoice_id: int | str, *, embed: list[str] | None = None) -> dict[str, Any]:
    params = {"embed[]": embed} if embed else None
    return dict(sellsy.get(f"/invoices/{invoice_id}", params=params) or {})


def read_quote(sellsy: SellsyPort, estimate_id: int) -> dict[str, Any]:
    """The quote with its rows, its own payment terms and its customer (whose type says whether it can be
    invoiced): all embeds the file lists for estimates, so one call."""
    params = {"embed[]": ["payment_terms", "company", "individual"]}
    return dict(sellsy.get(f"/estimates/{estimate_id}", params=params) or {})


def embedded_customer(document: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    found = (document.get("_embed") or {}).get(kind)
    return found if isinstance(found, Mapping) else None


def file_link(entry: Mapping[str, Any]) -> str | None:
    link = entry.get("public_link")
    if isinstance(link, Mapping):
        link = link.get("url")
    return str(link) if link else None
