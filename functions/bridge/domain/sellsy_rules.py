"""Sellsy's own business rules, as pure functions (no I/O).

Sources: Sellsy's OpenAPI v2 (status enums, row types) and API v1 documentation (step names, v1 row
types, French labels of invoice steps). Labels of the other document types are the wording of Sellsy's
French interface; only the invoice ones are quoted in the API documentation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

# -- statuses -------------------------------------------------------------------------------------
INVOICE = "invoice"
ESTIMATE = "estimate"
CREDIT_NOTE = "creditnote"
ORDER = "order"
DELIVERY = "delivery"
PROFORMA = "proforma"
OPPORTUNITY = "opportunity"

STATUS_LABELS: dict[str, dict[str, str]] = {
    INVOICE: {
        "draft": "Brouillon",
        "due": "À régler",
        "payinprogress": "Paiement partiel",
        "paid": "Payée",
        "late": "Retard",
        "cancelled": "Annulée",
    },
    ESTIMATE: {
        "draft": "Brouillon",
        "sent": "Envoyé",
        "read": "Lu",
        "accepted": "Accepté",
        "refused": "Refusé",
        "expired": "Expiré",
        "advanced": "Acompte",
        "partialinvoiced": "Facturé partiellement",
        "invoiced": "Facturé",
        "cancelled": "Annulé",
    },
    CREDIT_NOTE: {
        "draft": "Brouillon",
        "stored": "Non imputé",
        "partialspend": "Partiellement imputé",
        "spent": "Imputé",
        "cancelled": "Annulé",
    },
    ORDER: {
        "draft": "Brouillon",
        "sent": "Envoyé",
        "read": "Lu",
        "accepted": "Accepté",
        "expired": "Expiré",
        "advanced": "Acompte",
        "partialinvoiced": "Facturé partiellement",
        "invoiced": "Facturé",
        "cancelled": "Annulé",
    },
    DELIVERY: {
        "draft": "Brouillon",
        "sent": "Envoyé",
        "read": "Lu",
        "accepted": "Accepté",
        "partialinvoiced": "Facturé partiellement",
        "invoiced": "Facturé",
    },
    PROFORMA: {
        "draft": "Brouillon",
        "sent": "Envoyé",
        "read": "Lu",
        "accepted": "Accepté",
        "expired": "Expiré",
        "advanced": "Acompte",
        "partialinvoiced": "Facturé partiellement",
        "invoiced": "Facturé",
        "cancelled": "Annulé",
    },
    OPPORTUNITY: {
        "open": "En cours",
        "won": "Gagnée",
        "lost": "Perdue",
        "cancelled": "Annulée",
        "closed": "Clôturée",
        "late": "En retard",
    },
}

# Logistic statuses of orders and deliveries (v1 ``deliverystep``).
ORDER_LOGISTIC_LABELS = {
    "none": "Aucune",
    "wait": "En attente",
    "picking": "En préparation",
    "partialsent": "Expédiée partiellement",
    "sent": "Expédiée",
}
DELIVERY_LOGISTIC_LABELS = {"none": "Aucune", "wait": "En attente", "sent": "Expédiée"}

_DOC_TYPE_ALIASES = {
    "credit_note": CREDIT_NOTE,
    "credit-note": CREDIT_NOTE,
    "credit-notes": CREDIT_NOTE,
    "invoices": INVOICE,
    "estimates": ESTIMATE,
    "orders": ORDER,
    "deliveries": DELIVERY,
    "proforma-invoice": PROFORMA,
    "opportunities": OPPORTUNITY,
}

# Estimate statuses from which ``POST /invoices`` with ``parent`` may convert (OpenAPI InvoiceCreate).
CONVERTIBLE_ESTIMATE_STATUSES = frozenset(
    {"draft", "sent", "read", "accepted", "refused", "expired", "partialinvoiced", "cancelled"}
)


class UnknownValue(ValueError):
    """A value that the account's list does not contain; the message names it."""

    def __init__(self, message: str, *, value: Any, available: list[Any] | None = None) -> None:
        super().__init__(message)
        self.value = value
        self.available = available or []


def document_type(name: str) -> str:
    key = name.strip().lower()
    key = _DOC_TYPE_ALIASES.get(key, key)
    if key not in STATUS_LABELS:
        raise UnknownValue(f"unknown Sellsy document type {name!r}", value=name, available=sorted(STATUS_LABELS))
    return key


def statuses(doc_type: str) -> tuple[str, ...]:
    return tuple(STATUS_LABELS[document_type(doc_type)])


def is_known_status(doc_type: str, status: str) -> bool:
    return status in STATUS_LABELS[document_type(doc_type)]


def status_label(doc_type: str, status: str) -> str:
    """French label; a status Sellsy added after this table is shown as is (never an error)."""
    return STATUS_LABELS[document_type(doc_type)].get(status, status)


def status_from_label(doc_type: str, label: str) -> str:
    wanted = _normalise(label)
    for status, french in STATUS_LABELS[document_type(doc_type)].items():
        if _normalise(french) == wanted or status == wanted:
            return status
    raise UnknownValue(
        f"no {doc_type} status labelled {label!r}",
        value=label,
        available=list(STATUS_LABELS[document_type(doc_type)].values()),
    )


# -- row types ------------------------------------------------------------------------------------
V2_ROW_TYPES = (
    "single",
    "catalog",
    "shipping",
    "packaging",
    "comment",
    "title",
    "sub-total",
    "break-line",
    "break-page",
)
V1_TO_V2_ROW_TYPE = {
    "once": "single",
    "item": "catalog",
    "shipping": "shipping",
    "packaging": "packaging",
    "comment": "comment",
    "title": "title",
    "sum": "sub-total",
    "empty": "break-line",
    "break": "break-page",
}
V2_TO_V1_ROW_TYPE = {v2: v1 for v1, v2 in V1_TO_V2_ROW_TYPE.items()}
# Rows that carry an amount (the others are layout).
PRICED_ROW_TYPES = frozenset({"single", "catalog", "shipping", "packaging"})


def row_type_v2(name: str) -> str:
    """Accept a v1 or v2 row type name and answer the v2 one."""
    key = name.strip().lower()
    if key in V2_TO_V1_ROW_TYPE:
        return key
    if key in V1_TO_V2_ROW_TYPE:
        return V1_TO_V2_ROW_TYPE[key]
    raise UnknownValue(f"unknown Sellsy row type {name!r}", value=name, available=list(V2_ROW_TYPES))


def row_type_v1(name: str) -> str:
    return V2_TO_V1_ROW_TYPE[row_type_v2(name)]


# -- lists referenced by value --------------------------------------------------------------------
def _field(entry: Any, name: str) -> Any:
    return entry.get(name) if isinstance(entry, Mapping) else getattr(entry, name, None)


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value).strip().replace(",", ".")) if value is not None and value != "" else None
    except InvalidOperation:
        return None


def resolve_tax_id(rate: Any, taxes: Iterable[Any], *, include_ecotax: bool = False) -> int:
    """The account's tax id for a rate given by value (``19.6`` -> the id of the 19.6 % tax).

    ``taxes`` is the account's tax list (``GET /taxes``: dicts or models with id, rate, is_active,
    is_ecotax, is_einvoicing_compliant). When several share the rate, an e-invoicing compliant tax wins
    (Sellsy's documents no longer accept non-compliant ones; a tax that does not say counts as neither),
    then an active one over an inactive one; eco-taxes are skipped unless asked for.
    """
    wanted = _decimal(rate)
    if wanted is None:
        raise UnknownValue(f"tax rate {rate!r} is not a number", value=rate)
    candidates = []
    known = []
    for tax in taxes:
        tax_rate = _decimal(_field(tax, "rate"))
        if tax_rate is None or (_field(tax, "is_ecotax") and not include_ecotax):
            continue
        known.append(tax_rate)
        if tax_rate == wanted:
            inactive = _field(tax, "is_active") is False  # unknown activity counts as active
            compliant = _field(tax, "is_einvoicing_compliant")
            rank = 0 if compliant is True else 2 if compliant is False else 1
            candidates.append((rank, inactive, int(_field(tax, "id"))))
    if not candidates:
        raise UnknownValue(
            f"no tax with rate {wanted.normalize():f} % in this Sellsy account",
            value=rate,
            available=sorted({f"{value.normalize():f}" for value in known}),
        )
    return min(candidates)[2]


def _normalise(text: Any) -> str:
    return " ".join(str(text).split()).casefold()


def resolve_unit_id(label: str, units: Iterable[Any]) -> int:
    """The account's unit id for a label (case and spacing ignored), e.g. ``"heure"``."""
    wanted = _normalise(label)
    labels = []
    for unit in units:
        unit_label = _field(unit, "label")
        labels.append(unit_label)
        if unit_label is not None and _normalise(unit_label) == wanted:
            return int(_field(unit, "id"))
    raise UnknownValue(
        f"no unit labelled {label!r} in this Sellsy account", value=label, available=[x for x in labels if x]
    )


# -- preference cascade ---------------------------------------------------------------------------
ACCOUNT = "account"
CUSTOMER = "customer"
DOCUMENT = "document"


@dataclass(frozen=True)
class Resolved:
    value: Any
    level: str | None  # which level gave the value (None: nobody set it)


def resolve_preference(
    name: str,
    *,
    account: Mapping[str, Any] | None = None,
    customer: Mapping[str, Any] | None = None,
    document: Mapping[str, Any] | None = None,
    default: Any = None,
) -> Resolved:
    """Sellsy's three-level cascade: the document overrides the customer, which overrides the account.

    A level that does not set the preference (missing or None) defers to the level above it.
    """
    for level, values in ((DOCUMENT, document), (CUSTOMER, customer), (ACCOUNT, account)):
        if values is not None and values.get(name) is not None:
            return Resolved(values[name], level)
    return Resolved(default, None)


# -- deep links -----------------------------------------------------------------------------------
DEFAULT_WEB_HOST = "www.sellsy.com"
_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:\d{1,5})?")

_OVERVIEW_PAGES = {
    "estimate": {"_f": "estimateOverview"},
    "invoice": {"_f": "invoiceOverview"},
    "order": {"_f": "orderOverview"},
    "item": {"_f": "catalogueitem", "type": "item"},
}


def web_host(host: str | None) -> str:
    """Normalise a configured host (``https://www.sellsy.fr/`` -> ``www.sellsy.fr``)."""
    value = (host or DEFAULT_WEB_HOST).strip().lower()
    for prefix in ("https://", "http://"):
        value = value.removeprefix(prefix)
    value = value.rstrip("/")
    if not _HOST.fullmatch(value):
        raise UnknownValue(f"invalid Sellsy web host {host!r}", value=host)
    return value


def deep_link(kind: str, object_id: int | str, *, host: str | None = None, third_type: str = "client") -> str:
    """Link to an object in Sellsy's web app (``?_f=`` pages, the forms seen working in the field)."""
    base = f"https://{web_host(host)}/"
    key = kind.strip().lower()
    if key in _OVERVIEW_PAGES:
        query = {"_f": _OVERVIEW_PAGES[key]["_f"], "id": str(object_id)}
        query.update({k: v for k, v in _OVERVIEW_PAGES[key].items() if k != "_f"})
    elif key in ("company", "individual", "client", "prospect", "third"):
        kind_of_third = key if key in ("client", "prospect") else third_type
        query = {"_f": "third", "thirdid": str(object_id), "thirdtype": kind_of_third}
    elif key == "opportunity":
        query = {"_f": "prospection_opportunity", "action": "overview", "oid": str(object_id)}
    else:
        raise UnknownValue(
            f"no Sellsy deep link for {kind!r}",
            value=kind,
            available=[*_OVERVIEW_PAGES, "company", "individual", "opportunity"],
        )
    return base + "?" + urlencode(query)
