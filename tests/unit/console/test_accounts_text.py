from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bridge.console import accounts
from bridge.console.accounts_text import problem_text
from bridge.flows.health import problem_text as english_problem


@pytest.mark.parametrize(
    ("issue", "french", "english"),
    [
        (
            {"code": "not_active", "status": "needs_reconnect", "reason": ""},
            "Le compte est à reconnecter.",
            "account is needs_reconnect",
        ),
        ({"code": "no_webhook"}, "Aucun webhook enregistré dans Sellsy.", "no webhook registered in Sellsy"),
        ({"code": "last_import", "status": "failed"}, "Le dernier import : en échec.", "last import failed"),
        (
            {"code": "failures", "count": 1000, "capped": True},
            "1000+ échanges en échec en 24 heures.",
            "1000+ failed exchanges in 24 h",
        ),
        ({"code": "import_overdue"}, "Aucun import réussi depuis 26 heures.", "no successful import in 26 h"),
    ],
)
def test_health_issues_are_worded_in_each_language_and_the_api_keeps_its_english(
    issue: dict[str, object], french: str, english: str
) -> None:
    assert problem_text("fr", issue) == french
    assert english_problem(issue) == english


def test_token_expiry_from_a_datetime_local_field() -> None:
    assert accounts._expiry("") is None
    assert accounts._expiry("2027-01-31T08:30+00:00") == datetime(2027, 1, 31, 8, 30, tzinfo=UTC)
    assert accounts._expiry("2027-01-31 08:30") == datetime(2027, 1, 31, 8, 30, tzinfo=UTC)  # UTC when no offset
    with pytest.raises(ValueError):
        accounts._expiry("tomorrow")
