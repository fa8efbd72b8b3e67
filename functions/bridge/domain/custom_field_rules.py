"""Custom-field mapping rules applied to values read from Sellsy (F4). Pure: no I/O.

Sellsy answers custom fields as a list of definitions with a typed ``value`` (text as strings, choices as
ids, booleans, amounts as objects). Rules name a field by its code, its id or its name; choice ids are
turned into their labels so a rule can say ``"equals": "Annual"``.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bridge.domain.accounts import CustomFieldRule, Recurrence


@dataclass(frozen=True)
class CustomFieldValue:
    id: int | None
    code: str | None
    name: str | None
    value: Any


@dataclass
class RuleOutcome:
    """What the rules say for one Sellsy object: tags for the customer, attributes for the intervention."""

    tags: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    recurrence: str | None = None
    recurrence_tag: str | None = None


def _choice_labels(parameters: Any) -> dict[int, str]:
    items = parameters.get("items") if isinstance(parameters, Mapping) else None
    labels: dict[int, str] = {}
    for item in items or []:
        if isinstance(item, Mapping) and isinstance(item.get("id"), int) and item.get("label") is not None:
            labels[item["id"]] = str(item["label"])
    return labels


def readable_value(definition: Mapping[str, Any]) -> Any:
    """The value as a person reads it: choice labels instead of ids, amounts as their number."""
    value = definition.get("value")
    kind = definition.get("type")
    if kind in {"radio", "select"} and isinstance(value, int) and not isinstance(value, bool):
        return _choice_labels(definition.get("parameters")).get(value, value)
    if kind == "checkbox" and isinstance(value, list):
        labels = _choice_labels(definition.get("parameters"))
        return [labels.get(v, v) if isinstance(v, int) else v for v in value]
    if kind == "amount" and isinstance(value, Mapping):
        return value.get("amount")
    if kind == "numeric-with-unit" and isinstance(value, Mapping):
        return value.get("number")
    return value


def parse_values(definitions: Iterable[Mapping[str, Any]]) -> list[CustomFieldValue]:
    """Sellsy's custom-field list (``GET /<object>/{id}/custom-fields`` data or ``_embed.custom_fields``)."""
    values = []
    for item in definitions:
        if not isinstance(item, Mapping):
            continue
        raw_id = item.get("id")
        values.append(
            CustomFieldValue(
                id=raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None,
                code=str(item["code"]) if item.get("code") else None,
                name=str(item["name"]) if item.get("name") else None,
                value=readable_value(item),
            )
        )
    return values


def find(values: Sequence[CustomFieldValue], reference: str) -> CustomFieldValue | None:
    """A rule's ``custom_field`` matches the code first, then the id, then the name (case-insensitive)."""
    wanted = reference.strip().casefold()
    for candidates in (
        [v for v in values if v.code and v.code.casefold() == wanted],
        [v for v in values if v.id is not None and str(v.id) == wanted],
        [v for v in values if v.name and v.name.strip().casefold() == wanted],
    ):
        if candidates:
            return candidates[0]
    return None


def as_dict(values: Sequence[CustomFieldValue]) -> dict[str, Any]:
    """Values keyed by code (or id when a field has no code), as shown on an intervention."""
    out: dict[str, Any] = {}
    for v in values:
        if v.value is None or v.value == "" or v.value == []:
            continue
        out[v.code or str(v.id)] = v.value
    return out


def rule_applies(rule: CustomFieldRule, value: Any) -> bool:
    """``equals`` absent or null means "whenever the field is set" (a stored rule comes back with
    ``equals: null``, so the model's fields-set bookkeeping cannot be relied on here)."""
    if rule.equals is None:
        return value is not None and value not in ("", [], {}) and value is not False
    return rule.matches(value)


def evaluate(rules: Iterable[CustomFieldRule], values: Sequence[CustomFieldValue]) -> RuleOutcome:
    outcome = RuleOutcome()
    for rule in rules:
        found = find(values, rule.custom_field)
        if found is None or not rule_applies(rule, found.value):
            continue
        if rule.tag and rule.tag not in outcome.tags:
            outcome.tags.append(rule.tag)
        if rule.attribute:
            outcome.attributes[rule.attribute] = found.value
        if rule.recurrence and outcome.recurrence is None:
            outcome.recurrence, outcome.recurrence_tag = rule.recurrence, rule.tag
    return outcome


def recurrence_for_tags(rules: Iterable[CustomFieldRule], tags: Iterable[str]) -> CustomFieldRule | None:
    """The first rule with a recurrence whose tag is carried (by the intervention or its customer)."""
    carried = set(tags)
    for rule in rules:
        if rule.recurrence and rule.tag in carried:
            return rule
    return None


def add_period(start: date | datetime, period: Recurrence) -> date:
    """Calendar arithmetic: 31 Jan + P1M = 28/29 Feb; 29 Feb + P1Y = 28 Feb."""
    day = start.date() if isinstance(start, datetime) else start
    months = day.month - 1 + period.months + 12 * period.years
    year, month = day.year + months // 12, months % 12 + 1
    last = calendar.monthrange(year, month)[1]
    moved = date(year, month, min(day.day, last))
    return date.fromordinal(moved.toordinal() + 7 * period.weeks + period.days)
