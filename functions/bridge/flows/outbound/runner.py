"""Runs one planned action exactly once through the ledger (F5).

Order of events for an action: claim (intent, under a lease) → if an earlier attempt may have reached
Sellsy, look for the marker and adopt what is found → otherwise call Sellsy → ledger ``done``.
Crash points are injectable (``Hooks``) so tests can stop a real worker run at each of them.

Errors are sorted in two families:
- permanent (Sellsy refused the payload, unknown SKU, prospect, missing target, file too large, an
  invoice that differs from its quote, a quote that is not converted on purpose): ledger ``failed``
  with the reason, the outcome says so (``skipped`` for a named skip), nothing is retried until a replay;
- transient (Sellsy unavailable, write outcome unknown, rate limited, another worker busy): the lease
  is released (or left to expire after a crash) and the error propagates so the queue retries.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bridge.adapters import ledger_repo
from bridge.adapters.reports_store import ReportProblem
from bridge.domain.triggers import OutboundRuleError, PlannedAction
from bridge.flows.outbound.actions import ACTIONS, ActionContext, Created
from bridge.flows.outbound.sellsy_ops import SellsyPort
from bridge.observability import logger
from bridge.sellsy.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    SellsyError,
    ValidationFailed,
)

Hook = Callable[[PlannedAction], None]
PERMANENT_SELLSY_ERRORS = (ValidationFailed, NotFound, Conflict, Forbidden, PayloadTooLarge)


def lease_seconds() -> int:
    """How long a claim protects an action; must stay below the queue's visibility timeout."""
    return int(os.environ.get("OUTBOUND_LEASE_SECONDS", ledger_repo.DEFAULT_LEASE_SECONDS))


@dataclass
class Hooks:
    """Crash-injection points (tests only; all no-ops by default)."""

    before_call: Hook | None = None
    after_call_before_ledger: Hook | None = None
    after_ledger: Hook | None = None

    def fire(self, name: str, planned: PlannedAction) -> None:
        hook = getattr(self, name)
        if hook is not None:
            hook(planned)


# The worker uses these; tests install crashing hooks here and remove them afterwards.
ACTIVE_HOOKS = Hooks()


@dataclass
class Outcome:
    action_key: str
    kind: str
    state: str  # done | failed | skipped
    sellsy_type: str | None = None
    sellsy_id: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    code: str | None = None
    adopted: bool = False
    already_done: bool = False
    request: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    duration_ms: float = 0.0


def _done_before(planned: PlannedAction, done: ledger_repo.AlreadyDone) -> Outcome:
    """The outcome of an action the ledger shows done already, with what that run created."""
    entry = done.entry
    return Outcome(
        planned.key,
        planned.kind,
        "done",
        sellsy_type=entry.sellsy_type,
        sellsy_id=entry.sellsy_id,
        links=entry.links,
        already_done=True,
    )


def _error_code(exc: Exception) -> str:
    if isinstance(exc, OutboundRuleError):
        return exc.code
    if isinstance(exc, ReportProblem):
        return "report_problem"
    if isinstance(exc, PayloadTooLarge):
        return "file_too_large"
    if isinstance(exc, SellsyError):
        return f"sellsy_{type(exc).__name__}".lower()
    return "error"


def _reason(exc: Exception) -> str:
    text = str(exc)
    details = getattr(exc, "details", None)
    if isinstance(exc, SellsyError) and details:
        text = f"{text} (details: {details})"
    return text


def run_action(
    sellsy: SellsyPort,
    *,
    account_id: str,
    intervention_id: str,
    planned: PlannedAction,
    mark: str,
    make_context: Callable[[Callable[[str, str], None]], ActionContext],
    hooks: Hooks | None = None,
) -> Outcome:
    hooks = hooks or ACTIVE_HOOKS
    action = ACTIONS[planned.kind]
    started = time.monotonic()
    try:
        entry, previous = ledger_repo.claim(
            account_id, intervention_id, planned.key, kind=planned.kind, marker=mark, lease_seconds=lease_seconds()
        )
    except ledger_repo.AlreadyDone as done:
        return _done_before(planned, done)

    def remember(sellsy_type: str, sellsy_id: str) -> None:
        ledger_repo.save_progress(
            account_id, intervention_id, planned.key, sellsy_type=sellsy_type, sellsy_id=sellsy_id
        )

    ctx = make_context(remember)
    ctx.since = entry.intent_at
    outcome = Outcome(planned.key, planned.kind, "done")
    try:
        outcome.request = action.request_summary(ctx)
        created: Created | None = None
        if entry.sellsy_id and entry.sellsy_type:
            # An earlier attempt created the object and stopped before its last step.
            # (Only invoices have such steps; the marker search brings back its links.)
            refound = action.find(sellsy, ctx)
            same = refound is not None and refound.sellsy_id == entry.sellsy_id
            created = refound if same else Created(entry.sellsy_type, entry.sellsy_id, links=entry.links)
        elif previous is not None:
            # An earlier attempt may have reached Sellsy without recording it: look before creating.
            created = action.find(sellsy, ctx)
            outcome.adopted = created is not None
        if created is None:
            hooks.fire("before_call", planned)
            created = action.create(sellsy, ctx)
            hooks.fire("after_call_before_ledger", planned)
        created = action.finish(sellsy, ctx, created)
        ledger_repo.mark_done(
            account_id,
            intervention_id,
            planned.key,
            sellsy_type=created.sellsy_type,
            sellsy_id=created.sellsy_id,
            links=created.links,
            adopted=outcome.adopted,
        )
        hooks.fire("after_ledger", planned)
    except ledger_repo.AlreadyDone as done:
        # A concurrent worker finished first (its lease had expired); its result stands.
        return _done_before(planned, done)
    except (OutboundRuleError, ReportProblem, *PERMANENT_SELLSY_ERRORS) as exc:
        # A named skip (nothing to create, on purpose) is kept apart from a failure; both wait for a replay.
        state = "skipped" if getattr(exc, "skip", False) else "failed"
        outcome.state, outcome.code, outcome.reason = state, _error_code(exc), _reason(exc)
        outcome.details = dict(getattr(exc, "details", None) or {})
        left: Created | None = getattr(exc, "created", None)
        if left is not None:  # the object exists in Sellsy and is left for a person: say which one
            outcome.sellsy_type, outcome.sellsy_id, outcome.links = left.sellsy_type, left.sellsy_id, left.links
        ledger_repo.mark_failed(account_id, intervention_id, planned.key, reason=outcome.reason, code=outcome.code)
        logger.warning(
            "outbound action failed",
            extra={"action_key": planned.key, "kind": planned.kind, "code": outcome.code, "field_id": intervention_id},
        )
    except SellsyError:
        # Transient (or reconnect needed): give the lease back so the retry can run at once.
        ledger_repo.release(account_id, intervention_id, planned.key)
        raise
    else:
        outcome.sellsy_type, outcome.sellsy_id, outcome.links = created.sellsy_type, created.sellsy_id, created.links
    finally:
        outcome.duration_ms = (time.monotonic() - started) * 1000
    return outcome
