"""Every response body Sellsy's file allows goes through the client models and the revenue mappings.

Bodies are drawn from the file's own schemas (``openapi_strategies``): nullable fields null, optional
fields absent, enum values Sellsy may add later, extra fields. The code must take them all: a model
parses, a mapping gives a record (an unknown value is kept as it came, never a stopped run). Records
are keyed by their ``id``, which Sellsy returns on every read object (read-only in the file), so the
drawn objects carry one. Skips when the file is absent.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.domain import revenue
from bridge.domain.currency import BaseCurrencyConverter
from bridge.sellsy import models
from tests.fixtures.contract import validator
from tests.unit.sellsy.openapi_strategies import SchemaStrategies

EXAMPLES = 140  # per target; 15 targets: 2,100 bodies per run
CONVERTER = BaseCurrencyConverter("EUR")
ITEM = "properties/data/items"


@cache
def strategies() -> SchemaStrategies:
    return SchemaStrategies(validator().raw)


def body(method: str, path: str, under: str = "") -> st.SearchStrategy[dict[str, Any]]:
    """The 200 answer of an operation (or one item of its ``data`` list), with an id."""
    pointer = f"#/paths/{path.replace('/', '~1')}/{method}/responses/200/content/application~1json/schema"
    drawn = strategies().at(f"{pointer}/{under}" if under else pointer)
    return st.builds(
        lambda obj, oid: {**(obj if isinstance(obj, dict) else {}), "id": oid}, drawn, st.integers(1, 10**9)
    )


def document(obj: dict[str, Any], kind: str) -> None:
    (models.Invoice if kind == "invoice" else models.CreditNote).model_validate(obj)
    for row in obj.get("rows") or []:
        if isinstance(row, dict):
            row.setdefault("id", 1)  # rows are keyed by id too
    revenue.map_document(kind, obj, CONVERTER, [1, 2])
    revenue.summary_hash(obj)


def customer(kind: str) -> Callable[[dict[str, Any]], None]:
    def check(obj: dict[str, Any]) -> None:
        (models.Company if kind == "company" else models.Individual).model_validate(obj)
        mapping = revenue.MAPPINGS[revenue.CUSTOMERS]
        src = {"kind": kind, "obj": obj}
        mapping.key(src), mapping.map(src)

    return check


def item(obj: dict[str, Any]) -> None:
    models.Item.model_validate(obj)
    revenue.MAPPINGS[revenue.PRODUCTS].map({"item": obj})


def price(obj: dict[str, Any]) -> None:
    obj.pop("id", None)  # prices have no id of their own
    models.ItemPrice.model_validate(obj)
    src = {"item": {"id": 7, "currency": "EUR"}, "price": obj, "category": None, "default_currency": "EUR"}
    mapping = revenue.MAPPINGS[revenue.PRICES]
    mapping.key(src), mapping.map(src)


TARGETS: dict[str, tuple[Callable[[], st.SearchStrategy[dict[str, Any]]], Callable[[dict[str, Any]], None]]] = {
    "invoice": (lambda: body("get", "/invoices/{id}"), lambda o: document(o, "invoice")),
    "credit note": (lambda: body("get", "/credit-notes/{id}"), lambda o: document(o, "credit_note")),
    "invoice summary": (lambda: body("post", "/invoices/search", ITEM), lambda o: revenue.summary_hash(o)),
    "company": (lambda: body("post", "/companies/search", ITEM), customer("company")),
    "individual": (lambda: body("post", "/individuals/search", ITEM), customer("individual")),
    "contact": (lambda: body("get", "/contacts/{id}"), models.Contact.model_validate),
    "item": (lambda: body("post", "/items/search", ITEM), item),
    "price": (lambda: body("get", "/items/{id}/prices", ITEM), price),
    "comment": (lambda: body("post", "/comments/search", ITEM), models.Comment.model_validate),
    "custom field": (lambda: body("get", "/custom-fields", ITEM), models.CustomField.model_validate),
    "custom field value": (
        lambda: body("get", "/companies/{id}/custom-fields", ITEM),
        models.CustomFieldValue.model_validate,
    ),
    "webhook": (lambda: body("get", "/webhooks/{id}"), models.Webhook.model_validate),
    "staff": (lambda: body("get", "/staffs/{id}"), models.Staff.model_validate),
    "estimate": (lambda: body("get", "/estimates/{id}"), models.Estimate.model_validate),
    "opportunity": (lambda: body("get", "/opportunities/{id}"), models.Opportunity.model_validate),
}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_body_the_file_allows_is_parsed_and_mapped(target: str) -> None:
    make, consume = TARGETS[target]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(make())
    def check(obj: dict[str, Any]) -> None:
        consume(obj)

    check()
