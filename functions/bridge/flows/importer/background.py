"""The run's DynamoDB and S3 tail work, done early on background threads while later phases read Sellsy.

None of it waits on Sellsy's quota, so none of it need wait for its phase: a stream's shards are swept as
soon as the phase listing it is checkpointed (see sweeps.py), and once nothing more writes a stream (listed
and every shard of the sweep that flags it swept) its export is joined and its snapshot written shard by
shard.
Only the last stream's tail is left after the last Sellsy call.

Jobs start in the order they were queued, a few at a time (their DynamoDB and S3 calls mostly wait on
the network). Their results are applied to the run state by the
run driver only, at checkpoints, so the state is never written from two threads. A job done but not
checkpointed (crash, end of chunk) is done again: a sweep flags nothing twice, a snapshot part is replaced
whole, and joining an export whose parts are gone keeps the object already joined.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from bridge.adapters import records_repo
from bridge.domain import revenue
from bridge.flows.importer import export, snapshot, sweeps
from bridge.observability import ContextThreadPool

SWEEP, EXPORT, SNAPSHOT = "sweep", "export", "snapshot"
Job = tuple[str, str, int]  # (kind, stream, shard: 0 for an export)


def flagged_by(stream: str) -> tuple[str, str]:
    """(listing phase, swept stream) after which nothing writes ``stream`` (lines: their documents' sweep)."""
    for phase, listed in sweeps.LISTED_BY.items():
        for swept in listed:
            if stream in (swept, revenue.LINE_STREAM.get(swept)):
                return phase, swept
    raise KeyError(stream)


def listed(state: dict[str, Any], names: list[str], stream: str) -> bool:
    """Whether the phase listing the stream is checkpointed: what is left to write it is its sweep."""
    return flagged_by(stream)[0] in names[: state["phase"]]


def unswept(state: dict[str, Any], stream: str) -> list[int]:
    """Shards of the sweep that flags ``stream`` not swept yet (none when its listing was skipped)."""
    phase, swept = flagged_by(stream)
    if phase in (state.get("skipped") or {}):
        return []
    done = (state.get("swept") or {}).get(swept, [])
    return [shard for shard in range(records_repo.SHARDS) if shard not in done]


def exported(state: dict[str, Any], stream: str) -> bool:
    return stream in (state.get("exports") or {})


def snapshot_done(state: dict[str, Any], stream: str, shard: int) -> bool:
    shards = ((state.get("snapshots") or {}).get(stream) or {}).get("shards") or {}
    return str(shard) in shards


def due_outputs(state: dict[str, Any], names: list[str]) -> list[Job]:
    """Exports to join and snapshot parts to write, of the listed streams, not done yet (each waits for
    its stream's sweep, see ``unswept``)."""
    jobs: list[Job] = []
    for stream in revenue.STREAMS:
        if not listed(state, names, stream):
            continue
        if not exported(state, stream):
            jobs.append((EXPORT, stream, 0))
        jobs.extend((SNAPSHOT, stream, s) for s in range(records_repo.SHARDS) if not snapshot_done(state, stream, s))
    return jobs


class BackgroundWork:
    """Queues every due job at each checkpoint on ``WORKERS`` threads: sweeps first, then the outputs of the
    listed streams, each output waiting for the sweep jobs of its stream (queued before it, so started
    before it: no worker waits on a job that cannot start)."""

    WORKERS = 3

    def __init__(self, account_id: str, run_id: str, export_bucket: str | None) -> None:
        self._account_id, self._run_id = account_id, run_id
        self._export_bucket = export_bucket
        self._pool = ContextThreadPool(max_workers=self.WORKERS, thread_name_prefix="import-background")
        self._queued: dict[Job, Future[Any]] = {}  # in queue order

    def advance(
        self,
        state: dict[str, Any],
        names: list[str],
        on_swept: Callable[[sweeps.Shard], None],
        *,
        start: bool = True,
    ) -> None:
        """Apply the finished jobs, then queue the due ones not queued yet (when ``start``)."""
        for job in [job for job, future in self._queued.items() if future.done()]:
            self._apply(state, job, on_swept)
        if not start:
            return
        since = state["started_at"][:10]
        for stream, shard in sweeps.due(state, names):
            args = (self._account_id, self._run_id, since, self._export_bucket, stream, shard)
            self._queue((SWEEP, stream, shard), [], sweeps.sweep_shard, *args)
        if self._export_bucket:
            for job in due_outputs(state, names):
                swept = flagged_by(job[1])[1]
                waits = [self._queued[(SWEEP, swept, shard)] for shard in unswept(state, job[1])]
                self._queue(job, waits, *self._output(job))

    def finish(self, state: dict[str, Any], on_swept: Callable[[sweeps.Shard], None]) -> None:
        """Wait for every queued job and apply it; queue nothing new."""
        for job in list(self._queued):
            self._queued[job].result()
            self._apply(state, job, on_swept)

    def close(self) -> None:
        """Drop the jobs not started (the next chunk queues them again); wait for the ones running."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _queue(self, job: Job, waits: list[Future[Any]], fn: Callable[..., Any], *args: Any) -> None:
        if job not in self._queued:
            self._queued[job] = self._pool.submit(_after, waits, fn, *args)

    def _output(self, job: Job) -> tuple[Any, ...]:
        kind, stream, shard = job
        bucket = str(self._export_bucket)
        if kind == EXPORT:
            return export.join_parts, bucket, self._account_id, self._run_id, stream
        return snapshot.write_shard, bucket, self._account_id, stream, shard

    def _apply(self, state: dict[str, Any], job: Job, on_swept: Callable[[sweeps.Shard], None]) -> None:
        result = self._queued.pop(job).result()
        kind, stream, shard = job
        if kind == SWEEP:
            sweeps.record(state, stream, shard, result)
            on_swept((stream, shard))
        elif kind == EXPORT:
            state.setdefault("exports", {})[stream] = result
        else:
            snapshot.record(state, stream, shard, result)


def _after(waits: list[Future[Any]], fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` once every job in ``waits`` is done (raising what the first failed one raised)."""
    for future in waits:
        future.result()
    return fn(*args)
