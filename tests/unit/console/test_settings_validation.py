"""Typos the console and the JSON API now refuse when a setting is saved (not at completion)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bridge.domain import interventions, triggers
from bridge.domain.accounts import INTERVENTION_STATUSES, TEMPLATE_FIELDS, Trigger, template_problems
from bridge.flows import settings_entries


def trigger(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "comment",
        "when": {"status": "completed"},
        "actions": [{"type": "add_comment", "target": "estimate", "template": "Done by {technician}."}],
    }
    base.update(changes)
    return base


def test_the_lists_the_domain_checks_against_are_the_ones_the_code_uses() -> None:
    assert set(TEMPLATE_FIELDS) == set(triggers.template_facts(triggers.SAMPLE_INTERVENTION))
    assert INTERVENTION_STATUSES == interventions.STATUSES
    # The sample fills every field, so a rendering shows the whole text.
    assert all(triggers.template_facts(triggers.SAMPLE_INTERVENTION).values())


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("Done by {technicien}.", "unknown field(s) {technicien}"),
        ("Done by {technician", "not part of a {field}"),
        ("Done by technician}", "not part of a {field}"),
        ("{ subject } on {completed_date} {oops}", "{oops}"),
    ],
)
def test_comment_templates_with_a_typo_are_refused(template: str, problem: str) -> None:
    assert any(problem in p for p in template_problems(template))
    action = {"type": "add_comment", "target": "estimate", "template": template}
    with pytest.raises(ValidationError, match="comment template"):
        Trigger.model_validate(trigger(actions=[action]))


def test_a_good_template_is_kept_and_renders_against_the_sample() -> None:
    parsed = Trigger.model_validate(trigger())
    assert settings_entries.sample_rendering(parsed) == [{"index": 0, "text": "Done by Camille Martin."}]


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValidationError, match="not an intervention status"):
        Trigger.model_validate(trigger(when={"status": "complete"}))


def test_preview_explains_each_condition_and_renders_without_doing_anything() -> None:
    parsed = Trigger.model_validate(
        trigger(
            when={"status": "completed", "has_estimate": True, "tag": "vip"},
            actions=[
                {"type": "convert_quote"},
                {"type": "add_comment", "target": "estimate", "template": "{number}: {used_items}"},
            ],
        )
    )
    sample = dict(triggers.SAMPLE_INTERVENTION)
    missing_tag = settings_entries.preview(parsed, sample)
    assert missing_tag["matches"] is False and missing_tag["actions"] == []
    assert [(c["name"], c["holds"]) for c in missing_tag["conditions"]] == [
        ("status", True),
        ("has_estimate", True),
        ("tag", False),
    ]
    tagged = settings_entries.preview(parsed, {**sample, "tags": ["vip"]})
    assert tagged["matches"] is True
    assert tagged["actions"][0] == {
        "index": 0,
        "type": "convert_quote",
        "target": {"type": "estimate", "id": 1201},
        "validate": False,
    }
    assert tagged["actions"][1]["text"] == "INT-0042: 1 × VALVE-3B"
    flagged = settings_entries.preview(
        parsed, {**sample, "tags": ["vip"], "flags": [{"code": "estimate_refused", "reason": "the quote was refused"}]}
    )
    assert "not invoiced" in flagged["actions"][0]["held"]


def test_etag_changes_with_the_entry_only() -> None:
    one = Trigger.model_validate(trigger())
    same = Trigger.model_validate(trigger())
    other = Trigger.model_validate(trigger(name="other"))
    assert settings_entries.etag(one) == settings_entries.etag(same) != settings_entries.etag(other)
