"""Document rules (conversion from an estimate, validation, clients only), files limit, search markers,
and the control endpoints (state, reset, act, mutate)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from infra.local.sandbox import Sandbox


@pytest.fixture
def sb(sandbox_factory) -> Sandbox:
    return sandbox_factory(seed=5, size=80)


@pytest.fixture
def api(sb: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sb.api_url, headers={"Authorization": f"Bearer {sb.access_token()}"}) as client:
        yield client


def _client_company(api: httpx.Client, company_type: str = "client") -> int:
    found = api.post("/companies/search", json={"filters": {"type": [company_type]}}).json()["data"]
    return int(found[0]["id"])


def test_invoice_from_estimate_copies_nothing_links_parent_and_validates(api: httpx.Client) -> None:
    estimate = api.get("/estimates/1").json()
    company_id = _client_company(api)
    bare = api.post(
        "/invoices", json={"related": [{"type": "company", "id": company_id}], "parent": {"type": "estimate", "id": 1}}
    )
    assert bare.status_code == 201, bare.text
    # Sellsy's file does not say a conversion copies anything: the sandbox copies nothing.
    assert bare.json()["rows"] == [] and bare.json()["amounts"]["total_excl_tax"] == "0.00"
    rows = [
        {"type": "single", "unit_amount": r["unit_amount"], "quantity": r["quantity"], "tax_id": r["tax_id"]}
        for r in estimate["rows"]
        if "unit_amount" in r
    ]
    created = api.post(
        "/invoices",
        json={
            "related": [{"type": "company", "id": company_id}],
            "parent": {"type": "estimate", "id": 1},
            "rows": rows,
            "order_reference": "SB-MARK-42",
        },
    )
    assert created.status_code == 201, created.text
    invoice = created.json()
    assert invoice["status"] == "draft" and invoice["parent"] == {"id": 1, "type": "estimate"}
    assert [r["unit_amount"] for r in invoice["rows"]] == [r["unit_amount"] for r in rows]
    assert invoice["order_reference"] == "SB-MARK-42"
    found = api.post(
        "/invoices/search",
        json={"filters": {"related_objects": [{"type": "company", "id": company_id}], "status": ["draft"]}},
    ).json()["data"]
    assert "SB-MARK-42" in {i["order_reference"] for i in found}
    validated = api.post(f"/invoices/{invoice['id']}/validate", json={"date": "2026-11-20"}).json()
    assert validated["status"] == "due" and validated["number"].startswith("F-2026-")
    again = api.post(f"/invoices/{invoice['id']}/validate", json={})
    assert again.status_code == 409 and again.json()["error"]["code"] == 409


def test_service_dates_must_end_after_they_start(api: httpx.Client) -> None:
    body = {
        "related": [{"type": "company", "id": _client_company(api)}],
        "rows": [{"type": "single", "unit_amount": "10", "quantity": "1"}],
        "service_dates": {"start": "2026-11-20", "end": "2026-11-20"},
    }
    refused = api.post("/invoices", json=body)
    assert (
        refused.status_code == 400 and "greater than start" in refused.json()["error"]["details"]["service_dates.end"]
    )
    body["service_dates"]["end"] = "2026-11-21"
    assert api.post("/invoices", json=body).status_code == 201


def test_prospects_cannot_be_invoiced_and_unknown_items_are_named(api: httpx.Client) -> None:
    prospect = _client_company(api, "prospect")
    refused = api.post(
        "/invoices",
        json={
            "related": [{"type": "company", "id": prospect}],
            "rows": [{"type": "single", "unit_amount": "1", "quantity": "1"}],
        },
    )
    assert refused.status_code == 400
    assert "prospect" in refused.json()["error"]["details"]["related"]
    unknown = api.post(
        "/invoices",
        json={
            "related": [{"type": "company", "id": _client_company(api)}],
            "rows": [{"type": "catalog", "related": {"type": "product", "id": 99999}, "quantity": "1"}],
        },
    )
    assert unknown.status_code == 400
    assert "99999" in unknown.json()["error"]["details"]["rows[0].related"]


def test_upload_limit_is_15_mb_and_files_are_listed_by_name(api: httpx.Client) -> None:
    too_big = api.post("/estimates/1/files", files={"file": ("big.pdf", b"0" * (15 * 1024 * 1024 + 1))})
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == 413
    ok = api.post("/estimates/1/files", files={"file": ("rapport-INT-7.pdf", b"%PDF-1.4 rapport", "application/pdf")})
    assert ok.status_code == 201
    names = [f["name"] for f in api.get("/estimates/1/files").json()["data"]]
    assert names == ["rapport-INT-7.pdf"]


def test_state_reset_and_act_as_user(sb: Sandbox, api: httpx.Client) -> None:
    before = sb.state("companies")
    sb.act_edit("company", 2, name="Nouveau Nom SAS")
    assert api.get("/companies/2").json()["name"] == "Nouveau Nom SAS"
    sb.act_set_estimate_status(2, "accepted")
    assert api.get("/estimates/2").json()["status"] == "accepted"
    sb.act_set_opportunity_status(2, "won")
    assert api.get("/opportunities/2").json()["status"] == "won"
    edited = sb.act_edit_invoice(3, amount="999.00")
    assert api.get("/invoices/3").json()["amounts"] == edited["amounts"]
    sb.act_delete_document("invoice", 4)
    assert api.get("/invoices/4").status_code == 404
    sb.reset()
    assert sb.state("companies") == before
    assert api.get("/invoices/4").status_code == 200  # tokens survive a reset


def test_mutate_changes_a_deterministic_fraction(sandbox_factory) -> None:
    first, second = sandbox_factory(seed=9, size=400), sandbox_factory(seed=9, size=400)
    ids = first.act_mutate(0.01)
    assert ids == second.act_mutate(0.01) and len(ids) == 4
    with httpx.Client(base_url=first.api_url, headers={"Authorization": f"Bearer {first.access_token()}"}) as api:
        changed = [api.get(f"/invoices/{i}").json() for i in ids]
    fresh = sandbox_factory(seed=9, size=400)
    with httpx.Client(base_url=fresh.api_url, headers={"Authorization": f"Bearer {fresh.access_token()}"}) as api:
        original = [api.get(f"/invoices/{i}").json() for i in ids]
    for before, after in zip(original, changed, strict=True):
        assert (before["status"], before["amounts"]) != (after["status"], after["amounts"])
