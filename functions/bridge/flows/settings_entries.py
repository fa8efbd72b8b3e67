"""Account settings edited one entry at a time: a trigger, a custom-field rule, or the general values.

Each entry shown to an editor carries an etag (a hash of the entry as it was read). A save or delete
names the entry by its etag, re-reads the account and changes only that entry: the other entries are
written back exactly as they are now stored, whoever changed them meanwhile. If the entry itself was
changed or removed since it was read, the etag no longer matches and the save is refused
(``EntryConflict``) rather than silently overwriting someone else's edit. The account write itself
is optimistic too (``version``), retried a few times when only unrelated fields moved.

The result is validated as a whole by the domain (names unique, templates renderable, conditions
known), exactly as the JSON API's ``PATCH`` validates it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from bridge.adapters import accounts_repo
from bridge.adapters.accounts_repo import AccountConflict
from bridge.domain.accounts import Account, AccountSettings, CustomFieldRule, Trigger
from bridge.domain.triggers import (
    SAMPLE_INTERVENTION,
    OutboundRuleError,
    invoicing_hold,
    is_invoicing,
    plan_actions,
    render_comment,
    report_file_name,
    target_document,
)

GENERAL_KEYS = ("base_currency", "sync_direction", "deep_link_host", "daily_quota_reserve")
WRITE_ATTEMPTS = 5


class EntryConflict(Exception):
    """The entry changed (or vanished) since the editor read it."""


def etag(entry: Any) -> str:
    """A short fingerprint of an entry as stored (JSON with sorted keys)."""
    if hasattr(entry, "model_dump"):
        entry = entry.model_dump(mode="json", by_alias=True, exclude_none=True)
    text = json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def general_values(settings: AccountSettings) -> dict[str, Any]:
    dumped = settings.model_dump(mode="json", by_alias=True)
    return {key: dumped[key] for key in GENERAL_KEYS}


def _write(account_id: str, change: Callable[[AccountSettings], dict[str, Any]]) -> Account:
    """Apply ``change`` (settings → keys to replace) to a fresh read; retry when the account moved."""
    for _ in range(WRITE_ATTEMPTS):
        account = accounts_repo.require_account(account_id, consistent=True)
        patch = change(account.settings)
        updated = account.with_settings_patch(patch)
        try:
            return accounts_repo.put_account(Account.model_validate(updated.model_dump(by_alias=True)))
        except AccountConflict:
            continue  # someone wrote meanwhile: the change is applied again to what they wrote
    raise AccountConflict(f"account {account_id!r} kept changing; try again")


def _dump_list(entries: list[Any]) -> list[dict[str, Any]]:
    return [e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in entries]


def _index_of(entries: list[Any], wanted: str) -> int:
    for index, entry in enumerate(entries):
        if etag(entry) == wanted:
            return index
    raise EntryConflict("this entry was changed or removed by someone else since you opened it")


@dataclass(frozen=True)
class EntryList:
    """One list of entries in an account's settings: its key there and the model of one entry."""

    key: str
    model: type[Trigger] | type[CustomFieldRule]

    def of(self, settings: AccountSettings) -> list[Any]:
        return list(getattr(settings, self.key))


TRIGGERS = EntryList("triggers", Trigger)
RULES = EntryList("custom_field_rules", CustomFieldRule)


def save_entry(account_id: str, kind: EntryList, entry: Mapping[str, Any], *, replaces: str | None) -> Account:
    """Add an entry (``replaces`` None) or replace the one whose etag is ``replaces``."""
    parsed = kind.model.model_validate(dict(entry))

    def change(settings: AccountSettings) -> dict[str, Any]:
        listed = kind.of(settings)
        if replaces is None:
            listed.append(parsed)
        else:
            listed[_index_of(listed, replaces)] = parsed
        return {kind.key: _dump_list(listed)}

    return _write(account_id, change)


def delete_entry(account_id: str, kind: EntryList, entry_etag: str) -> Account:
    def change(settings: AccountSettings) -> dict[str, Any]:
        listed = kind.of(settings)
        del listed[_index_of(listed, entry_etag)]
        return {kind.key: _dump_list(listed)}

    return _write(account_id, change)


def save_general(account_id: str, values: Mapping[str, Any], *, read_etag: str) -> Account:
    """Base currency, sync direction, deep-link host and quota reserve, if unchanged since read."""
    patch = {key: values[key] for key in GENERAL_KEYS if key in values}

    def change(settings: AccountSettings) -> dict[str, Any]:
        if etag(general_values(settings)) != read_etag:
            raise EntryConflict("these settings were changed by someone else since you opened them")
        return patch

    return _write(account_id, change)


def sample_rendering(trigger: Trigger) -> list[dict[str, Any]]:
    """Each comment of a trigger rendered against the sample intervention (what saving checks)."""
    return [
        {"index": index, "text": render_comment(action.template, SAMPLE_INTERVENTION)}
        for index, action in enumerate(trigger.actions)
        if action.type == "add_comment"
    ]


def preview(trigger: Trigger, intervention: Mapping[str, Any]) -> dict[str, Any]:
    """What the trigger would do for this intervention, without doing anything: whether its conditions
    hold (each one explained), and each planned action with the texts it would write."""
    conditions = [
        {"name": name, "wanted": wanted, "found": found, "holds": holds}
        for name, wanted, found, holds in trigger.when.explain(intervention)
    ]
    planned = plan_actions([trigger], intervention)
    actions: list[dict[str, Any]] = []
    hold = invoicing_hold(intervention)
    for step in planned:
        entry: dict[str, Any] = {"index": step.index, "type": step.kind}
        action = step.action
        try:
            if action.type in ("upload_report", "add_comment"):
                kind, document_id = target_document(intervention, action.target)
                entry["target"] = {"type": kind, "id": document_id}
            if action.type == "upload_report":
                entry["file_name"] = report_file_name(str(intervention.get("id") or ""))
            if action.type == "add_comment":
                entry["text"] = render_comment(action.template, intervention)
            if action.type == "convert_quote":
                kind, document_id = target_document(intervention, "estimate")
                entry["target"] = {"type": kind, "id": document_id}
                entry["validate"] = action.validate_invoice
            if action.type == "invoice_from_items":
                entry["items"] = [
                    {"sku": str(i.get("sku")), "quantity": str(i.get("quantity"))}
                    for i in intervention.get("used_items") or []
                ]
                entry["validate"] = action.validate_invoice
            if is_invoicing(action) and hold:
                entry["held"] = hold
        except OutboundRuleError as exc:
            entry["problem"] = str(exc)
        actions.append(entry)
    return {"matches": bool(planned), "conditions": conditions, "actions": actions}


def validation_messages(exc: ValidationError) -> list[str]:
    """Readable problems of a refused entry (no input echoed: it may hold a secret)."""
    messages = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc") or [])
        text = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        messages.append(f"{where}: {text}" if where else text)
    return messages
