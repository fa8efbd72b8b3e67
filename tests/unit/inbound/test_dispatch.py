"""Dispatch registry: one-line registration, unknown kinds refused, results made JSON-able."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.flows import dispatch


def test_registered_flow_receives_the_message_and_its_result_is_summarised() -> None:
    seen: list[dict[str, Any]] = []

    class Result:
        def __repr__(self) -> str:
            return "Result(ok)"

    def flow(message: dict[str, Any]) -> Any:
        seen.append(message)
        return {"done": [Result()]}

    dispatch.register("test.kind", flow)
    assert dispatch.dispatch({"kind": "test.kind", "account_id": "a"}) == {"done": ["Result(ok)"]}
    assert seen == [{"kind": "test.kind", "account_id": "a"}]


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(dispatch.UnknownKind):
        dispatch.dispatch({"kind": "nope", "account_id": "a"})


def test_known_kinds_point_at_importable_flows() -> None:
    for kind in dispatch.FLOWS:
        if kind.startswith("test."):
            continue
        assert callable(dispatch.flow_for(kind))
