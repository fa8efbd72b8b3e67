"""Test data for the outbound flows, made through Sellsy's own API on the sandbox.

Each scenario gets its own client company, opportunity and accepted estimate (rows: two catalogue
items and a labour line), so tests never depend on the seed's random data nor on each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bridge.adapters import field_repo
from bridge.domain.interventions import Intervention
from bridge.sellsy.auth import StaticTokenProvider
from bridge.sellsy.client import SellsyClient


@dataclass
class Scenario:
    company_id: int
    opportunity_id: int
    estimate_id: int
    estimate: dict[str, Any]
    items: list[dict[str, Any]]  # catalogue items (two products) used by the rows

    @property
    def skus(self) -> list[str]:
        return [str(i["reference"]) for i in self.items]


def sellsy_client(sandbox: Any) -> SellsyClient:
    return SellsyClient(sandbox.api_url, StaticTokenProvider(sandbox.access_token()), backoff_base=0.01)


def make_scenario(
    sellsy: SellsyClient,
    *,
    customer_type: str = "client",
    currency: str | None = None,
    discounted: bool = False,
    status: str = "accepted",
    address: Callable[[int], Any] | None = None,
) -> Scenario:
    """``discounted``: a 10 % discount on the first row, 5.00 off the labour line and 10 % off the whole;
    ``address``: called with the new company's id before the quote is made (to give it an address)."""
    tag = uuid.uuid4().hex[:6]
    company = sellsy.post("/companies", json={"type": customer_type, "name": f"Outbound {tag} SARL"})
    if address is not None:
        address(company["id"])
    steps = sellsy.get("/opportunities/pipelines/1/steps")["data"]
    opportunity = sellsy.post(
        "/opportunities",
        json={
            "name": f"Maintenance {tag}",
            "pipeline": 1,
            "step": steps[0]["id"],
            "related": [{"type": "company", "id": company["id"]}],
        },
    )
    products = [
        i for i in sellsy.iterate("/items/search", search=True, filters={"type": ["product"], "is_archived": False})
    ][:2]
    rows: list[dict[str, Any]] = [
        {"type": "catalog", "related": {"type": "product", "id": products[0]["id"]}, "quantity": "2"},
        {"type": "catalog", "related": {"type": "product", "id": products[1]["id"]}, "quantity": "1"},
        {"type": "single", "unit_amount": "80.00", "quantity": "1.5", "tax_id": 1, "description": "Main d'oeuvre"},
    ]
    body: dict[str, Any] = {
        "related": [{"type": "company", "id": company["id"]}, {"type": "opportunity", "id": opportunity["id"]}],
        "subject": f"Entretien {tag}",
        "rows": rows,
    }
    if currency:
        body["currency"] = currency
    if discounted:
        rows[0]["discount"] = {"type": "percent", "value": "10"}
        rows[2]["discount"] = {"type": "amount", "value": "5.00"}
        body["discount"] = {"type": "percent", "value": "10"}
    estimate = sellsy.post("/estimates", json=body)
    estimate = sellsy.put(f"/estimates/{estimate['id']}/status", json={"status": status})
    return Scenario(company["id"], opportunity["id"], estimate["id"], estimate, products)


def store_intervention(account_id: str, scenario: Scenario, *, status: str = "scheduled", **extra: Any) -> Intervention:
    intervention = Intervention.model_validate(
        {
            "id": f"est-{scenario.estimate_id}",
            "account_id": account_id,
            "status": status,
            "source_type": "estimate",
            "source_id": scenario.estimate_id,
            "source_status": "accepted",
            "estimate_id": scenario.estimate_id,
            "opportunity_id": scenario.opportunity_id,
            "customer_id": f"company-{scenario.company_id}",
            "customer_name": scenario.estimate.get("company_name"),
            "subject": scenario.estimate.get("subject"),
            "number": scenario.estimate.get("number"),
            "address": {"lines": ["3 rue des Lilas"], "postal_code": "69003", "city": "Lyon", "country": "France"},
            **extra,
        }
    )
    assert field_repo.create_intervention(intervention)
    return intervention


# The sandbox's document custom field that keeps the connector's markers (code sellsy-bridge-marker).
MARKER_FIELD_ID = 5


def invoices_with(sellsy: SellsyClient, company_id: int, marker_part: str) -> list[dict[str, Any]]:
    """Invoices of the company whose private marker field carries the text; each is also checked to
    show no marker where the customer reads (subject, order reference)."""
    found = []
    for invoice in sellsy.iterate(
        "/invoices/search",
        search=True,
        filters={"related_objects": [{"type": "company", "id": company_id}]},
        embed=[f"cf.{MARKER_FIELD_ID}"],
    ):
        values = [str(v.get("value") or "") for v in invoice["_embed"]["custom_fields"] if v["id"] == MARKER_FIELD_ID]
        if any(marker_part in v for v in values):
            assert_no_visible_marker(invoice)
            found.append(sellsy.get(f"/invoices/{invoice['id']}"))
    return found


def assert_no_visible_marker(invoice: dict[str, Any]) -> None:
    for name in ("subject", "order_reference", "note"):
        assert "[sb:" not in str(invoice.get(name) or ""), (
            f"a marker shows in the invoice's {name}: {invoice.get(name)}"
        )


def row_summary(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What must match between an estimate and its invoice: type, item, quantity, unit price."""
    return [
        (r["type"], (r.get("related") or {}).get("id"), str(r.get("quantity")), str(r.get("unit_amount")))
        for r in rows
        if r["type"] in ("catalog", "single", "shipping", "packaging")
    ]


def sandbox_files(sandbox: Any, target: str, target_id: int, name: str) -> list[dict[str, Any]]:
    """Files in the sandbox's state attached to one object under one name (with the content hash)."""
    files = sandbox.state("files")["files"]
    return [f for f in files if f["name"] == name and {"type": target, "id": target_id} in f["related"]]


def sandbox_comments(sandbox: Any, target: str, target_id: int, text_part: str = "") -> list[dict[str, Any]]:
    """Comments on one object whose text holds ``text_part``; none may carry a marker (staff read them)."""
    comments = sandbox.state("comments")["comments"]
    found = [c for c in comments if {"type": target, "id": target_id} in c["related"] and text_part in c["description"]]
    assert all("[sb:" not in c["description"] for c in found), "a marker shows in a comment"
    return found


def sandbox_invoices(sandbox: Any, marker_part: str) -> list[dict[str, Any]]:
    """Invoices in the sandbox's state whose private marker field holds the text (none visible)."""
    invoices = sandbox.state("invoices")["invoices"]
    found = [i for i in invoices if marker_part in str(i["_custom_fields"].get(str(MARKER_FIELD_ID)) or "")]
    for invoice in found:
        assert_no_visible_marker(invoice)
    return found
