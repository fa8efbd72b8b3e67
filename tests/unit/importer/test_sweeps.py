"""Which shards a sweep may take, and that noting a shard twice counts it once."""

from __future__ import annotations

from bridge.adapters.records_repo import SHARDS
from bridge.flows.importer import sweeps
from bridge.flows.importer.phases import phase_names

NAMES = phase_names()


def _state(after_phase: str, swept: dict[str, list[int]] | None = None) -> dict:
    return {"phase": NAMES.index(after_phase) + 1, "swept": swept or {}, "counters": {}}


ALL = list(range(SHARDS))


def test_nothing_is_due_before_the_listing_phase_is_checkpointed():
    assert sweeps.due({"phase": NAMES.index("customers:individual"), "counters": {}}, NAMES) == []
    # customers are listed by two phases: due only once both are checkpointed
    assert sweeps.due(_state("customers:individual"), NAMES) == [("customers", s) for s in ALL]


def test_a_stream_is_due_shard_by_shard_once_listed():
    due = sweeps.due(_state("products", {"customers": ALL}), NAMES)
    assert due == [("products", s) for s in ALL] + [("prices", s) for s in ALL]


def test_swept_and_taken_shards_are_not_due_again():
    state = _state("invoices", {"customers": ALL, "products": ALL, "prices": [0, 1]})
    due = sweeps.due(state, NAMES, taken=[sweeps.label("prices", 2)])
    assert due == [("prices", s) for s in range(3, SHARDS)] + [("invoices", s) for s in range(SHARDS)]


def test_recording_a_shard_twice_counts_its_flags_once():
    state = _state("invoices")
    assert sweeps.record(state, "invoices", 3, flagged={"invoices": 2}) == 1
    assert sweeps.record(state, "invoices", 3, flagged={"invoices": 2}) == 1
    assert state["counters"]["invoices"]["not_seen"] == 2
    assert state["swept"]["invoices"] == [3]
