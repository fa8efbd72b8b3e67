"""Sweeps: records of a fully listed stream that this run did not see are flagged, never deleted.

A sweep reads and writes only DynamoDB, so it need not wait for its turn: as soon as the phase that
lists a stream is checkpointed, the stream's shards are swept one by one in the background (see
background.py) while the next phases wait on Sellsy's quota. The run state lists the swept shards
(``state["swept"]``); the ``sweeps`` phase finishes whatever is left before the exports are joined.
A shard swept but not yet checkpointed (crash, end of chunk) is swept again: flagging is a conditional
write, so the redo flags nothing twice and counts nothing twice.
"""

from __future__ import annotations

from typing import Any

from bridge.adapters import records_repo
from bridge.domain import revenue
from bridge.flows.importer import export

# The phase whose listing marks a stream's records as seen in this run (customers: the later of their two).
LISTED_BY: dict[str, tuple[str, ...]] = {
    "customers:individual": (revenue.CUSTOMERS,),
    "products": (revenue.PRODUCTS, revenue.PRICES),
    "invoices": (revenue.INVOICES,),
    "credit_notes": (revenue.CREDIT_NOTES,),
}
SWEPT_STREAMS = tuple(stream for streams in LISTED_BY.values() for stream in streams)
Shard = tuple[str, int]  # (stream, shard number)


def due(state: dict[str, Any], names: list[str], taken: list[str] | tuple[str, ...] = ()) -> list[Shard]:
    """Shards whose listing phase is checkpointed (not skipped), not swept yet, and not in ``taken``."""
    checkpointed = set(names[: state["phase"]]) - set(state.get("skipped") or {})
    swept = state.get("swept") or {}
    return [
        (stream, shard)
        for phase, streams in LISTED_BY.items()
        if phase in checkpointed
        for stream in streams
        for shard in range(records_repo.SHARDS)
        if shard not in swept.get(stream, []) and label(stream, shard) not in taken
    ]


def label(stream: str, shard: int) -> str:
    return f"{stream}:{shard}"


def hook_label(stream: str, shard: int) -> tuple[str, int]:
    """What the run's test hook is told once a shard is swept: ``("sweep:<stream>", shard number + 1)``."""
    return f"sweep:{stream}", shard + 1


def sweep_shard(
    account_id: str, run_id: str, since: str, export_bucket: str | None, stream: str, shard: int
) -> dict[str, int]:
    """Flag the shard's records not seen by ``run_id`` (and the lines of a flagged document); export the
    newly flagged ones and return how many per stream."""
    line_stream = revenue.LINE_STREAM.get(stream)
    flagged: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for items, _ in records_repo.iter_partition(account_id, stream, shard, bookkeeping_only=True):
        for item in items:
            if item.get("last_seen_run") == run_id or "not_seen_since" in item:
                continue
            if line_stream is not None:  # lines first: a redo after a crash still finds the document unflagged
                document = records_repo.get_record(account_id, stream, item["sk"]) or {}
                for key in document.get("line_keys") or []:
                    marked = records_repo.mark_not_seen(account_id, line_stream, key, since)
                    if marked is not None:
                        lines.append(marked)
            marked = records_repo.mark_not_seen(account_id, stream, item["sk"], since)
            if marked is not None:
                flagged.append(marked)
    if export_bucket:
        for name, found in ((stream, flagged), (line_stream, lines)):
            if name is not None and found:
                export.put_part(export_bucket, account_id, run_id, name, f"sweep-{stream}-{shard:02d}", found)
    return {stream: len(flagged), **({line_stream: len(lines)} if line_stream else {})}


def record(state: dict[str, Any], stream: str, shard: int, flagged: dict[str, int]) -> int:
    """Note a swept shard in the run state; returns how many shards of the stream are swept."""
    swept = state.setdefault("swept", {}).setdefault(stream, [])
    if shard not in swept:
        swept.append(shard)
        for name, count in flagged.items():
            per = state["counters"].setdefault(name, {})
            per["not_seen"] = per.get("not_seen", 0) + count
    return len(swept)
