from __future__ import annotations

import pytest

from bridge.console import session

KEY = session.derive_key("local-token-0123456789")


def test_round_trip_and_expiry() -> None:
    opened = session.new_session("operator", now=1_000, seconds=60)
    value = session.encode(opened, KEY)
    assert session.decode(value, KEY, now=1_030) == opened
    assert session.decode(value, KEY, now=1_060) is None
    assert "local-token" not in value


@pytest.mark.parametrize(
    "mangle",
    [
        lambda v: v[:-2] + ("AA" if not v.endswith("AA") else "BB"),
        lambda v: "x" + v,
        lambda v: v.replace(".", ""),
        lambda v: v + ".more",
        lambda v: "",
    ],
)
def test_tampered_values_are_no_session(mangle) -> None:  # type: ignore[no-untyped-def]
    value = session.encode(session.new_session("operator", now=1_000), KEY)
    assert session.decode(mangle(value), KEY, now=1_001) is None


def test_another_key_is_no_session() -> None:
    value = session.encode(session.new_session("operator", now=1_000), KEY)
    assert session.decode(value, session.derive_key("rotated-token"), now=1_001) is None


def test_forged_payload_with_a_valid_shape_is_refused() -> None:
    # An attacker who knows the format but not the key cannot mint a session.
    value = session.encode(session.new_session("operator", now=1_000), session.derive_key("guess"))
    assert session.decode(value, KEY, now=1_001) is None


def test_csrf_token_is_per_session_and_compared_exactly() -> None:
    one, two = session.new_session("a", now=0), session.new_session("a", now=0)
    assert one.csrf_token != two.csrf_token
    assert session.csrf_matches(one, one.csrf_token)
    assert not session.csrf_matches(one, two.csrf_token)
    assert not session.csrf_matches(one, "")
    assert not session.csrf_matches(one, None)


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"origin": "http://127.0.0.1:8000"}, True),
        ({"origin": "http://127.0.0.1:8000", "sec-fetch-site": "same-origin"}, True),
        ({"origin": "http://127.0.0.1:8000", "sec-fetch-site": "cross-site"}, False),
        ({"origin": "https://evil.example"}, False),
        ({"origin": "null", "referer": "http://127.0.0.1:8000/console/accounts"}, True),
        ({"referer": "http://127.0.0.1:8000/console/x"}, True),
        ({"referer": "http://127.0.0.1:8001/console/x"}, False),
        ({}, False),
    ],
)
def test_same_origin(headers: dict[str, str], allowed: bool) -> None:
    assert session.same_origin("http://127.0.0.1:8000", headers) is allowed


def test_cookie_attributes() -> None:
    cookie = str(session.session_cookie("v", secure=True))
    assert cookie.startswith("console_session=v;")
    for attribute in ("Path=/console", "HttpOnly", "SameSite=Strict", "Secure", f"Max-Age={session.SESSION_SECONDS}"):
        assert attribute in cookie
    assert "Secure" not in str(session.session_cookie("v", secure=False))
    assert "Max-Age=0" in str(session.cleared_cookie(session.SESSION_COOKIE, secure=False))
