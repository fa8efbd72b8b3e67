"""Which exports and snapshot parts the background may do early, and which sweeps each must wait for."""

from __future__ import annotations

from bridge.adapters.records_repo import SHARDS
from bridge.flows.importer import background
from bridge.flows.importer.phases import phase_names

NAMES = phase_names()
ALL = list(range(SHARDS))


def _state(after_phase: str, swept: dict[str, list[int]] | None = None, **extra) -> dict:
    return {"phase": NAMES.index(after_phase) + 1, "swept": swept or {}, "counters": {}, **extra}


def _streams(jobs: list[background.Job]) -> list[str]:
    return list(dict.fromkeys(stream for _, stream, _ in jobs))


def test_a_listed_stream_is_due_and_waits_for_the_shards_of_its_sweep_not_done():
    state = _state("products", {"customers": ALL[:-1]})
    jobs = background.due_outputs(state, NAMES)
    assert jobs[:9] == [("export", "customers", 0)] + [("snapshot", "customers", s) for s in ALL]
    assert background.unswept(state, "customers") == [ALL[-1]]
    assert background.unswept(state, "products") == ALL


def test_lines_wait_for_their_documents_sweep():
    state = _state("invoices", {"invoices": ALL[:2]})
    assert _streams(background.due_outputs(state, NAMES)) == [
        "customers",
        "products",
        "prices",
        "invoices",
        "invoice_lines",
    ]
    assert background.unswept(state, "invoice_lines") == ALL[2:]


def test_a_stream_listed_but_not_checkpointed_is_not_due():
    state = _state("products", {"customers": ALL, "invoices": ALL})
    assert "invoices" not in _streams(background.due_outputs(state, NAMES))


def test_a_skipped_listing_waits_for_no_sweep():
    state = _state("invoices", skipped={"invoices": {}})
    assert {"invoices", "invoice_lines"} <= set(_streams(background.due_outputs(state, NAMES)))
    assert background.unswept(state, "invoice_lines") == []


def test_done_exports_and_snapshot_parts_are_not_due_again():
    state = _state(
        "customers:individual",
        {"customers": ALL},
        exports={"customers": {"key": "k"}},
        snapshots={"customers": {"shards": {"0": {}, "1": {}}}},
    )
    assert background.due_outputs(state, NAMES) == [("snapshot", "customers", s) for s in ALL[2:]]
