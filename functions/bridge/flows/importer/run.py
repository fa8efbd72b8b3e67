"""One import chunk: advance an account's run page by page until done or the time budget nears its end.

The run state (phase, cursor, counters) is saved after every page, so a crash or timeout resumes from the
last checkpoint: nothing re-imported from zero, nothing skipped, nothing counted twice. The quota reserve
and a lost connection stop the run cleanly; the next chunk (next night) resumes the same run.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bridge.adapters import fx_rates, import_state
from bridge.domain.currency import BaseCurrencyConverter
from bridge.domain.masking import mask_text
from bridge.flows.importer import background, phases, reconciliation, sweeps
from bridge.flows.importer.outcome import publish_outcome
from bridge.flows.importer.summary import publish_summary
from bridge.observability import ContextThreadPool, logger
from bridge.sellsy.errors import Forbidden, NeedsReconnect, PaymentRequired, QuotaReserveReached, SellsyError

RUNNING, DONE = "running", "done"
QUOTA_RESERVE, NEEDS_RECONNECT, FAILED = "quota_reserve_reached", "needs_reconnect", "failed"
PLAN_LIMIT = "plan_limit_reached"  # a 402: the run stops and resumes later; the account stays active
STOPPED = (QUOTA_RESERVE, NEEDS_RECONNECT, PLAN_LIMIT, FAILED)
DEFAULT_MARGIN_MS = 120_000  # a page of details at a slow quota (~2.5 req/s) takes ~40 s
DETAIL_WORKERS = 6


@dataclass
class ImportDeps:
    client: Any  # SellsyClient (bridge.sellsy.client) or anything with get/iter_pages and .quota
    base_currency: str
    export_bucket: str | None
    converter: BaseCurrencyConverter | None = None
    on_page: Callable[[str, int], None] | None = None  # test hook: raise here to simulate a crash
    on_reconnect: Callable[[str, str], None] | None = None
    # Called when a run finishes with the scopes it lacked ({} when none): the account's health.
    on_missing_scopes: Callable[[str, dict[str, Any]], None] | None = None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def new_state(account_id: str, run_id: str, base_currency: str) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "run_id": run_id,
        "status": RUNNING,
        "started_at": now_iso(),
        "finished_at": None,
        "base_currency": base_currency,
        "phase": 0,
        "phase_name": phases.phase_names()[0],
        "cursor": {},
        "page_no": 0,
        "counters": {},
        "details": {},
        "exports": {},
        "calls": 0,
        "calls_429": 0,
        "quota_remaining_by_day": None,
        "chunks": 0,
        "active_seconds": 0.0,
        "error": None,
    }


def start_run(account_id: str, base_currency: str) -> dict[str, Any]:
    """The account's unfinished run if any (resume), else a new one recorded as current."""
    current = import_state.current_run_id(account_id)
    if current:
        state = import_state.load_run(account_id, current)
        if state is not None and state["status"] != DONE:
            return state
    run_id = new_run_id()
    state = import_state.save_run(new_state(account_id, run_id, base_currency))
    claimed = import_state.claim_current_run(account_id, run_id)
    if claimed != run_id:  # another chunk started a run first: continue that one
        other = import_state.load_run(account_id, claimed)
        if other is not None:
            return other
    return state


def run_chunk(
    account_id: str,
    deps: ImportDeps,
    *,
    run_id: str | None = None,
    remaining_ms: Callable[[], int] = lambda: 900_000,
    margin_ms: int = DEFAULT_MARGIN_MS,
    execution_arn: str | None = None,
) -> dict[str, Any]:
    """Work until done, stopped, or `remaining_ms()` < margin; returns the handler contract's answer.

    `execution_arn` names the state machine execution driving this chunk; it is kept on the run so that
    an on-demand start can tell whether the run is still being worked on."""
    state = _chunk_state(account_id, deps, run_id, execution_arn)
    if state["status"] == DONE:
        return answer(state)
    meter = _Meter(deps.client)
    converter = deps.converter or run_converter(state, deps.export_bucket)
    names = phases.phase_names()
    sweeps_phase = names.index("sweeps")
    state["chunks"] += 1
    # Reading position (may be one page ahead of the checkpoint while that page's writes run).
    ahead_phase, ahead_cursor, ahead_page = state["phase"], dict(state["cursor"]), state["page_no"]
    with (
        ContextThreadPool(max_workers=DETAIL_WORKERS, thread_name_prefix="import") as pool,
        ContextThreadPool(max_workers=1, thread_name_prefix="import-write") as writer,
        closing(background.BackgroundWork(account_id, state["run_id"], deps.export_bucket)) as tail,
    ):
        ctx = phases.Ctx(account_id, state["run_id"], deps.client, converter, now_iso, pool, deps.export_bucket)
        pages = _Settler(state, names, deps, meter, tail, writer)
        commit, on_swept = pages.commit, pages.on_swept
        try:
            while ahead_phase < len(names) and remaining_ms() >= margin_ms:
                if ahead_phase == sweeps_phase and not ahead_cursor:  # entering the phase
                    commit()
                    tail.finish(state, on_swept)  # the last phases do what the background did not
                try:
                    work = phases.PHASE_STEPS[names[ahead_phase]](state, ctx, ahead_cursor)
                except Forbidden as exc:
                    commit()  # the writer is idle: the state may change here
                    work = phases.skip_phase(state, names[ahead_phase], exc)
                commit()  # the previous page was settled while this one was read
                ahead_page += 1
                pages.submit(work, ahead_phase, ahead_page)
                if work.finished:
                    commit()  # the next phase may read what this one wrote
                    ahead_phase, ahead_cursor, ahead_page = ahead_phase + 1, {}, 0
                else:
                    ahead_cursor = work.cursor
            commit()
        except SellsyError as exc:
            commit()
            if isinstance(exc, NeedsReconnect) and deps.on_reconnect is not None:
                deps.on_reconnect(account_id, exc.message)
            return _stop(state, meter, _stop_status(exc), exc)
    if state["phase"] >= len(names):
        state = _finish(state, meter, deps.export_bucket)
        if deps.on_missing_scopes is not None:
            deps.on_missing_scopes(account_id, state.get("skipped") or {})
    return answer(state)


class _Settler:
    """The writer side of a chunk: each page's writes then the checkpoint just after it, on one thread.

    Only that thread changes the state while pages are read, and the reading never waits for a checkpoint;
    ``commit`` waits for the page in flight (and raises what its writes or its checkpoint raised)."""

    def __init__(
        self,
        state: dict[str, Any],
        names: list[str],
        deps: ImportDeps,
        meter: _Meter,
        tail: background.BackgroundWork,
        writer: ContextThreadPool,
    ) -> None:
        self._state, self._names, self._deps, self._meter = state, names, deps, meter
        self._tail, self._writer = tail, writer
        self._sweeps_phase = names.index("sweeps")
        self._pending: Future[None] | None = None

    def on_swept(self, shard: sweeps.Shard) -> None:
        if self._deps.on_page is not None:
            self._deps.on_page(*sweeps.hook_label(*shard))

    def submit(self, work: phases.PageWork, phase_index: int, page_no: int) -> None:
        self._pending = self._writer.submit(self._settle, work, phase_index, page_no)

    def commit(self) -> None:
        if self._pending is not None:
            future, self._pending = self._pending, None
            future.result()

    def _settle(self, work: phases.PageWork, phase_index: int, page_no: int) -> None:
        state = self._state
        if work.write is not None:
            work.write(state, f"{phase_index:02d}-{page_no:06d}")
        if self._deps.on_page is not None:
            self._deps.on_page(*(work.label or (self._names[phase_index], page_no)))
        _advance(state, self._names, work, phase_index, page_no)
        # Up to the last listing's checkpoint: the sweeps phase then waits for all of it (see run_chunk).
        self._tail.advance(state, self._names, self.on_swept, start=state["phase"] <= self._sweeps_phase)
        _checkpoint(state, self._meter)


def _advance(state: dict[str, Any], names: list[str], work: phases.PageWork, phase_index: int, page_no: int) -> None:
    """The checkpoint's position just after a settled page (the next phase's start after its last page)."""
    if work.finished:
        state["phase"], state["cursor"], state["page_no"] = phase_index + 1, {}, 0
    else:
        state["phase"], state["cursor"], state["page_no"] = phase_index, work.cursor, page_no
    state["phase_name"] = names[min(state["phase"], len(names) - 1)]


def _chunk_state(account_id: str, deps: ImportDeps, run_id: str | None, execution_arn: str | None) -> dict[str, Any]:
    """The run this chunk works on: the one named, else a new or the unfinished one; a stopped run resumes."""
    loaded = import_state.load_run(account_id, run_id) if run_id else None
    state: dict[str, Any] = loaded if loaded is not None else start_run(account_id, deps.base_currency)
    if state["status"] == DONE:
        return state
    if state["status"] in STOPPED:
        state = {**state, "status": RUNNING, "error": None}  # a new chunk resumes a stopped run
    if execution_arn and state.get("execution_arn") != execution_arn:
        # Saved at once: an on-demand start must see that this execution works on the run.
        state = import_state.save_run({**state, "execution_arn": execution_arn})
    return state


def _stop_status(exc: SellsyError) -> str:
    """The status a run stops with after ``exc``: waiting for quota, plan, reconnection, or failed."""
    if isinstance(exc, QuotaReserveReached):
        return QUOTA_RESERVE
    if isinstance(exc, PaymentRequired):
        return PLAN_LIMIT
    if isinstance(exc, NeedsReconnect):
        return NEEDS_RECONNECT
    return FAILED


def run_converter(state: dict[str, Any], bucket: str | None) -> BaseCurrencyConverter:
    """The run's first chunk refreshes the ECB file and records which one it got; every chunk of the run
    then converts with that same file."""
    if not state.get("rates"):
        state["rates"] = fx_rates.refresh_rates(bucket, fx_rates.rates_url(), datetime.now(UTC).date())
        logger.info("import rates", extra={"account_id": state["account_id"], "rates": state["rates"]})
    return BaseCurrencyConverter(state["base_currency"], fx_rates.load_rates(state["rates"], bucket))


class _Meter:
    """Calls and active time since the last checkpoint, added to the run state at each checkpoint."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._calls = _calls(client)
        self._started = time.monotonic()

    def account(self, state: dict[str, Any]) -> None:
        calls, r429, remaining = _calls(self._client)
        state["calls"] += calls - self._calls[0]
        state["calls_429"] += r429 - self._calls[1]
        state["quota_remaining_by_day"] = remaining
        state["active_seconds"] = round(state["active_seconds"] + time.monotonic() - self._started, 3)
        self._calls, self._started = (calls, r429, remaining), time.monotonic()


def _calls(client: Any) -> tuple[int, int, int | None]:
    stats = getattr(getattr(client, "quota", None), "stats", None)
    if stats is None:
        return 0, 0, None
    return stats.calls, stats.responses_429, stats.remaining.get("day")


def _checkpoint(state: dict[str, Any], meter: _Meter) -> None:
    meter.account(state)
    state["version"] = import_state.save_run(state)["version"]


def _stop(state: dict[str, Any], meter: _Meter, status: str, exc: SellsyError) -> dict[str, Any]:
    """Keep the last checkpoint's cursor: the page in progress is redone by the next chunk."""
    saved = import_state.load_run(state["account_id"], state["run_id"]) or state
    saved = {**saved, "status": status, "error": exc.to_dict()}
    meter.account(saved)
    saved = import_state.save_run(saved)
    publish_outcome(saved)
    return answer(saved)


def record_failure(
    account_id: str, run_id: str | None, *, error: str, cause: str, execution_arn: str | None = None
) -> dict[str, Any]:
    """A chunk failed beyond its retries (the state machine caught it): mark the run failed, say so.

    The run keeps its last checkpoint, so the next start resumes it."""
    reason = {"type": error, "message": mask_text(_cause_message(cause))[:500]}
    run_id = run_id or import_state.current_run_id(account_id)
    state = import_state.load_run(account_id, run_id) if run_id else None
    for _ in range(3):
        if state is None or state["status"] == DONE:
            break
        try:
            arn = execution_arn or state.get("execution_arn")
            state = import_state.save_run({**state, "status": FAILED, "error": reason, "execution_arn": arn})
            break
        except import_state.CheckpointConflict:  # a late checkpoint of the failed chunk: read it again
            state = import_state.load_run(account_id, str(run_id))
    publish_outcome({"account_id": account_id, "run_id": run_id, "status": FAILED, "error": reason})
    return {
        "account_id": account_id,
        "run_id": run_id,
        "done": False,
        "status": FAILED,
        "error": error,
        "cause": reason["message"],
    }


def _cause_message(cause: str) -> str:
    """Step Functions gives a Lambda error's cause as JSON (errorMessage, errorType, stackTrace)."""
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    return str(parsed.get("errorMessage") or cause) if isinstance(parsed, dict) else cause


def _finish(state: dict[str, Any], meter: _Meter, export_bucket: str | None) -> dict[str, Any]:
    state = {**state, "status": DONE, "finished_at": now_iso()}
    meter.account(state)
    if export_bucket:  # before the summary, which lists it among the exports
        report = reconciliation.report_of(state)
        entry = reconciliation.put_report(export_bucket, state["account_id"], state["run_id"], report)
        state["exports"] = {**state.get("exports", {}), "reconciliation": entry}
    state["summary"] = publish_summary(state)
    state = import_state.save_run(state)
    publish_outcome(state)
    if import_state.current_run_id(state["account_id"]) == state["run_id"]:
        import_state.set_current_run(state["account_id"], None)
    return state


def progress(state: dict[str, Any]) -> dict[str, Any]:
    names = phases.phase_names()
    return {
        "phase": state.get("phase_name"),
        "phase_index": state.get("phase"),
        "phases": len(names),
        "page": state.get("page_no"),
        "counters": state.get("counters", {}),
        "details": state.get("details", {}),
        "calls": state.get("calls", 0),
        "calls_429": state.get("calls_429", 0),
        "quota_remaining_by_day": state.get("quota_remaining_by_day"),
        "chunks": state.get("chunks", 0),
        "skipped": state.get("skipped", {}),
        "error": state.get("error"),
        "reconciliation": reconciliation.brief(state),
    }


def answer(state: dict[str, Any]) -> dict[str, Any]:
    status = state["status"]
    return {
        "account_id": state["account_id"],
        "run_id": state["run_id"],
        "done": status != RUNNING,
        "status": status,
        "progress": progress(state),
    }
