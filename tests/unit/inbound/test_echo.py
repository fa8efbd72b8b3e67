"""Echo fingerprints: equal values compare equal however Sellsy spells them; anything else differs."""

from __future__ import annotations

from bridge.domain import echo

SALT = echo.salt_for("acc", "contact", 5)


def test_current_values_matching_what_we_wrote_are_an_echo() -> None:
    written = {"email": "Jo@Example.FR", "phone_number": "01 02", "address": {"city": "Lyon"}}
    remembered = echo.written_hashes(SALT, written)
    current = {"id": 5, "email": " jo@example.fr", "phone_number": "01 02", "address": {"city": "Lyon", "id": 9}}
    assert echo.is_echo_of(SALT, remembered, current)


def test_any_written_field_changed_since_is_not_an_echo() -> None:
    remembered = echo.written_hashes(SALT, {"email": "jo@example.fr", "address": {"city": "Lyon"}})
    assert not echo.is_echo_of(SALT, remembered, {"email": "jo@example.fr", "address": {"city": "Paris"}})
    assert not echo.is_echo_of(SALT, remembered, {"email": "jo@example.fr"})  # field gone


def test_numbers_compare_by_value() -> None:
    remembered = echo.written_hashes(SALT, {"quantity": "12.50", "id": 3})
    assert echo.is_echo_of(SALT, remembered, {"quantity": 12.5, "id": "3"})


def test_nothing_remembered_is_never_an_echo() -> None:
    assert not echo.is_echo_of(SALT, {}, {"email": "x"})


def test_hashes_depend_on_the_object_and_hold_no_value() -> None:
    one = echo.written_hashes(echo.salt_for("acc", "contact", 5), {"email": "jo@example.fr"})
    other = echo.written_hashes(echo.salt_for("acc", "contact", 6), {"email": "jo@example.fr"})
    assert one != other
    assert "jo@example.fr" not in str(one)
