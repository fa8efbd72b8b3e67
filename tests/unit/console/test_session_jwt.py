from __future__ import annotations

from typing import Any

import pytest

from bridge.console import session_jwt
from tests.unit.console.jwt_keys import id_token, jwk

ISSUER = "https://cognito-idp.eu-west-3.amazonaws.com/eu-west-3_Pool"
CLIENT = "console-client"
NOW = 1_800_000_000


def claims(**changes: Any) -> dict[str, Any]:
    base = {
        "iss": ISSUER,
        "aud": CLIENT,
        "token_use": "id",
        "exp": NOW + 3600,
        "nonce": "n-1",
        "email": "ops@example.com",
        "sub": "u-1",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def verify(token: str, keys: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return session_jwt.verify_id_token(
        token, keys or [jwk("k1")], issuer=ISSUER, client_id=CLIENT, nonce="n-1", now=NOW
    )


def test_a_token_signed_by_the_pool_is_accepted() -> None:
    assert verify(id_token(claims()))["email"] == "ops@example.com"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "https://cognito-idp.eu-west-3.amazonaws.com/other"}, "another user pool"),
        ({"aud": "other-client"}, "another app client"),
        ({"token_use": "access"}, "not an ID token"),
        ({"exp": NOW - 61}, "expired"),
        ({"nonce": "n-2"}, "nonce"),
        ({"nonce": None}, "nonce"),
    ],
)
def test_claims_that_do_not_hold_are_refused(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(session_jwt.InvalidToken, match=reason):
        verify(id_token(claims(**changes)))


def test_a_token_signed_by_another_key_is_refused() -> None:
    # Header names k1 (known), but the signature is made with k2's private key.
    with pytest.raises(session_jwt.InvalidToken, match="bad signature"):
        verify(id_token(claims(), kid="k1", signer="k2"))
    with pytest.raises(session_jwt.InvalidToken, match="unknown key"):
        verify(id_token(claims(), kid="k2"))


def test_a_changed_payload_breaks_the_signature() -> None:
    header, _, signature = id_token(claims()).split(".")
    forged_body = id_token(claims(email="boss@example.com")).split(".")[1]
    with pytest.raises(session_jwt.InvalidToken, match="bad signature"):
        verify(f"{header}.{forged_body}.{signature}")


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "e30.e30.", "!!!.e30.e30"])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(session_jwt.InvalidToken):
        verify(token)


def test_none_algorithm_is_refused() -> None:
    token = id_token(claims(), alg="none")
    with pytest.raises(session_jwt.InvalidToken, match="algorithm"):
        verify(token)
