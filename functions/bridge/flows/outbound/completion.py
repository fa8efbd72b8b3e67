"""Intervention completed → Sellsy (F5).

Two halves:
- ``accept_completion`` (API, fast): validates, stores the completion on the intervention, enqueues
  ``intervention.completed``. A second completion with the same content is accepted again (202, the
  message is re-sent: the ledger makes that harmless, and it recovers a lost first enqueue); with
  different content it is a conflict (409) — the first report stands.
- ``run_completion`` (worker): renders the report if none was uploaded, runs every action of every
  matching trigger through the ledger, records one exchange per action, writes the created objects'
  deep links back on the intervention and schedules the next recurring intervention.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from bridge.adapters import accounts_repo, field_repo, queue, reports_store
from bridge.adapters.ledger_repo import ActionBusy
from bridge.domain.accounts import Account
from bridge.domain.interventions import Intervention
from bridge.domain.triggers import action_summary, invoicing_hold, is_invoicing, marker, plan_actions
from bridge.flows.exchange_log import record_exchange
from bridge.flows.inbound import recurrence
from bridge.flows.outbound.actions import ActionContext
from bridge.flows.outbound.models import CompletionRequest
from bridge.flows.outbound.runner import Hooks, Outcome, run_action
from bridge.flows.outbound.sellsy_ops import SellsyPort
from bridge.sellsy.errors import NeedsReconnect, PaymentRequired, SellsyError

KIND = "intervention.completed"


class UnknownAccount(LookupError):
    pass


class UnknownIntervention(LookupError):
    pass


class CompletionConflict(RuntimeError):
    pass


@dataclass(frozen=True)
class CompletionAccepted:
    intervention_id: str
    correlation_id: str
    already_completed: bool
    report: str  # "uploaded" | "generated"


def _load(account_id: str, intervention_id: str) -> tuple[Account, Intervention]:
    account = accounts_repo.get_account(account_id)
    if account is None:
        raise UnknownAccount(f"account {account_id!r} does not exist")
    intervention = field_repo.get_intervention(account_id, intervention_id)
    if intervention is None:
        raise UnknownIntervention(f"intervention {intervention_id!r} does not exist in account {account_id!r}")
    return account, intervention


def accept_completion(
    account_id: str, intervention_id: str, request: CompletionRequest, *, correlation_id: str
) -> CompletionAccepted:
    """Raises UnknownAccount/UnknownIntervention (404), ReportProblem (400), CompletionConflict (409)."""
    _, intervention = _load(account_id, intervention_id)
    if request.report_key:
        reports_store.inspect(account_id, intervention_id, request.report_key)
    fingerprint = request.fingerprint()
    if intervention.status == "cancelled":
        raise CompletionConflict(f"intervention {intervention_id} is cancelled; it cannot be completed")
    previous = (getattr(intervention, "completion", None) or {}) if intervention.status == "completed" else None
    if previous is not None and previous.get("fingerprint") != fingerprint:
        raise CompletionConflict(
            f"intervention {intervention_id} was already completed with other data; the first completion stands"
        )
    if previous is None:
        completed_at = (request.completed_at or datetime.now(UTC)).isoformat()

        def complete(current: Intervention) -> Intervention | None:
            if current.status == "completed":
                return None  # a concurrent identical call got there first
            data = current.model_dump()
            data.update(
                status="completed",
                completed_at=completed_at,
                technician=request.technician,
                used_items=[item.model_dump(mode="json", exclude_none=True) for item in request.used_items],
                notes=request.notes,
                work_done=request.work_done,
                report_key=request.report_key,
                completion={
                    "fingerprint": fingerprint,
                    "accepted_at": datetime.now(UTC).isoformat(),
                    "correlation_id": correlation_id,
                    "force": request.force,
                },
            )
            return Intervention.model_validate(data)

        stored = field_repo.update_intervention(account_id, intervention_id, complete)
        done = getattr(stored, "completion", None) or {}
        if done.get("fingerprint") != fingerprint:
            raise CompletionConflict(f"intervention {intervention_id} was completed concurrently with other data")
    elif request.force and not previous.get("force"):
        _force(account_id, intervention_id)
    queue.enqueue(
        {
            "kind": KIND,
            "account_id": account_id,
            "correlation_id": correlation_id,
            "payload": {"intervention_id": intervention_id},
        }
    )
    record_exchange(
        account_id=account_id,
        direction="outbound",
        kind="completion_accepted",
        status="ok",
        field_id=intervention_id,
        correlation_id=correlation_id,
        request={
            "used_items": len(request.used_items),
            "report": "uploaded" if request.report_key else "generated",
            "repeat": previous is not None,
            "force": request.force,
        },
    )
    return CompletionAccepted(
        intervention_id=intervention_id,
        correlation_id=correlation_id,
        already_completed=previous is not None,
        report="uploaded" if request.report_key else "generated",
    )


def _force(account_id: str, intervention_id: str) -> None:
    """The same completion sent again with ``force``: a held invoice may now be made (never taken back)."""

    def force(current: Intervention) -> Intervention | None:
        completion = dict(getattr(current, "completion", None) or {})
        if completion.get("force"):
            return None
        data = current.model_dump()
        data["completion"] = {**completion, "force": True, "forced_at": datetime.now(UTC).isoformat()}
        return Intervention.model_validate(data)

    field_repo.update_intervention(account_id, intervention_id, force)


# --- worker --------------------------------------------------------------------------------------


@dataclass
class CompletionResult:
    intervention_id: str
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: str | None = None

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.state == "failed"]


def _report_loader(account_id: str, intervention: dict[str, Any]) -> tuple[str, Callable[[], bytes]]:
    """The uploaded report, or one rendered now and kept in S3 (same key on every retry)."""
    key = intervention.get("report_key")
    if key:

        def load_uploaded() -> bytes:
            try:
                return reports_store.read(str(key))
            except ClientError as exc:  # deleted or expired since the completion was accepted
                raise reports_store.ReportProblem(f"uploaded report {key!r} can no longer be read") from exc

        return str(key), load_uploaded
    generated = reports_store.generated_key(account_id, str(intervention["id"]))
    cache: dict[str, bytes] = {}

    def load() -> bytes:
        if "pdf" not in cache:
            if reports_store.exists(generated):
                cache["pdf"] = reports_store.read(generated)
            else:
                # Imported here: fpdf costs ~1 s of import, which only the worker (never the API) should pay.
                from bridge.domain.report_pdf import render_report

                cache["pdf"] = render_report(intervention)
                reports_store.write(generated, cache["pdf"])
        return cache["pdf"]

    return generated, load


def default_client(account: Account) -> SellsyPort:
    from bridge.sellsy.factory import client_for_account

    return client_for_account(account.id)


def run_completion(
    message: dict[str, Any],
    *,
    sellsy: SellsyPort | None = None,
    hooks: Hooks | None = None,
) -> CompletionResult:
    account_id = str(message["account_id"])
    intervention_id = queue.payload_of(message, queue.CompletionPayload).intervention_id
    correlation_id = message.get("correlation_id")
    result = CompletionResult(intervention_id)
    account = accounts_repo.get_account(account_id)
    intervention = field_repo.get_intervention(account_id, intervention_id) if intervention_id else None
    if account is None or intervention is None or intervention.status != "completed":
        result.skipped = (
            "unknown account"
            if account is None
            else "unknown intervention"
            if intervention is None
            else f"intervention is {intervention.status}, not completed"
        )
        record_exchange(
            account_id=account_id,
            direction="outbound",
            kind="completion_skipped",
            status="skipped",
            field_id=intervention_id or None,
            reason=result.skipped,
            correlation_id=correlation_id,
        )
        return result
    if not account.can_sync:
        result.skipped = f"account is {account.status}"
        record_exchange(
            account_id=account_id,
            direction="outbound",
            kind="completion_skipped",
            status="failed",
            field_id=intervention_id,
            reason=f"{result.skipped}: reconnect, then replay",
            correlation_id=correlation_id,
            replay=queue.replayable(message),
        )
        return result

    data = intervention.model_dump(mode="json")
    report_key, load_report = _report_loader(account_id, data)
    planned = plan_actions(account.settings.triggers, data)
    client = sellsy if sellsy is not None else default_client(account)
    retry_later: Exception | None = None
    hold = invoicing_hold(data)
    for action in planned:
        mark = marker(intervention_id, action.trigger, action.index)
        if hold and is_invoicing(action.action):
            # Held before the ledger: nothing is claimed, so a forced completion later runs it as new.
            held = Outcome(action.key, action.kind, "skipped", reason=hold, code="intervention_flagged")
            result.outcomes.append(held)
            _log_outcome(account_id, intervention_id, action_summary(action.action), held, message, correlation_id)
            continue

        def make_context(remember: Callable[[str, str], None], action: Any = action, mark: str = mark) -> ActionContext:
            return ActionContext(account, data, action, mark, load_report, remember)

        try:
            outcome = run_action(
                client,
                account_id=account_id,
                intervention_id=intervention_id,
                planned=action,
                mark=mark,
                make_context=make_context,
                hooks=hooks,
            )
        except NeedsReconnect as exc:
            accounts_repo.mark_needs_reconnect(account_id, str(exc))
            _log_action_error(account_id, intervention_id, action.key, action.kind, exc, message, correlation_id)
            retry_later = None
            break
        except (SellsyError, ActionBusy) as exc:
            # Transient: the other actions still run; the message is retried for this one.
            _log_action_error(account_id, intervention_id, action.key, action.kind, exc, message, correlation_id)
            if isinstance(exc, PaymentRequired):  # a plan limit: shown on the account, which stays active
                accounts_repo.note_plan_limit(account_id, action.kind, exc.message)
            retry_later = retry_later or exc
            continue
        except Exception as exc:  # a crash: logged, the queue retries the whole message
            _log_action_error(account_id, intervention_id, action.key, action.kind, exc, message, correlation_id)
            raise
        result.outcomes.append(outcome)
        if not outcome.already_done:
            _log_outcome(account_id, intervention_id, action_summary(action.action), outcome, message, correlation_id)
    _link_back(account_id, intervention_id, result.outcomes, report_key)
    if retry_later is not None:
        raise retry_later
    _schedule_next(account_id, intervention_id)
    return result


def _log_outcome(
    account_id: str,
    intervention_id: str,
    config: dict[str, Any],
    outcome: Outcome,
    message: dict[str, Any],
    correlation_id: str | None,
) -> None:
    record_exchange(
        account_id=account_id,
        direction="outbound",
        kind=f"action_{outcome.kind}",
        status={"done": "ok", "skipped": "skipped"}.get(outcome.state, "failed"),
        sellsy_type=outcome.sellsy_type,
        sellsy_id=outcome.sellsy_id,
        field_id=intervention_id,
        reason=outcome.reason or ("adopted the object found by its marker" if outcome.adopted else None),
        request={**config, **outcome.request, "action_key": outcome.action_key},
        response={"state": outcome.state, "code": outcome.code, "links": outcome.links, **outcome.details},
        duration_ms=outcome.duration_ms,
        correlation_id=correlation_id,
        replay=queue.replayable(message) if outcome.state == "failed" else None,
    )


def _log_action_error(
    account_id: str,
    intervention_id: str,
    key: str,
    kind: str,
    exc: Exception,
    message: dict[str, Any],
    correlation_id: str | None,
) -> None:
    reason = f"{type(exc).__name__}: {exc}; the message will be retried"
    record_exchange(
        account_id=account_id,
        direction="outbound",
        kind=f"action_{kind}",
        status="failed",
        field_id=intervention_id,
        reason=reason,
        request={"action_key": key},
        correlation_id=correlation_id,
        replay=queue.replayable(message),
    )


def _link_back(account_id: str, intervention_id: str, outcomes: list[Outcome], report_key: str) -> None:
    """The intervention keeps what each action produced: deep links to the invoice and the files."""
    if not outcomes:
        return
    actions = {
        o.action_key: {
            "kind": o.kind,
            "state": o.state,
            "sellsy_type": o.sellsy_type,
            "sellsy_id": o.sellsy_id,
            "links": o.links,
            "reason": o.reason,
        }
        for o in outcomes
    }
    links: dict[str, Any] = {}
    for o in outcomes:
        if o.state != "done":
            continue
        if "invoice" in o.links:
            links.setdefault("invoices", []).append(o.links["invoice"])
        if "file" in o.links:
            links.setdefault("files", []).append(o.links["file"])

    def change(current: Intervention) -> Intervention | None:
        data = current.model_dump()
        before = (data.get("outbound"), data.get("sellsy_links"), data.get("report_key_used"))
        merged = {**(data.get("outbound") or {}), **actions}
        data.update(outbound=merged, sellsy_links=links or data.get("sellsy_links") or {}, report_key_used=report_key)
        if before == (data["outbound"], data["sellsy_links"], data["report_key_used"]):
            return None
        return Intervention.model_validate(data)

    field_repo.update_intervention(account_id, intervention_id, change)


def _schedule_next(account_id: str, intervention_id: str) -> None:
    """F4: a completed intervention whose customer carries a recurring tag gets its follow-up."""
    recurrence.schedule_next(account_id, intervention_id)
