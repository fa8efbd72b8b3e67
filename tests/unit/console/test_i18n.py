from __future__ import annotations

import pytest

from bridge.console import i18n


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7", "fr"),
        ("en-GB, fr;q=0.9", "en"),
        ("de-DE, fr;q=0.3, en;q=0.5", "en"),
        ("de, fr;q=0.3", "fr"),
        ("fr;q=0, en;q=0.1", "en"),
        ("de, es", "en"),
        ("", "en"),
        (None, "en"),
        ("fr;q=abc, en;q=0.2", "en"),
    ],
)
def test_accept_language_negotiation(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


def test_explicit_choice_beats_cookie_beats_browser() -> None:
    assert i18n.choose_language("fr", "en", "en") == "fr"
    assert i18n.choose_language(None, "fr", "en") == "fr"
    assert i18n.choose_language("xx", None, "fr") == "fr"
    assert i18n.choose_language(None, "xx", None) == "en"


def test_every_message_has_both_languages_and_values_are_filled() -> None:
    assert i18n.translate("fr", "nav.accounts") == "Comptes"
    assert i18n.translate("en", "signed_in_as", who="ops") == "Signed in as ops"
    assert i18n.translate("fr", "no.such.key") == "no.such.key"
    with pytest.raises(i18n.MissingTranslation):
        i18n.add_messages({"test.half": {"en": "Only English"}})
    with pytest.raises(i18n.MissingTranslation):
        i18n.add_messages({"nav.accounts": {"en": "Other", "fr": "Autre"}})


def test_the_frame_is_french_in_french() -> None:
    # A French catalogue that silently copied English would pass the completeness check; this catches it.
    for key in ("nav.accounts", "nav.exchanges", "skip.to_content", "signin.title", "signout.button", "error.csrf"):
        assert i18n.translate("fr", key) != i18n.translate("en", key), key
