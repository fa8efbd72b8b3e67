"""Custom-field rules: matching by code/id/name, choice labels, tags/attributes/recurrence, calendar math."""

from __future__ import annotations

from datetime import date
from typing import Any

from bridge.domain import custom_field_rules as cfr
from bridge.domain.accounts import CustomFieldRule, Recurrence

DEFINITIONS: list[dict[str, Any]] = [
    {"id": 1, "code": "annual-contract", "name": "Contrat annuel", "type": "boolean", "value": True},
    {"id": 3, "code": "site-code", "name": "Code site", "type": "simple-text", "value": "S-42"},
    {
        "id": 7,
        "code": None,
        "name": "Formule",
        "type": "select",
        "value": 12,
        "parameters": {"items": [{"id": 11, "label": "Basic"}, {"id": 12, "label": "Premium"}]},
    },
    {"id": 8, "code": "budget", "type": "amount", "value": {"amount": "150.00", "currency": "EUR"}},
    {"id": 9, "code": "empty", "type": "simple-text", "value": None},
]


def _rule(**kwargs: object) -> CustomFieldRule:
    return CustomFieldRule.model_validate(kwargs)


def test_values_are_readable_and_found_by_code_id_or_name() -> None:
    values = cfr.parse_values(DEFINITIONS)
    assert cfr.find(values, "annual-contract").value is True  # type: ignore[union-attr]
    assert cfr.find(values, "3").value == "S-42"  # type: ignore[union-attr]
    assert cfr.find(values, "formule").value == "Premium"  # type: ignore[union-attr]
    assert cfr.find(values, "budget").value == "150.00"  # type: ignore[union-attr]
    assert cfr.find(values, "missing") is None
    assert cfr.as_dict(values) == {"annual-contract": True, "site-code": "S-42", "7": "Premium", "budget": "150.00"}


def test_rules_give_tags_attributes_and_the_first_recurrence() -> None:
    rules = [
        _rule(custom_field="annual-contract", equals=True, tag="annual-contract", recurrence="P1Y"),
        _rule(custom_field="formule", equals="premium", tag="premium", recurrence="P6M"),
        _rule(custom_field="site-code", attribute="site_code"),
        _rule(custom_field="empty", attribute="never"),
        _rule(custom_field="annual-contract", equals=False, tag="no-contract"),
    ]
    outcome = cfr.evaluate(rules, cfr.parse_values(DEFINITIONS))
    assert outcome.tags == ["annual-contract", "premium"]
    assert outcome.attributes == {"site_code": "S-42"}
    assert (outcome.recurrence, outcome.recurrence_tag) == ("P1Y", "annual-contract")


def test_a_stored_rule_with_equals_null_means_whenever_set() -> None:
    stored = CustomFieldRule.model_validate(_rule(custom_field="site-code", attribute="site").model_dump())
    assert cfr.evaluate([stored], cfr.parse_values(DEFINITIONS)).attributes == {"site": "S-42"}
    unset = cfr.parse_values([{"id": 3, "code": "site-code", "value": ""}])
    assert cfr.evaluate([stored], unset).attributes == {}


def test_checkbox_strings_from_other_routes_still_match() -> None:
    rule = _rule(custom_field="annual-contract", equals=True, tag="annual-contract")
    assert cfr.evaluate([rule], cfr.parse_values([{"id": 1, "code": "annual-contract", "value": "oui"}])).tags
    assert not cfr.evaluate([rule], cfr.parse_values([{"id": 1, "code": "annual-contract", "value": "0"}])).tags


def test_recurrence_follows_carried_tags() -> None:
    rules = [_rule(custom_field="x", tag="other"), _rule(custom_field="y", tag="annual", recurrence="P1Y")]
    assert cfr.recurrence_for_tags(rules, ["annual"]) is rules[1]
    assert cfr.recurrence_for_tags(rules, ["other"]) is None


def test_calendar_periods() -> None:
    assert cfr.add_period(date(2026, 3, 15), Recurrence(years=1)) == date(2027, 3, 15)
    assert cfr.add_period(date(2026, 1, 31), Recurrence(months=1)) == date(2026, 2, 28)
    assert cfr.add_period(date(2028, 2, 29), Recurrence(years=1)) == date(2029, 2, 28)
    assert cfr.add_period(date(2026, 12, 20), Recurrence(months=1, weeks=1, days=1)) == date(2027, 1, 28)
