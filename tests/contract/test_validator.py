"""The contract validator itself must catch what it is there for (so the other contract tests can fail)."""

from __future__ import annotations

import json

import httpx
import pytest

from infra.local.sandbox import Sandbox
from tests.fixtures.contract import ContractValidator

TAX = {
    "id": 1,
    "rate": 20.0,
    "label": "TVA 20%",
    "is_active": True,
    "is_ecotax": False,
    "category": "S",
    "vatex": None,
    "is_einvoicing_compliant": True,
    "system_label": "TVA 20%",
}
PAGE = {"pagination": {"limit": 25, "count": 1, "total": 1, "offset": "WzFd"}, "data": [TAX]}
JSON = {"Content-Type": "application/json"}


def _check(
    contract: ContractValidator,
    method: str,
    path: str,
    body: object,
    status: int,
    answer: object,
    route: str | None = None,
) -> list[str]:
    raw = json.dumps(body).encode() if body is not None else b""
    return contract.validate_exchange(
        method, path, {}, {"content-type": "application/json"}, raw, status, JSON, json.dumps(answer).encode(), route
    )


def test_conforming_exchange_passes(sellsy_contract: ContractValidator) -> None:
    assert _check(sellsy_contract, "GET", "/v2/taxes", None, 200, PAGE) == []


def test_wrong_response_type_and_enum_are_reported(sellsy_contract: ContractValidator) -> None:
    bad = {**PAGE, "data": [{**TAX, "rate": "20", "category": "X"}]}
    problems = _check(sellsy_contract, "GET", "/v2/taxes", None, 200, bad)
    assert problems and "data/0/rate" in " ".join(problems) and "data/0/category" in " ".join(problems)


def test_accepted_non_conforming_request_is_reported(sellsy_contract: ContractValidator) -> None:
    problems = _check(sellsy_contract, "POST", "/v2/companies", {"type": "reseller", "name": 3}, 201, {"id": 1})
    assert any(p.startswith("request:") for p in problems)
    # the same body refused by the server is fine: only accepted requests must conform
    error = {"error": {"code": 400, "message": "bad", "context": None, "details": {"type": "x"}}}
    assert _check(sellsy_contract, "POST", "/v2/companies", {"type": "reseller"}, 400, error) == []


def test_error_bodies_must_have_sellsy_shape(sellsy_contract: ContractValidator) -> None:
    assert _check(sellsy_contract, "GET", "/v2/taxes/9", None, 404, {"message": "not found"})
    wrong_code = {"error": {"code": 500, "message": "x", "context": None, "details": {}}}
    assert any("differs" in p for p in _check(sellsy_contract, "GET", "/v2/taxes/9", None, 404, wrong_code))


def test_undocumented_route_is_reported(sellsy_contract: ContractValidator) -> None:
    problems = _check(sellsy_contract, "GET", "/v2/invented", None, 200, {}, route="/v2/invented")
    assert any("not in the OpenAPI file" in p for p in problems)


@pytest.mark.needs_openapi
def test_sandbox_rejects_bodies_the_file_forbids_with_field_details(sandbox: Sandbox) -> None:
    headers = {"Authorization": f"Bearer {sandbox.access_token()}"}
    response = httpx.post(
        f"{sandbox.api_url}/companies",
        headers=headers,
        json={"type": "client", "name": "Exemple", "email": 12, "not_a_field": True},
    )
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert details["email"].endswith("is not of type 'string'")
    assert "not_a_field" in json.dumps(details)


@pytest.mark.needs_openapi
def test_sandbox_refuses_an_embed_the_route_does_not_list(sandbox: Sandbox) -> None:
    headers = {"Authorization": f"Bearer {sandbox.access_token()}"}
    estimate = sandbox.state("estimates")["estimates"][0]["id"]
    url = f"{sandbox.api_url}/estimates/{estimate}"
    listed = httpx.get(url, headers=headers, params=[("embed[]", "company"), ("embed[]", "cf.1")])
    assert listed.status_code == 200, listed.text
    assert "custom_fields" in listed.json()["_embed"]
    refused = httpx.get(url, headers=headers, params=[("embed[]", "company"), ("embed[]", "owner.email")])
    assert refused.status_code == 400
    assert "owner.email" in refused.json()["error"]["details"]["embed"]


def test_php_style_array_keys_are_checked_against_the_files_parameter(sellsy_contract: ContractValidator) -> None:
    path = "/v2/estimates/1"
    assert sellsy_contract.embed_errors("GET", path, {"embed[]": ["company", "cf.3"]}) == {}
    assert "bogus" in sellsy_contract.embed_errors("GET", path, {"embed[]": ["bogus"]})["embed"]
    problems = sellsy_contract.validate_exchange("GET", path, {"embed[]": ["bogus"]}, {}, None, 200, {}, b"{}")
    assert any(p.startswith("request: InvalidParameter") for p in problems), problems


def test_progress_invoice_rows_conform_and_stray_row_fields_are_reported(
    sellsy_contract: ContractValidator, sandbox: Sandbox
) -> None:
    """The file's progress rows (`allOf` over the plain row) are read as "plain row fields + progress ones"."""
    headers = {"Authorization": f"Bearer {sandbox.access_token()}"}
    progress = next(d for d in sandbox.state("invoices")["invoices"] if d.get("is_progress_invoice"))
    body = httpx.get(f"{sandbox.api_url}/invoices/{progress['id']}", headers=headers).raise_for_status().json()
    assert body["rows"][0]["type"].startswith("progress-") and "progress_percentage" in body["rows"][0]
    path = f"/v2/invoices/{progress['id']}"
    assert _check(sellsy_contract, "GET", path, None, 200, body) == []
    body["rows"][0]["invented"] = "1"
    assert _check(sellsy_contract, "GET", path, None, 200, body)
