"""Settings pages: the general values, then triggers and custom-field rules, each added, edited or
deleted on its own (``bridge.flows.settings_entries``: the other entries are never touched, and an
entry changed by someone else meanwhile is refused, not overwritten), and a trigger's preview on a
chosen intervention (what it would do, nothing done)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import Response
from pydantic import ValidationError

from bridge.adapters import field_repo
from bridge.adapters.accounts_repo import AccountConflict
from bridge.console import i18n, layout
from bridge.console.accounts import _account
from bridge.console.layout import ConsoleError, ConsoleRequest
from bridge.console.settings_text import MESSAGES
from bridge.domain.accounts import INTERVENTION_STATUSES, TEMPLATE_FIELDS, Account, CustomFieldRule, Trigger
from bridge.domain.triggers import SAMPLE_INTERVENTION
from bridge.flows import settings_entries as entries

ACTION_TYPES = ("convert_quote", "invoice_from_items", "upload_report", "add_comment")
TARGETS = ("estimate", "opportunity")
CONDITION_FLAGS = ("has_estimate", "has_opportunity", "has_used_items", "has_report")
SPARE_ACTION_SLOTS = 2
MAX_ACTION_SLOTS = 10
PREVIEW_CHOICES = 25
RULE_FIELDS = ("custom_field", "equals", "tag", "recurrence", "attribute")  # a rule's form, field by field

i18n.add_messages(MESSAGES)


def _t(request: ConsoleRequest, key: str, **values: Any) -> str:
    return i18n.translate(request.lang, key, **values)


def settings_url(account_id: str, **query: str) -> str:
    from urllib.parse import urlencode

    return f"{layout.ROOT}/accounts/{account_id}/settings" + (f"?{urlencode(query)}" if query else "")


def _entry(entries_list: list[Any], wanted: str) -> Any:
    for entry in entries_list:
        if entries.etag(entry) == wanted:
            return entry
    raise ConsoleError(404, "error.not_found")


def _common(request: ConsoleRequest, account: Account) -> dict[str, Any]:
    return {"section": "accounts", "account": account, "etag": entries.etag}


# ---------------------------------------------------------------- the overview and general values


def show(
    request: ConsoleRequest,
    account_id: str,
    *,
    problem: list[str] | str | None = None,
    status: int = 200,
    general: dict[str, Any] | None = None,
) -> Response:
    account = _account(account_id)
    current = entries.general_values(account.settings)
    notice = request.query.get("notice")
    return layout.render(
        request,
        "settings.html",
        status=status,
        general=general or current,
        general_etag=request.value("read_etag") if general else entries.etag(current),
        problem=problem,
        notice=notice if notice in ("saved", "deleted_trigger", "deleted_rule") else None,
        **_common(request, account),
    )


def save_general(request: ConsoleRequest, account_id: str) -> Response:
    values: dict[str, Any] = {key: request.value(key) for key in entries.GENERAL_KEYS}
    try:
        entries.save_general(account_id, values, read_etag=request.value("read_etag"))
    except ValidationError as exc:
        return show(request, account_id, problem=entries.validation_messages(exc), status=400, general=values)
    except (entries.EntryConflict, AccountConflict) as exc:
        return show(
            request, account_id, problem=_t(request, "settings.conflict", reason=exc), status=409, general=values
        )
    return layout.redirect(settings_url(account_id, notice="saved"))


# ---------------------------------------------------------------- triggers


def _trigger_form_values(trigger: Trigger | None) -> dict[str, Any]:
    """A trigger as the form shows it (empty for a new one), with spare action slots."""
    if trigger is None:
        return {"name": "", "when": {}, "actions": [{}] * (SPARE_ACTION_SLOTS + 1)}
    dumped = trigger.model_dump(mode="json", by_alias=True, exclude_none=True)
    slots = min(MAX_ACTION_SLOTS, len(dumped["actions"]) + SPARE_ACTION_SLOTS)
    return {
        "name": dumped["name"],
        "when": dumped.get("when") or {},
        "actions": dumped["actions"] + [{}] * (slots - len(dumped["actions"])),
    }


def _tri_state(text: str) -> bool | None:
    return {"yes": True, "no": False}.get(text)


def trigger_from_form(request: ConsoleRequest) -> dict[str, Any]:
    """The posted form as the trigger's JSON (what the JSON API would receive); empty slots skipped."""
    when: dict[str, Any] = {}
    if request.value("when_status"):
        when["status"] = request.value("when_status")
    for flag in CONDITION_FLAGS:
        value = _tri_state(request.value(f"when_{flag}"))
        if value is not None:
            when[flag] = value
    if request.value("when_tag"):
        when["tag"] = request.value("when_tag")
    actions: list[dict[str, Any]] = []
    for slot in range(MAX_ACTION_SLOTS):
        kind = request.value(f"action_{slot}_type")
        if not kind:
            continue
        action: dict[str, Any] = {"type": kind}
        if kind in ("convert_quote", "invoice_from_items"):
            action["validate"] = request.value(f"action_{slot}_validate") == "on"
        if kind in ("upload_report", "add_comment"):
            action["target"] = request.value(f"action_{slot}_target") or "estimate"
        if kind == "add_comment":
            action["template"] = request.form.get(f"action_{slot}_template", [""])[-1]
        actions.append(action)
    return {"name": request.value("name"), "when": when, "actions": actions}


def trigger_form(
    request: ConsoleRequest,
    account_id: str,
    *,
    values: dict[str, Any] | None = None,
    problem: list[str] | str | None = None,
    status: int = 200,
    sample: list[dict[str, Any]] | None = None,
) -> Response:
    account = _account(account_id)
    replaces = request.value("entry") or None
    existing = _entry(entries.TRIGGERS.of(account.settings), replaces) if replaces and values is None else None
    if values is None:
        values = _trigger_form_values(existing)
    elif len(values["actions"]) < MAX_ACTION_SLOTS:
        values = {**values, "actions": values["actions"] + [{}] * SPARE_ACTION_SLOTS}
    return layout.render(
        request,
        "trigger_form.html",
        status=status,
        values=values,
        replaces=replaces,
        problem=problem,
        sample=sample,
        statuses=INTERVENTION_STATUSES,
        flags=CONDITION_FLAGS,
        action_types=ACTION_TYPES,
        targets=TARGETS,
        template_fields=", ".join("{" + f + "}" for f in TEMPLATE_FIELDS),
        **_common(request, account),
    )


def save_trigger(request: ConsoleRequest, account_id: str) -> Response:
    _account(account_id)
    posted = trigger_from_form(request)
    replaces = request.value("entry") or None
    try:
        account = entries.save_entry(account_id, entries.TRIGGERS, posted, replaces=replaces)
    except ValidationError as exc:
        return trigger_form(request, account_id, values=posted, problem=entries.validation_messages(exc), status=400)
    except (entries.EntryConflict, AccountConflict) as exc:
        return trigger_form(
            request, account_id, values=posted, problem=_t(request, "settings.conflict", reason=exc), status=409
        )
    saved = next(t for t in account.settings.triggers if t.name == posted["name"])
    return layout.redirect(f"{settings_url(account_id)}/triggers/edit?entry={entries.etag(saved)}&saved=1")


def show_saved_trigger(request: ConsoleRequest, account_id: str) -> Response:
    """The edit form of a trigger, with — after a save — its comments rendered against the sample."""
    account = _account(account_id)
    wanted = request.value("entry")
    trigger = _entry(entries.TRIGGERS.of(account.settings), wanted) if wanted else None
    sample = entries.sample_rendering(trigger) if trigger is not None and request.query.get("saved") else None
    return trigger_form(request, account_id, sample=sample)


def preview_trigger(request: ConsoleRequest, account_id: str) -> Response:
    account = _account(account_id)
    trigger = _entry(entries.TRIGGERS.of(account.settings), request.value("entry"))
    recent, _ = field_repo.list_interventions(account_id, limit=PREVIEW_CHOICES, newest_first=True)
    chosen_id = request.value("intervention_id") or request.value("intervention")
    problem = None
    result = None
    chosen_label = None
    if chosen_id == "sample":
        result = entries.preview(trigger, SAMPLE_INTERVENTION)
        chosen_label = _t(request, "preview.sample")
    elif chosen_id:
        found = field_repo.get_intervention(account_id, chosen_id, consistent=False)
        if found is None:
            problem = _t(request, "preview.not_found")
        else:
            result = entries.preview(trigger, found.model_dump(mode="json"))
            chosen_label = f"{found.number or found.id} · {found.subject or ''}".strip(" ·")
    return layout.render(
        request,
        "trigger_preview.html",
        trigger=trigger,
        entry=request.value("entry"),
        recent=recent,
        chosen_id=chosen_id,
        chosen_label=chosen_label,
        result=result,
        problem=problem,
        status=404 if problem else 200,
        **_common(request, account),
    )


# ---------------------------------------------------------------- custom-field rules


def _rule_form_values(rule: CustomFieldRule | None) -> dict[str, Any]:
    if rule is None:
        return dict.fromkeys(RULE_FIELDS, "")
    equals = rule.equals
    shown = "" if equals is None else ("true" if equals is True else "false" if equals is False else str(equals))
    return {
        "custom_field": rule.custom_field,
        "equals": shown,
        "tag": rule.tag or "",
        "recurrence": rule.recurrence or "",
        "attribute": rule.attribute or "",
    }


def _equals_value(text: str) -> Any:
    """The form's text as the rule's ``equals``: true/false, a number, else the text (empty = absent)."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text) if text.strip().lstrip("-").isdigit() else float(text)
    except ValueError:
        return text


def rule_from_form(request: ConsoleRequest) -> dict[str, Any]:
    rule: dict[str, Any] = {"custom_field": request.value("custom_field")}
    if request.value("equals"):
        rule["equals"] = _equals_value(request.value("equals"))
    for name in ("tag", "recurrence", "attribute"):
        if request.value(name):
            rule[name] = request.value(name)
    return rule


def rule_form(
    request: ConsoleRequest,
    account_id: str,
    *,
    values: dict[str, Any] | None = None,
    problem: list[str] | str | None = None,
    status: int = 200,
) -> Response:
    account = _account(account_id)
    replaces = request.value("entry") or None
    if values is None:
        existing = _entry(entries.RULES.of(account.settings), replaces) if replaces else None
        values = _rule_form_values(existing)
    return layout.render(
        request,
        "rule_form.html",
        status=status,
        values=values,
        replaces=replaces,
        problem=problem,
        **_common(request, account),
    )


def save_rule(request: ConsoleRequest, account_id: str) -> Response:
    _account(account_id)
    posted = rule_from_form(request)
    shown = {k: request.value(k) for k in RULE_FIELDS}
    try:
        entries.save_entry(account_id, entries.RULES, posted, replaces=request.value("entry") or None)
    except ValidationError as exc:
        return rule_form(request, account_id, values=shown, problem=entries.validation_messages(exc), status=400)
    except (entries.EntryConflict, AccountConflict) as exc:
        problem = _t(request, "settings.conflict", reason=exc)
        return rule_form(request, account_id, values=shown, problem=problem, status=409)
    return layout.redirect(settings_url(account_id, notice="saved"))


# ---------------------------------------------------------------- deleting an entry, whichever list


@dataclass(frozen=True)
class Deletion:
    """Deleting an entry of one list: its pages are ``settings/{path}/delete``, its messages ``{path}.delete_*``
    (the title given the entry's ``label``), and the settings page says ``deleted_{one}`` once done."""

    kind: entries.EntryList
    path: str
    one: str
    label: Callable[[Any], dict[str, str]]


TRIGGER_DELETION = Deletion(entries.TRIGGERS, "triggers", "trigger", lambda trigger: {"name": trigger.name})
RULE_DELETION = Deletion(entries.RULES, "rules", "rule", lambda rule: {"field": rule.custom_field})


def confirm_delete(request: ConsoleRequest, account_id: str, of: Deletion) -> Response:
    account = _account(account_id)
    entry = _entry(of.kind.of(account.settings), request.value("entry"))
    return layout.render(
        request,
        "entry_delete.html",
        title=_t(request, f"{of.path}.delete_title", **of.label(entry)),
        explain=_t(request, f"{of.path}.delete_explain"),
        action=f"{settings_url(account_id)}/{of.path}/delete",
        entry=request.value("entry"),
        **_common(request, account),
    )


def delete(request: ConsoleRequest, account_id: str, of: Deletion) -> Response:
    _account(account_id)
    try:
        entries.delete_entry(account_id, of.kind, request.value("entry"))
    except (entries.EntryConflict, AccountConflict) as exc:
        return show(request, account_id, problem=_t(request, "settings.conflict", reason=exc), status=409)
    return layout.redirect(settings_url(account_id, notice=f"deleted_{of.one}"))
