"""Merging a freshly mapped record into what is stored (pure: no I/O).

User rules: fields edited through our API are locked (`locked_fields`) and keep their stored value;
a record seen again loses its `not_seen_since` flag. Outcomes are counted exactly even when a page is
processed twice after a crash: a record already written by this run reports what that write was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bridge.domain.revenue import stable_hash

Outcome = Literal["created", "updated", "unchanged", "locked_skipped"]
OUTCOMES: tuple[Outcome, ...] = ("created", "updated", "unchanged", "locked_skipped")


@dataclass(frozen=True)
class Merged:
    outcome: Outcome
    item: dict[str, Any] | None  # None: nothing to write (already written by this run)


def merge_record(
    *,
    pk: str,
    key: str,
    stream: str,
    account_id: str,
    data: dict[str, Any],
    stored: dict[str, Any] | None,
    run_id: str,
    now: str,
    extra: dict[str, Any] | None = None,
) -> Merged:
    extra = extra or {}
    if stored is None:
        item = _item(pk, key, stream, account_id, data, run_id, now, extra, locked=[], created_run=run_id)
        item["changed_run"] = run_id
        return Merged("created", item)

    locked = list(stored.get("locked_fields") or [])
    stored_data = stored.get("data") or {}
    merged = dict(data)
    locked_differs = False
    for name in locked:
        if name in stored_data:
            if stable_hash(merged.get(name)) != stable_hash(stored_data.get(name)):
                locked_differs = True
            merged[name] = stored_data[name]
    new_hash = stable_hash(merged)
    extra_changed = any(stored.get(k) != v for k, v in extra.items())

    if new_hash != stored.get("hash"):
        outcome: Outcome = "created" if stored.get("created_run") == run_id else "updated"
        item = _item(pk, key, stream, account_id, merged, run_id, now, extra, locked, stored.get("created_run"))
        item["changed_run"] = run_id
        item["first_seen_at"] = stored.get("first_seen_at", now)
        return Merged(outcome, item)

    # Data as stored: only bookkeeping may need a write (seen in this run, summary hash, not missing).
    if stored.get("changed_run") == run_id:
        outcome = "created" if stored.get("created_run") == run_id else "updated"
    else:
        outcome = "locked_skipped" if locked_differs else "unchanged"
    if stored.get("last_seen_run") == run_id and "not_seen_since" not in stored and not extra_changed:
        return Merged(outcome, None)
    item = {k: v for k, v in stored.items() if k != "not_seen_since"}
    item.update(extra)
    item["last_seen_run"] = run_id
    return Merged(outcome, item)


def _item(
    pk: str,
    key: str,
    stream: str,
    account_id: str,
    data: dict[str, Any],
    run_id: str,
    now: str,
    extra: dict[str, Any],
    locked: list[str],
    created_run: str | None,
) -> dict[str, Any]:
    return {
        "pk": pk,
        "sk": key,
        "account_id": account_id,
        "stream": stream,
        "data": data,
        "hash": stable_hash(data),
        "locked_fields": locked,
        "created_run": created_run or run_id,
        "last_seen_run": run_id,
        "first_seen_at": now,
        "updated_at": now,
        **extra,
    }
