"""Exchange log vocabulary and summaries (pure parts)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bridge.adapters.exchanges_repo import day_of, decode_cursor, encode_cursor
from bridge.flows.exchange_log import (
    SUMMARY_LIMIT,
    _summary,
    new_exchange_id,
    normalize_direction,
    normalize_status,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("ok", "ok"), ("success", "ok"), ("received", "ok"), ("error", "failed"), ("skip", "skipped")],
)
def test_status_aliases(given: str, expected: str) -> None:
    assert normalize_status(given) == expected


def test_direction_aliases_and_refusals() -> None:
    assert normalize_direction("sellsy_to_field") == "inbound"
    assert normalize_direction("field_to_sellsy") == "outbound"
    with pytest.raises(ValueError, match="direction 'up'"):
        normalize_direction("up")
    with pytest.raises(ValueError, match="status 'maybe'"):
        normalize_status("maybe")


def test_ids_sort_by_time_and_locate_their_day() -> None:
    early = new_exchange_id(datetime(2026, 11, 21, 23, 59, 59, 999999, tzinfo=UTC))
    late = new_exchange_id(datetime(2026, 11, 22, 0, 0, 0, tzinfo=UTC))
    assert early < late
    assert day_of(early).isoformat() == "2026-11-21" and day_of(late).isoformat() == "2026-11-22"


def test_summaries_are_masked_json_and_bounded() -> None:
    text = _summary('{"email": "a@b.fr", "n": 1}')
    assert text is not None and json.loads(text) == {"email": "*****", "n": 1}
    assert json.loads(_summary("plain a@b.fr") or "") == "plain *****"
    big = _summary({"notes": "x" * (SUMMARY_LIMIT * 2)})
    assert big is not None and json.loads(big)["truncated"] is True and len(big) < SUMMARY_LIMIT + 100
    assert _summary(None) is None


def test_cursor_round_trip_and_garbage() -> None:
    assert decode_cursor(encode_cursor({"after": "x"})) == {"after": "x"}
    for bad in ("!!", encode_cursor({"other": "x"})):
        with pytest.raises(ValueError, match="cursor"):
            decode_cursor(bad)
