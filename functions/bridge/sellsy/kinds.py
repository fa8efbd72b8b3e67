"""Sellsy's object kinds (as in ``related`` and webhook deliveries) and the API collection of each."""

from __future__ import annotations

COLLECTIONS = {
    "company": "companies",
    "individual": "individuals",
    "contact": "contacts",
    "opportunity": "opportunities",
    "estimate": "estimates",
    "invoice": "invoices",
    "creditnote": "credit-notes",
    "credit_note": "credit-notes",  # our own spelling of the kind
    "order": "orders",
    "item": "items",
}


def collection(kind: str) -> str:
    try:
        return COLLECTIONS[kind]
    except KeyError:
        raise ValueError(f"unknown Sellsy object kind {kind!r}") from None
