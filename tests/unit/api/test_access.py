"""The role and scope decision (pure): which principal reaches which route, and field-key text."""

from __future__ import annotations

import pytest

from bridge.domain import access
from bridge.domain.access import Principal, decide

OPERATOR = Principal(role="operator", label="operator-token")
FIELD_A = Principal(role="field", label="field-key:acme/fk1", account_id="acme", key_id="fk1")

FIELD_REQUESTS = [
    ("GET", "/accounts/acme/interventions"),
    ("GET", "/accounts/acme/interventions/int-1"),
    ("GET", "/accounts/acme/customers/cus-9"),
    ("POST", "/accounts/acme/interventions/int-1/report-upload-url"),
    ("POST", "/accounts/acme/interventions/int-1/complete"),
    ("PATCH", "/accounts/acme/customers/cus-9"),
]
MANAGEMENT_REQUESTS = [
    ("GET", "/accounts"),
    ("POST", "/accounts"),
    ("GET", "/accounts/acme"),
    ("PATCH", "/accounts/acme"),
    ("PUT", "/accounts/acme/connection"),
    ("DELETE", "/accounts/acme/connection"),
    ("POST", "/accounts/acme/webhook"),
    ("GET", "/accounts/acme/health"),
    ("GET", "/accounts/acme/exchanges"),
    ("POST", "/accounts/acme/exchanges/x1/replay"),
    ("POST", "/accounts/acme/imports"),
    ("GET", "/accounts/acme/records/invoices"),
    ("GET", "/accounts/acme/field-keys"),
    ("POST", "/accounts/acme/field-keys"),
    ("DELETE", "/accounts/acme/field-keys/fk0123456789ab"),
    # Field paths with another method, or one segment more or less, are management.
    ("DELETE", "/accounts/acme/interventions/int-1"),
    ("PUT", "/accounts/acme/customers/cus-9"),
    ("GET", "/accounts/acme/interventions/int-1/complete"),
    ("GET", "/accounts/acme/interventions/"),
    ("GET", "/accounts/acme/customers"),
]


@pytest.mark.parametrize(("method", "path"), FIELD_REQUESTS)
def test_a_field_key_reaches_the_field_routes_of_its_account(method: str, path: str) -> None:
    assert decide(method, path, FIELD_A) is None
    assert access.field_route_account(method, path) == "acme"


@pytest.mark.parametrize(("method", "path"), FIELD_REQUESTS)
def test_a_field_key_never_reaches_another_account(method: str, path: str) -> None:
    other = path.replace("/accounts/acme/", "/accounts/globex/")
    refusal = decide(method, other, FIELD_A)
    assert refusal is not None and (refusal.status, refusal.code) == (403, "forbidden")
    assert "globex" not in refusal.message  # says whose key it is, nothing about the other account
    # An account id that only starts like the key's own is another account.
    assert decide(method, path.replace("/accounts/acme/", "/accounts/acme2/"), FIELD_A) is not None


@pytest.mark.parametrize(("method", "path"), MANAGEMENT_REQUESTS)
def test_a_field_key_never_reaches_a_management_route(method: str, path: str) -> None:
    refusal = decide(method, path, FIELD_A)
    assert refusal is not None and (refusal.status, refusal.code) == (403, "forbidden")
    assert access.field_route_account(method, path) is None


@pytest.mark.parametrize(("method", "path"), FIELD_REQUESTS + MANAGEMENT_REQUESTS)
def test_the_operator_reaches_everything_and_nobody_else_does(method: str, path: str) -> None:
    assert decide(method, path, OPERATOR) is None
    refusal = decide(method, path, None, "missing Authorization header")
    assert refusal is not None and (refusal.status, refusal.message) == (401, "missing Authorization header")


@pytest.mark.parametrize("path", ["/openapi.json", "/oauth/callback", "/webhooks/sellsy/acme", "/console/x"])
def test_public_paths_and_the_console_are_left_to_their_own_checks(path: str) -> None:
    assert decide("GET", path, None) is None
    assert decide("GET", path, FIELD_A) is None


def test_field_routes_are_declared_as_api_gateway_templates() -> None:
    for method, template in access.FIELD_ROUTES:
        assert template.startswith("/accounts/{account_id}/"), template
        assert access.is_field_operation(method.lower(), template)
    assert not access.is_field_operation("get", "/accounts/{account_id}")


def test_a_new_field_key_parses_back_and_only_its_own_text_matches() -> None:
    key_id = access.new_key_id()
    key = access.new_field_key("acme_1-x", key_id)
    presented = access.parse_field_key(key)
    assert presented is not None
    assert (presented.account_id, presented.key_id) == ("acme_1-x", key_id)
    assert access.digest_matches(presented, access.key_digest(key))
    other = access.parse_field_key(access.new_field_key("acme_1-x", key_id))
    assert other is not None and not access.digest_matches(other, access.key_digest(key))
    assert access.looks_like_field_key(key) and access.new_field_key("acme", key_id) != key


@pytest.mark.parametrize(
    "text",
    [
        "sbfk.acme.fk0123456789ab",  # no secret
        "sbfk.acme.fk0123456789ab." + "k" * 42,  # secret too short
        "sbfk.acme.fkXYZ.".ljust(60, "k"),  # bad key id
        "sbfk.ac/me.fk0123456789ab." + "k" * 43,  # bad account id
        "sbfk.acme.fk0123456789ab." + "k" * 43 + ".more",
        "nope.acme.fk0123456789ab." + "k" * 43,
    ],
)
def test_malformed_field_keys_do_not_parse(text: str) -> None:
    assert access.parse_field_key(text) is None
