"""`make run`'s import progress: one update per page read from the run's checkpoints, in plain words."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from bridge.flows.importer.run import new_state
from infra.local.import_runner import progress_text, watch_checkpoints


def _answer(status: str, phase_index: int, page: int, counters: dict[str, Any], **extra: Any) -> dict[str, Any]:
    progress = {"phase": "invoices", "phase_index": phase_index, "phases": 14, "page": page, "calls": 1234}
    return {"account_id": "demo", "status": status, "progress": {**progress, "counters": counters, **extra}}


def test_the_line_says_phase_page_and_counts_in_words() -> None:
    counters = {"invoices": {"created": 12, "updated": 3}, "customers": {"created": 1500, "unchanged": 2}}
    line = progress_text(_answer("running", 4, 2, counters, quota_remaining_by_day=98765))
    assert line == (
        "import demo: phase 5/14 invoices, page 2 | invoices 12 new, 3 changed"
        " | all streams 1,512 new, 3 changed | 1,234 Sellsy calls, 98,765 left today"
    )


def test_a_finished_run_never_counts_past_the_last_phase() -> None:
    line = progress_text(_answer("done", 14, 0, {"invoices": {"created": 5}}))
    assert line.startswith("import demo: done, 14 phases | all streams 5 new, 0 changed")
    assert "15/14" not in line


def test_a_stopped_run_says_why_and_where() -> None:
    line = progress_text(_answer("quota_reserve_reached", 4, 7, {}))
    assert line.startswith("import demo: quota_reserve_reached at phase 5/14 invoices, page 7 |")


def test_every_checkpoint_saved_while_a_chunk_runs_is_reported(aws: Any) -> None:
    from bridge.adapters import import_state

    account_id, run_id = f"progress-{uuid.uuid4().hex[:8]}", "20260101T000000Z-abc123"
    seen: list[tuple[int, int]] = []
    reported = threading.Condition()

    def on_progress(answer: dict[str, Any]) -> None:
        with reported:
            seen.append((answer["progress"]["phase_index"], answer["progress"]["page"]))
            reported.notify_all()

    state = new_state(account_id, run_id, "EUR")
    with watch_checkpoints(account_id, None, on_progress):  # no run id yet: found as the current run
        import_state.claim_current_run(account_id, run_id)
        for phase, page in [(0, 0), (4, 1), (4, 2), (5, 1)]:
            state = import_state.save_run({**state, "phase": phase, "page_no": page})
            with reported:
                assert reported.wait_for(lambda p=(phase, page): p in seen, timeout=10), seen
    time.sleep(0.3)
    assert seen == [(0, 0), (4, 1), (4, 2), (5, 1)]  # each page once, in order; nothing after the chunk
