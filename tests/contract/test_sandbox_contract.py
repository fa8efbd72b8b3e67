"""Every route the sandbox implements, driven once or more, validated against Sellsy's OpenAPI file.

The test asserts on the validator's findings directly (and the fixture validates again at teardown),
and checks that no registered `/v2` route was left out of the run.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from infra.local.sandbox import Sandbox
from tests.fixtures.contract import format_violations, validate_sandbox_exchanges

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    sandbox = Sandbox().start()
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def api(sb: Sandbox) -> Iterator[httpx.Client]:
    # The first write waits while the sandbox parses the OpenAPI file: seconds on a loaded machine.
    headers = {"Authorization": f"Bearer {sb.access_token()}"}
    with httpx.Client(base_url=sb.api_url, headers=headers, timeout=60) as client:
        yield client


def _ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def test_every_route_conforms_to_the_openapi_file(sb: Sandbox, api: httpx.Client) -> None:
    # reference data
    for path in (
        "/staffs",
        "/staffs/1",
        "/taxes",
        "/taxes/1",
        "/units",
        "/currencies",
        "/rate-categories",
        "/rate-categories/1",
        "/custom-fields",
        "/custom-fields/1",
        "/quotas",
        "/opportunities/pipelines",
        "/opportunities/pipelines/1/steps",
        "/webhooks/events",
    ):
        _ok(api.get(path))
    _ok(api.post("/staffs/search", json={"filters": {"status": ["ok"]}}))
    _ok(api.post("/taxes/search", json={"filters": {"is_active": True}}))
    _ok(api.post("/custom-fields/search", json={"filters": {"related_object": "document"}}))
    # items
    _ok(api.get("/items", params={"limit": 100}))
    _ok(api.post("/items/search", json={"filters": {"is_archived": False, "type": ["product", "service"]}}))
    _ok(api.post("/items/search", json={"filters": {"reference": "PRO-00001"}}))
    _ok(api.get("/items/1"))
    _ok(api.get("/items/1/prices"))
    item = _ok(
        api.post(
            "/items",
            json={
                "type": "product",
                "reference": "SKU-CONTRACT",
                "name": "Pièce",
                "reference_price": "12.50",
                "tax_id": 1,
            },
        ),
        201,
    )
    _ok(api.put(f"/items/{item['id']}", json={"is_archived": True}))
    _ok(api.delete(f"/items/{item['id']}"), 204)
    # third parties
    embeds = [
        ("embed[]", e)
        for e in ("invoicing_address", "delivery_address", "main_contact", "smart_tags", "owner", "cf.1", "cf.3")
    ]
    _ok(api.get("/companies", params=[("limit", "100"), *embeds]))
    _ok(api.get("/companies", params={"limit": 5, "offset": 0, "order": "updated_at", "direction": "desc"}))
    _ok(api.get("/companies", params=[("field[]", "id"), ("field[]", "name")]))
    _ok(
        api.post(
            "/companies/search",
            json={"filters": {"updated_at": {"start": "2024-01-01T00:00:00+01:00"}, "type": ["client"]}},
        )
    )
    _ok(api.get("/companies/1", params=embeds))
    _ok(api.get("/individuals", params=[("limit", "100"), *embeds[:2], ("embed[]", "cf.1")]))
    _ok(api.post("/individuals/search", json={"filters": {"updated_at": {"start": "2024-01-01T00:00:00Z"}}}))
    _ok(api.get("/individuals/1"))
    _ok(api.get("/contacts", params=[("limit", "100"), ("embed[]", "invoicing_address")]))
    _ok(api.post("/contacts/search", json={"filters": {"updated": {"start": "2024-01-01T00:00:00+00:00"}}}))
    _ok(api.get("/contacts/1"))
    _ok(api.get("/contacts/1/companies"))
    _ok(api.get("/companies/1/contacts"))
    company = _ok(
        api.post("/companies", json={"type": "client", "name": "Contrat SARL", "email": "contact@contrat.fr"}), 201
    )
    cid = company["id"]
    _ok(api.put(f"/companies/{cid}", json={"phone_number": "+33 1 23 45 67 89"}))
    _ok(api.post("/companies", params={"verify": "true"}, json={"type": "client", "name": "Dry"}), 204)
    individual = _ok(api.post("/individuals", json={"type": "client", "last_name": "Durand", "first_name": "Léa"}), 201)
    _ok(api.put(f"/individuals/{individual['id']}", json={"email": "lea.durand@exemple.fr"}))
    conversion = {"target": "client", "also_enable_custom_fields_on_target": {"mode": "none"}}
    prospect = _ok(api.post("/companies", json={"type": "prospect", "name": "Prospect SAS"}), 201)
    _ok(api.post(f"/companies/{prospect['id']}/convert", json=conversion))
    person = _ok(api.post("/individuals", json={"type": "prospect", "last_name": "Morel", "first_name": "Zoé"}), 201)
    _ok(api.post(f"/individuals/{person['id']}/convert", json=conversion))
    contact = _ok(
        api.post("/contacts", json={"last_name": "Petit", "first_name": "Hugo", "email": "hugo@contrat.fr"}), 201
    )
    _ok(api.put(f"/contacts/{contact['id']}", json={"mobile_number": "+33 6 11 22 33 44"}))
    _ok(api.post(f"/companies/{cid}/contacts/{contact['id']}", json={"roles": ["main"]}), 201)
    _ok(api.put(f"/companies/{cid}/contacts/{contact['id']}", json={"roles": ["main", "invoicing"]}))
    address_body = {
        "name": "Chantier",
        "address_line_1": "3 rue Pasteur",
        "postal_code": "69003",
        "city": "Lyon",
        "country_code": "FR",
        "is_delivery_address": True,
    }
    for owner, owner_id in (("companies", cid), ("individuals", individual["id"]), ("contacts", contact["id"])):
        address = _ok(api.post(f"/{owner}/{owner_id}/addresses", json=address_body), 201)
        _ok(api.get(f"/{owner}/{owner_id}/addresses"))
        _ok(api.get(f"/{owner}/{owner_id}/addresses/{address['id']}"))
        _ok(api.put(f"/{owner}/{owner_id}/addresses/{address['id']}", json={"city": "Villeurbanne"}))
        _ok(api.delete(f"/{owner}/{owner_id}/addresses/{address['id']}"), 204)
        _ok(api.get(f"/{owner}/{owner_id}/custom-fields"))
        _ok(api.put(f"/{owner}/{owner_id}/custom-fields", json=[{"id": 3, "value": "S-1"}]))
        _ok(api.get(f"/{owner}/{owner_id}/smart-tags"))
        _ok(api.post(f"/{owner}/{owner_id}/smart-tags", json=[{"value": "contrat"}]))
    _ok(api.delete(f"/companies/{cid}/contacts/{contact['id']}"), 204)
    # opportunities
    _ok(
        api.get(
            "/opportunities",
            params=[
                ("embed[]", "company"),
                ("embed[]", "contacts"),
                ("embed[]", "assigned_staffs"),
                ("embed[]", "cf.1"),
            ],
        )
    )
    _ok(
        api.post(
            "/opportunities/search",
            json={"filters": {"statuses": ["open", "won"], "related_objects": [{"type": "company", "id": 1}]}},
        )
    )
    _ok(api.get("/opportunities/1", params=[("embed[]", "company"), ("embed[]", "individual")]))
    _ok(api.put("/opportunities/1", json={"status": "won"}))
    _ok(api.get("/opportunities/1/custom-fields"))
    _ok(api.put("/opportunities/1/custom-fields", json=[{"id": 1, "value": True}]))
    _ok(api.get("/opportunities/1/smart-tags"))
    _ok(api.post("/opportunities/1/smart-tags", json=[{"id": 1}]))
    opp = _ok(
        api.post(
            "/opportunities",
            json={
                "name": "Nouvelle affaire",
                "related": [{"type": "company", "id": 1}],
                "amount": "1200.00",
                "pipeline": 1,
                "step": 2,
            },
        ),
        201,
    )
    _ok(api.delete(f"/opportunities/{opp['id']}"), 204)
    # documents
    doc_embeds = [
        ("embed[]", e) for e in ("company", "individual", "contact", "invoicing_address", "delivery_address", "cf.1")
    ]
    for plural in ("estimates", "invoices", "credit-notes"):
        _ok(api.get(f"/{plural}", params=[("limit", "100"), *doc_embeds]))
        _ok(api.get(f"/{plural}", params={"limit": 10, "offset": 0, "order": "date", "direction": "desc"}))
        _ok(api.get(f"/{plural}/1", params=doc_embeds))
        _ok(api.get(f"/{plural}/2"))
        _ok(api.get(f"/{plural}/1/custom-fields"))
        _ok(api.put(f"/{plural}/1/custom-fields", json=[{"id": 1, "value": True}]))
        _ok(api.get(f"/{plural}/1/smart-tags"))
        _ok(api.post(f"/{plural}/1/smart-tags", json=[{"value": "suivi"}]))
    _ok(api.post("/estimates/search", json={"filters": {"status": ["accepted"], "date": {"start": "2024-01-01"}}}))
    _ok(api.post("/invoices/search", json={"filters": {"related_objects": [{"type": "company", "id": 1}]}}))
    _ok(api.post("/invoices/search", json={"filters": {"status": ["paid"], "credit_note_id": 1}}))
    _ok(api.post("/credit-notes/search", json={"filters": {"status": ["stored", "spent"]}}))
    _ok(api.get("/credit-notes/1/invoices"))
    invoice_with_credit = sb.state("creditnotes")["creditnotes"][0]
    _ok(api.get(f"/invoices/{_linked_invoice(sb)}/credit-notes"))
    assert invoice_with_credit
    _ok(api.put("/estimates/4/status", json={"status": "accepted"}))
    seeded = _ok(api.get("/estimates/2", params={"embed[]": ["payment_terms"]}))  # foreign, discounted, own terms
    assert seeded["currency"] != "EUR" and seeded["discount"]["type"] in ("percent", "amount")
    assert seeded["_embed"]["payment_terms"]["settings"]["value"]["id"]
    estimate = _ok(
        api.post(
            "/estimates",
            json={
                "related": [{"type": "company", "id": 4}],
                "subject": "Devis contrat",
                "rows": [
                    {"type": "single", "unit_amount": "100.00", "quantity": "2", "tax_id": 1, "description": "Pose"},
                    {"type": "catalog", "related": {"type": "product", "id": 1}, "quantity": "1"},
                ],
            },
        ),
        201,
    )
    converted = _ok(
        api.post(
            "/invoices",
            json={
                "related": [{"type": "company", "id": 1}],
                "parent": {"type": "estimate", "id": estimate["id"]},
                # A conversion copies nothing from the estimate (the file does not say it does): rows are sent.
                "rows": [{"type": "catalog", "related": {"type": "product", "id": 1}, "quantity": "1"}],
                "discount": {"type": "percent", "value": "10"},
                "currency": "GBP",
                "payment_terms": {"id": 2},
                "order_reference": "SB-CONTRACT-1",
            },
        ),
        201,
    )
    _ok(api.post(f"/invoices/{converted['id']}/validate", json={"date": "2026-11-20"}))
    _ok(
        api.post(
            "/invoices",
            json={
                "related": [{"type": "company", "id": 1}],
                "subject": "Intervention",
                "currency": "EUR",
                "date": "2026-11-20",
                "service_dates": {"start": "2026-11-01", "end": "2026-11-20"},
                "rows": [
                    {
                        "type": "single",
                        "unit_amount": "80.00",
                        "quantity": "1.5",
                        "tax_id": 1,
                        "description": "MO",
                        "discount": {"type": "percent", "value": "10"},
                    }
                ],
            },
        ),
        201,
    )
    # comments and files
    comment = _ok(
        api.post(
            "/comments",
            json={"description": "Intervention terminée [SB-1]", "related": [{"type": "opportunity", "id": 1}]},
        ),
        201,
    )
    _ok(api.get("/comments"))
    _ok(api.get(f"/comments/{comment['id']}"))
    _ok(api.put(f"/comments/{comment['id']}", json={"description": "Intervention terminée [SB-1] (édité)"}))
    _ok(api.post("/comments/search", json={"filters": {"related_objects": [{"type": "opportunity", "id": 1}]}}))
    _ok(api.delete(f"/comments/{comment['id']}"), 204)
    file_id = None
    for owner, owner_id in (
        ("estimates", 1),
        ("opportunities", 1),
        ("invoices", 1),
        ("credit-notes", 1),
        ("companies", 1),
        ("individuals", 1),
    ):
        uploaded = _ok(
            api.post(f"/{owner}/{owner_id}/files", files={"file": ("rapport-SB-1.pdf", PDF, "application/pdf")}), 201
        )
        file_id = uploaded["id"]
        _ok(api.get(f"/{owner}/{owner_id}/files"))
    _ok(api.get(f"/files/{file_id}"))
    _ok(api.delete(f"/files/{file_id}"), 204)
    # webhooks
    hook = _ok(
        api.post(
            "/webhooks",
            json={
                "type": "http",
                "name": "bridge",
                "endpoint": "http://127.0.0.1:9/hook",
                "is_enabled": False,
                "json_content_type": True,
                "object_in_payload": True,
                "sign_key": "k",
                "configuration": [{"id": "estimate.step", "is_enabled": True}],
            },
        ),
        201,
    )
    _ok(api.get("/webhooks"))
    _ok(api.post("/webhooks/search", json={"filters": {"type": "http"}}))
    _ok(api.get(f"/webhooks/{hook['id']}"))
    _ok(api.put(f"/webhooks/{hook['id']}", json={"name": "bridge-2"}))
    _ok(api.delete(f"/webhooks/{hook['id']}"), 204)
    # deletions last
    _ok(api.delete(f"/contacts/{contact['id']}"), 204)
    _ok(api.delete(f"/individuals/{individual['id']}"), 204)
    _ok(api.delete(f"/companies/{cid}"), 204)
    # errors must be shaped like Sellsy's too
    assert api.get("/companies/999999").status_code == 404
    assert api.post("/companies", json={"type": "client"}).status_code == 400
    assert api.get("/companies", params={"limit": 500}).status_code == 400
    assert httpx.get(f"{sb.api_url}/companies").status_code == 401

    violations = validate_sandbox_exchanges(sb)
    assert not violations, format_violations(violations)
    exercised = {ex.route for ex in sb.exchanges()} | {f"{ex.method} {ex.route}" for ex in sb.exchanges()}
    missing = [f"{m} {t}" for m, t in sb.app.router.templates() if t.startswith("/v2") and f"{m} {t}" not in exercised]
    assert not missing, f"routes not covered by the contract test: {missing}"


def _linked_invoice(sb: Sandbox) -> int:
    links = sb.state()["credit_note_links"]
    return int(links[0]["invoice_ids"][0])
