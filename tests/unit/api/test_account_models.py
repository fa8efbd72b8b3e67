"""Account settings validation: what a user may configure, and the messages when it is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bridge.domain.accounts import (
    Account,
    AccountSettings,
    CustomFieldRule,
    Trigger,
    TriggerWhen,
    parse_recurrence,
)

ANNUAL = {"custom_field": "annual-contract", "equals": True, "tag": "annual-contract", "recurrence": "P1Y"}
TRIGGER = {
    "name": "job done",
    "when": {"status": "completed", "has_estimate": True},
    "actions": [
        {"type": "convert_quote", "validate": True},
        {"type": "upload_report", "target": "estimate"},
        {"type": "add_comment", "target": "opportunity", "template": "Job {number} done"},
    ],
}


def errors_of(model: Any, data: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return str(caught.value)


def test_full_settings_round_trip_keeps_every_value() -> None:
    settings = AccountSettings.model_validate(
        {
            "base_currency": "usd",
            "sync_direction": "both",
            "custom_field_rules": [ANNUAL, {"custom_field": "site-code", "attribute": "site_code"}],
            "triggers": [TRIGGER],
            "deep_link_host": "www.sellsy.fr",
        }
    )
    assert settings.base_currency == "USD"
    dumped = settings.model_dump(by_alias=True, mode="json")
    assert dumped["triggers"][0]["actions"][0] == {"type": "convert_quote", "validate": True}
    assert AccountSettings.model_validate(dumped) == settings


def test_defaults_are_conservative() -> None:
    settings = AccountSettings()
    assert (settings.base_currency, settings.sync_direction, settings.deep_link_host) == (
        "EUR",
        "sellsy_to_field",
        "www.sellsy.com",
    )
    account = Account(id="acme", name="Acme")
    assert account.status == "disconnected" and not account.can_sync


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"base_currency": "EURO"}, "not a 3-letter ISO 4217 code"),
        ({"sync_direction": "sideways"}, "sync_direction"),
        ({"deep_link_host": "evil.example.com"}, "deep_link_host"),
        ({"unknown": 1}, "Extra inputs are not permitted"),
        ({"triggers": [TRIGGER, TRIGGER]}, "repeated: job done"),
        ({"custom_field_rules": [{"custom_field": "x", "equals": 1}]}, "needs a 'tag' or an 'attribute'"),
        ({"custom_field_rules": [{**ANNUAL, "recurrence": "1 year"}]}, "not an ISO 8601 date duration"),
        ({"custom_field_rules": [{**ANNUAL, "recurrence": "P0D"}]}, "zero-length"),
        (
            {"custom_field_rules": [{"custom_field": "x", "attribute": "a", "recurrence": "P1Y"}]},
            "needs the 'tag'",
        ),
        ({"custom_field_rules": [{**ANNUAL, "attribute": "bad name"}]}, "attribute"),
    ],
)
def test_bad_settings_are_rejected_with_a_message(data: dict[str, Any], message: str) -> None:
    assert message in errors_of(AccountSettings, data)


@pytest.mark.parametrize(
    ("trigger", "message"),
    [
        ({**TRIGGER, "actions": []}, "at least 1 item"),
        ({**TRIGGER, "actions": [{"type": "teleport"}]}, "teleport"),
        ({**TRIGGER, "actions": [{"type": "upload_report", "target": "invoice"}]}, "target"),
        ({**TRIGGER, "actions": [{"type": "add_comment", "target": "estimate"}]}, "template"),
        ({**TRIGGER, "actions": [{"type": "add_comment", "target": "estimate", "template": ""}]}, "template"),
        ({**TRIGGER, "when": {"colour": "red"}}, "colour"),
        (
            {**TRIGGER, "when": {"has_estimate": False}, "actions": [{"type": "convert_quote"}]},
            "convert_quote needs an estimate",
        ),
        (
            {**TRIGGER, "actions": [{"type": "convert_quote"}, {"type": "invoice_from_items"}]},
            "at most one invoicing action",
        ),
    ],
)
def test_bad_triggers_are_rejected_with_a_message(trigger: dict[str, Any], message: str) -> None:
    assert message in errors_of(Trigger, trigger)


def test_trigger_conditions_match_the_intervention() -> None:
    when = TriggerWhen(status="completed", has_estimate=True, tag="vip")
    done = {"status": "completed", "estimate_id": 12, "tags": ["vip"]}
    assert when.matches(done)
    assert not when.matches({**done, "status": "planned"})
    assert not when.matches({**done, "estimate_id": None})
    assert not when.matches({**done, "tags": []})
    assert TriggerWhen().matches({})


@pytest.mark.parametrize(
    ("equals", "value", "expected"),
    [
        (True, True, True),
        (True, "1", True),
        (True, "true", True),
        (True, False, False),
        (True, None, False),
        (False, "0", True),
        ("Gold", "gold ", True),
        ("Gold", "silver", False),
        (12, "12.0", True),
        (12, "twelve", False),
    ],
)
def test_custom_field_rule_matching(equals: Any, value: Any, expected: bool) -> None:
    rule = CustomFieldRule(custom_field="f", equals=equals, tag="t")
    assert rule.matches(value) is expected


def test_rule_without_equals_matches_any_set_value() -> None:
    rule = CustomFieldRule(custom_field="f", attribute="site")
    assert rule.matches("A12") and not rule.matches("") and not rule.matches(None)


def test_recurrence_parses_calendar_periods() -> None:
    period = parse_recurrence("P1Y6M")
    assert (period.years, period.months, period.weeks, period.days) == (1, 6, 0, 0)
    assert CustomFieldRule.model_validate(ANNUAL).recurrence_period() == parse_recurrence("P1Y")


def test_settings_patch_replaces_keys_and_revalidates() -> None:
    account = Account(id="acme", name="Acme", settings=AccountSettings(triggers=[Trigger.model_validate(TRIGGER)]))
    patched = account.with_settings_patch({"base_currency": "gbp"})
    assert patched.settings.base_currency == "GBP"
    assert patched.settings.triggers == account.settings.triggers
    with pytest.raises(ValidationError):
        account.with_settings_patch({"sync_direction": "nowhere"})


@pytest.mark.parametrize("bad_id", ["", "A#1", "has space", "x" * 65, "-lead"])
def test_account_ids_cannot_break_tenant_keys(bad_id: str) -> None:
    assert "id" in errors_of(Account, {"id": bad_id, "name": "n"})
