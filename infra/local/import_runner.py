"""Plays the import state machine locally: list accounts, then per account call the import handler in a
loop of chunks until `done` (bounded concurrency, like the Map state's MaxConcurrency).

    from infra.local.import_runner import run_import
    results = run_import(["acc_1"], on_progress=print_progress)

The same handler runs in AWS; only the driver differs. `chunk_seconds` plays the Lambda timeout.
`on_progress` gets every chunk's answer and, while a chunk runs, the run's state after each page (read
from the checkpoint the chunk saves after every page, as an operator would read it in AWS).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from infra.local.console import progress_line, say, table
from infra.local.lambda_context import LocalContext

Progress = Callable[[dict[str, Any]], None]
MAX_CHUNKS = 10_000
MAX_RETRIES = 3
WATCH_SECONDS = 0.25  # how often a running chunk's checkpoint is read for the progress display


def _handler() -> Any:
    from bridge.handlers.import_step import lambda_handler

    return lambda_handler


def list_accounts() -> list[str]:
    answer = _handler()({"action": "list_accounts"}, LocalContext("import"))
    return [entry["account_id"] for entry in answer["accounts"]]


def run_account(
    account_id: str, *, on_progress: Progress | None = None, chunk_seconds: float = 900.0
) -> dict[str, Any]:
    handler = _handler()
    run_id = None
    answer: dict[str, Any] = {}
    failures = 0
    for _ in range(MAX_CHUNKS):
        event = {"action": "chunk", "account_id": account_id, **({"run_id": run_id} if run_id else {})}
        try:
            with watch_checkpoints(account_id, run_id, on_progress):
                answer = handler(event, LocalContext("import", timeout_seconds=chunk_seconds))
        except Exception:  # like the state machine's Retry: the next chunk resumes from the checkpoint
            failures += 1
            if failures > MAX_RETRIES:
                raise
            time.sleep(min(2.0**failures, 10.0))
            continue
        failures = 0
        run_id = answer.get("run_id") or run_id
        if on_progress is not None:
            on_progress(answer)
        if answer.get("done"):
            return answer
    return answer


@contextmanager
def watch_checkpoints(account_id: str, run_id: str | None, on_progress: Progress | None) -> Iterator[None]:
    """While the body runs, report the run's saved state each time it reaches a new page."""
    if on_progress is None:
        yield
        return
    from bridge.adapters import import_state
    from bridge.flows.importer.run import answer

    stop = threading.Event()

    def watch() -> None:
        seen = None
        while not stop.wait(WATCH_SECONDS):
            try:
                current = run_id or import_state.current_run_id(account_id)
                state = import_state.load_run(account_id, current) if current else None
            except Exception:  # only the display is lost; the chunk's own answer still comes
                return
            if state is None:
                continue
            position = (state.get("phase"), state.get("page_no"), state.get("status"))
            if position != seen:
                seen = position
                on_progress(answer(state))

    watcher = threading.Thread(target=watch, name=f"import-progress-{account_id}", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


def run_import(
    account_ids: list[str] | None = None,
    *,
    on_progress: Progress | None = None,
    max_concurrency: int = 2,
    chunk_seconds: float = 900.0,
) -> dict[str, dict[str, Any]]:
    ids = list_accounts() if account_ids is None else account_ids
    with ThreadPoolExecutor(max_workers=max(1, max_concurrency)) as pool:
        answers = pool.map(lambda a: run_account(a, on_progress=on_progress, chunk_seconds=chunk_seconds), ids)
        return dict(zip(ids, answers, strict=True))


def progress_text(answer: dict[str, Any]) -> str:
    """One line: where the run is (phase, page), what it found so far, Sellsy calls and quota left."""
    p = answer.get("progress") or {}
    phases = p.get("phases") or 0
    phase_no = min((p.get("phase_index") or 0) + 1, phases)  # past the last phase once done
    status = answer.get("status")
    if status == "done":
        where = f"done, {phases} phases"
    else:
        where = f"phase {phase_no}/{phases} {p.get('phase')}" + (f", page {p['page']}" if p.get("page") else "")
        if status != "running":
            where = f"{status} at {where}"
    counters = p.get("counters") or {}
    parts = [f"import {answer.get('account_id')}: {where}"]
    stream = str(p.get("phase") or "").split(":")[0]
    if status != "done" and stream in counters:
        parts.append(f"{stream} {_counts(counters[stream])}")
    parts.append(f"all streams {_counts(_total(counters.values()))}")
    quota = p.get("quota_remaining_by_day")
    parts.append(f"{p.get('calls', 0):,} Sellsy calls" + (f", {quota:,} left today" if quota is not None else ""))
    return " | ".join(parts)


def _total(counters: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for counts in counters:
        for outcome, n in counts.items():
            total[outcome] = total.get(outcome, 0) + n
    return total


def _counts(counts: dict[str, int]) -> str:
    return f"{counts.get('created', 0):,} new, {counts.get('updated', 0):,} changed"


def show_progress(answer: dict[str, Any]) -> None:
    """The live progress line (rewritten in place on a terminal, one line per update otherwise)."""
    progress_line(progress_text(answer))


def show_summary(answers: dict[str, dict[str, Any]]) -> None:
    say()
    for account_id, answer in answers.items():
        p = answer.get("progress") or {}
        say(f"import {account_id}: {answer.get('status')} run {answer.get('run_id')} calls {p.get('calls')}")
        rows = [
            [
                stream,
                c.get("created", 0),
                c.get("updated", 0),
                c.get("unchanged", 0),
                c.get("locked_skipped", 0),
                c.get("not_seen", 0),
            ]
            for stream, c in sorted((p.get("counters") or {}).items())
        ]
        table(rows, ["stream", "created", "updated", "unchanged", "locked-skipped", "not seen"])
        if p.get("reconciliation"):
            from bridge.flows.importer.reconciliation import headline

            say(headline(p["reconciliation"]))
