"""Plays the import state machine locally: list accounts, then per account call the import handler in a
loop of chunks until `done` (bounded concurrency, like the Map state's MaxConcurrency).

    from infra.local.import_runner import run_import
    results = run_import(["acc_1"], on_progress=print_progress)

The same handler runs in AWS; only the driver differs. `chunk_seconds` plays the Lambda timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from infra.local.console import progress_line, say, table
from infra.local.lambda_context import LocalContext

Progress = Callable[[dict[str, Any]], None]
MAX_CHUNKS = 10_000
MAX_RETRIES = 3


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


def show_progress(answer: dict[str, Any]) -> None:
    """One live line per chunk answer: phase, per-stream counts, API calls, quota left."""
    p = answer.get("progress") or {}
    counts = " ".join(
        f"{stream}+{c.get('created', 0)}~{c.get('updated', 0)}" for stream, c in (p.get("counters") or {}).items()
    )
    progress_line(
        f"import {answer.get('account_id')}: {answer.get('status')} phase {p.get('phase')} "
        f"({(p.get('phase_index') or 0) + 1}/{p.get('phases')}) calls {p.get('calls')} "
        f"quota/day left {p.get('quota_remaining_by_day')} | {counts}"
    )


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
