"""Tenants and roles over real HTTP (the embedded default): a field key reaches its own account's field
routes and nothing else; operators issue, list, rotate and revoke keys; the operator token reaches all."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bridge.adapters import field_repo
from bridge.domain import access
from bridge.domain.interventions import Address, FieldCustomer, Intervention
from tests.fixtures.api import invoke, reset_app_caches

pytestmark = [pytest.mark.e2e]


@dataclass
class Tenants:
    a: str
    b: str
    key_a: str
    key_a_id: str
    api_url: str


def _seed(account_id: str, marker: str) -> None:
    """The same ids in both accounts (Sellsy ids repeat across tenants); only the marker differs."""
    field_repo.create_intervention(
        Intervention(
            id="est-1", account_id=account_id, source_type="estimate", source_id=1, subject=f"subject {marker}"
        )
    )
    field_repo.put_customer(
        FieldCustomer(
            id="cus-1",
            account_id=account_id,
            sellsy_type="company",
            sellsy_id=1,
            name=f"customer {marker}",
            address=Address(city=f"city {marker}"),
        )
    )


@pytest.fixture(scope="module")
def tenants(stack: Any) -> Iterator[Tenants]:
    from infra.local.stack import store_api_token

    store_api_token(stack.api_token)  # earlier tests may have wiped moto (aws_clean)
    reset_app_caches()
    suffix = uuid.uuid4().hex[:8]
    a, b = f"tenant-a-{suffix}", f"tenant-b-{suffix}"
    with httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {stack.api_token}"}) as operator:
        for account_id, name in ((a, "Tenant A"), (b, "Tenant B")):
            assert operator.post("/accounts", json={"id": account_id, "name": name}).status_code == 201
            _seed(account_id, f"only-in-{account_id}")
        issued = operator.post(f"/accounts/{a}/field-keys", json={"label": "tablet 1"})
        assert issued.status_code == 201, issued.text
    yield Tenants(a=a, b=b, key_a=issued.json()["key"], key_a_id=issued.json()["key_id"], api_url=stack.api_url)


def client(tenants: Tenants, token: str) -> httpx.Client:
    return httpx.Client(base_url=tenants.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture
def field_a(tenants: Tenants) -> Iterator[httpx.Client]:
    with client(tenants, tenants.key_a) as field:
        yield field


@pytest.fixture
def operator(stack: Any, tenants: Tenants) -> Iterator[httpx.Client]:
    with client(tenants, stack.api_token) as ops:
        yield ops


def field_requests(account_id: str) -> list[tuple[str, str, Any]]:
    base = f"/accounts/{account_id}"
    return [
        ("GET", f"{base}/interventions", None),
        ("GET", f"{base}/interventions/est-1", None),
        ("GET", f"{base}/customers/cus-1", None),
        ("POST", f"{base}/interventions/est-1/report-upload-url", {"size": 1000}),
        ("POST", f"{base}/interventions/est-1/complete", {"technician": "x"}),
        ("PATCH", f"{base}/customers/cus-1", {"address": {"city": "Lyon"}}),
    ]


def test_the_field_routes_tested_here_are_the_declared_ones() -> None:
    tested = {(method, access.field_route_account(method, path)) for method, path, _ in field_requests("x")}
    assert len(field_requests("x")) == len(access.FIELD_ROUTES) and {account for _, account in tested} == {"x"}


def test_a_field_key_reads_its_own_account(tenants: Tenants, field_a: httpx.Client) -> None:
    listed = field_a.get(f"/accounts/{tenants.a}/interventions")
    assert listed.status_code == 200, listed.text
    assert [i["subject"] for i in listed.json()["items"]] == [f"subject only-in-{tenants.a}"]
    one = field_a.get(f"/accounts/{tenants.a}/interventions/est-1")
    assert one.status_code == 200 and one.json()["account_id"] == tenants.a
    customer = field_a.get(f"/accounts/{tenants.a}/customers/cus-1")
    assert customer.status_code == 200 and customer.json()["name"] == f"customer only-in-{tenants.a}"
    upload = field_a.post(f"/accounts/{tenants.a}/interventions/est-1/report-upload-url", json={"size": 1000})
    assert upload.status_code == 200 and upload.json()["upload_url"], upload.text


@pytest.mark.parametrize("target", ["other", "missing"])
def test_a_field_key_is_refused_on_another_account_and_learns_nothing(
    tenants: Tenants, field_a: httpx.Client, target: str
) -> None:
    account_id = tenants.b if target == "other" else f"no-such-{uuid.uuid4().hex[:6]}"
    answers = []
    for method, path, body in field_requests(account_id):
        answer = field_a.request(method, path, json=body)
        assert answer.status_code == 403, (method, path, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "forbidden" and tenants.a in error["message"]
        assert "only-in-" not in answer.text and tenants.key_a not in answer.text
        answers.append(answer.text)
    # An existing and a missing account get the same answers: existence does not leak either.
    assert answers == [
        json.dumps(
            {
                "error": {
                    "code": "forbidden",
                    "message": f"this field key is for account {tenants.a!r} only",
                    "details": None,
                }
            }
        )
    ] * len(answers)
    # Nothing was written in B by the refused writes.
    if target == "other":
        assert field_repo.get_customer(tenants.b, "cus-1").address.city == f"city only-in-{tenants.b}"  # type: ignore[union-attr]


def management_requests(tenants: Tenants) -> list[tuple[str, str, Any]]:
    a = f"/accounts/{tenants.a}"
    return [
        ("GET", "/accounts", None),
        ("POST", "/accounts", {"name": "field-made"}),
        ("GET", a, None),
        ("PATCH", a, {"name": "renamed by the field"}),
        ("PUT", f"{a}/connection", {"method": "access_token", "access_token": "abcdefgh12345678"}),
        ("POST", f"{a}/exchanges/x-1/replay", None),
        ("POST", f"{a}/imports", {}),
        ("GET", f"{a}/records/invoices", None),
        ("GET", f"{a}/health", None),
        ("GET", f"{a}/field-keys", None),
        ("POST", f"{a}/field-keys", {"label": "a key made by a key"}),
        ("POST", f"{a}/field-keys/{tenants.key_a_id}/rotate", None),
        ("DELETE", f"{a}/field-keys/{tenants.key_a_id}", None),
    ]


def test_a_field_key_is_refused_on_every_management_route(
    tenants: Tenants, field_a: httpx.Client, operator: httpx.Client
) -> None:
    for method, path, body in management_requests(tenants):
        answer = field_a.request(method, path, json=body)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["error"]["code"] == "forbidden" and "field routes" in answer.json()["error"]["message"]
    # Still working and unchanged: the refused calls did nothing.
    assert field_a.get(f"/accounts/{tenants.a}/interventions").status_code == 200
    assert operator.get(f"/accounts/{tenants.a}").json()["name"] == "Tenant A"
    keys = operator.get(f"/accounts/{tenants.a}/field-keys").json()["items"]
    assert [k["key_id"] for k in keys if k["active"]] == [tenants.key_a_id]


def test_operators_list_metadata_only_and_revocation_gives_401(tenants: Tenants, operator: httpx.Client) -> None:
    issued = operator.post(f"/accounts/{tenants.b}/field-keys", json={"label": "phone"})
    assert issued.status_code == 201
    key, key_id = issued.json()["key"], issued.json()["key_id"]
    assert key.startswith(f"sbfk.{tenants.b}.{key_id}.") and issued.json()["created_by"] == "operator-token"
    listing = operator.get(f"/accounts/{tenants.b}/field-keys")
    assert listing.status_code == 200
    assert [k["label"] for k in listing.json()["items"]] == ["phone"]
    assert key not in listing.text and access.key_digest(key) not in listing.text  # neither key nor hash
    assert "key" not in listing.json()["items"][0]

    with client(tenants, key) as field_b:
        assert field_b.get(f"/accounts/{tenants.b}/interventions").status_code == 200
        assert field_b.get(f"/accounts/{tenants.a}/interventions").status_code == 403
        revoked = operator.delete(f"/accounts/{tenants.b}/field-keys/{key_id}")
        assert revoked.status_code == 200 and revoked.json()["active"] is False
        refused = field_b.get(f"/accounts/{tenants.b}/interventions")
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"] == {"code": "unauthorized", "message": "field key revoked", "details": None}
        assert refused.headers["www-authenticate"] == "Bearer"
    # A key whose secret part is altered is just invalid (no hint that the key id exists or was revoked).
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    with client(tenants, forged) as field_forged:
        assert field_forged.get(f"/accounts/{tenants.b}/interventions").json()["error"]["message"] == (
            "invalid field key"
        )
    assert operator.post(f"/accounts/{tenants.b}/field-keys/{key_id}/rotate").status_code == 409
    assert operator.delete(f"/accounts/{tenants.b}/field-keys/fk000000000000").status_code == 404


def test_rotation_replaces_the_key_at_once(tenants: Tenants, operator: httpx.Client) -> None:
    old = operator.post(f"/accounts/{tenants.b}/field-keys", json={"label": "van 3"}).json()
    rotated = operator.post(f"/accounts/{tenants.b}/field-keys/{old['key_id']}/rotate")
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert new["label"] == "van 3" and new["key_id"] != old["key_id"] and new["key"] != old["key"]
    with client(tenants, old["key"]) as stale, client(tenants, new["key"]) as fresh:
        assert stale.get(f"/accounts/{tenants.b}/interventions").status_code == 401
        assert fresh.get(f"/accounts/{tenants.b}/interventions").status_code == 200
    listed = {k["key_id"]: k for k in operator.get(f"/accounts/{tenants.b}/field-keys").json()["items"]}
    assert listed[old["key_id"]]["replaced_by"] == new["key_id"] and listed[new["key_id"]]["active"]


def test_the_operator_token_still_reaches_everything(tenants: Tenants, operator: httpx.Client) -> None:
    for account_id in (tenants.a, tenants.b):
        assert operator.get(f"/accounts/{account_id}/interventions/est-1").status_code == 200
        assert operator.get(f"/accounts/{account_id}/customers/cus-1").status_code == 200
    assert operator.get("/accounts", params={"limit": 200}).status_code == 200
    assert operator.get(f"/accounts/{tenants.a}/health").status_code == 200
    assert operator.get(f"/accounts/{tenants.a}/field-keys").status_code == 200


def test_in_iam_mode_field_keys_still_work_and_management_needs_iam(
    tenants: Tenants, stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in AWS: field routes arrive without IAM context (API Gateway lets them through), management
    routes with it; a management request without it is refused by the function itself."""
    monkeypatch.setenv("API_AUTH_MODE", "iam")

    def signed(event: dict[str, Any]) -> None:
        event["requestContext"]["authorizer"] = {"iam": {"userArn": "arn:aws:iam::123456789012:user/ops"}}

    own = invoke("GET", f"/accounts/{tenants.a}/interventions", token=tenants.key_a)
    assert own.status == 200, own.text
    assert invoke("GET", f"/accounts/{tenants.b}/interventions", token=tenants.key_a).status == 403
    assert invoke("GET", "/accounts", token=tenants.key_a).status == 403
    unsigned = invoke("GET", "/accounts", token=None)
    assert unsigned.status == 401 and "IAM" in unsigned.error["message"]
    assert invoke("GET", f"/accounts/{tenants.a}/interventions", token=stack.api_token).status == 401
    assert invoke("GET", "/accounts", token=stack.api_token).status == 401
    assert invoke("GET", "/accounts", token=None, event_hook=signed).status == 200
    issued = invoke(
        "POST", f"/accounts/{tenants.a}/field-keys", json_body={"label": "iam"}, token=None, event_hook=signed
    )
    assert issued.status == 201 and issued.json["created_by"] == "arn:aws:iam::123456789012:user/ops"
    invoke("DELETE", f"/accounts/{tenants.a}/field-keys/{issued.json['key_id']}", token=None, event_hook=signed)


def test_field_keys_never_reach_the_logs(tenants: Tenants, operator: httpx.Client, log_lines: Any) -> None:
    issued = operator.post(f"/accounts/{tenants.a}/field-keys", json={"label": "logged?"}).json()
    with client(tenants, issued["key"]) as field:
        assert field.get(f"/accounts/{tenants.a}/interventions").status_code == 200
        assert field.get("/accounts").status_code == 403
    operator.delete(f"/accounts/{tenants.a}/field-keys/{issued['key_id']}")
    text = json.dumps(log_lines.lines)
    assert issued["key"] not in text and issued["key"].rsplit(".", 1)[1] not in text
    assert access.key_digest(issued["key"]) not in text
    callers = {line.get("caller") for line in log_lines.lines}
    assert f"field-key:{tenants.a}/{issued['key_id']}" in callers and "operator-token" in callers
