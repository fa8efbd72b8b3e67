"""Queue message ``kind`` → the flow that handles it (the message's shape: ``bridge.adapters.queue``).

Adding a kind is one line in ``FLOWS``: ``"kind": "module.path:function"``. Flows are imported on first
use, so the worker's cold start only pays for the flows it actually runs. A flow receives the whole
message (``kind``, ``account_id``, ``delivery_id``, ``correlation_id``, ``payload``) and returns a small
JSON-able summary (stored by the idempotency layer) or any object (summarised with ``repr``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Flow = Callable[[dict[str, Any]], Any]

FLOWS: dict[str, str] = {
    "sellsy.webhook": "bridge.flows.inbound.webhook_event:handle",
    "intervention.completed": "bridge.flows.outbound.completion:run_completion",
    "customer.push": "bridge.flows.outbound.customer_push:run_customer_push",
}
_loaded: dict[str, Flow] = {}


class UnknownKind(ValueError):
    """A message whose kind no flow handles: a poison message (it ends in the DLQ)."""


def register(kind: str, target: str | Flow) -> None:
    """Add or replace a flow (``"module:function"`` or the function itself)."""
    _loaded.pop(kind, None)
    if isinstance(target, str):
        FLOWS[kind] = target
    else:
        FLOWS[kind] = f"{target.__module__}:{target.__qualname__}"
        _loaded[kind] = target


def flow_for(kind: str) -> Flow:
    if kind in _loaded:
        return _loaded[kind]
    target = FLOWS.get(kind)
    if target is None:
        raise UnknownKind(f"no flow handles messages of kind {kind!r}")
    module_name, _, attribute = target.partition(":")
    flow: Flow = getattr(importlib.import_module(module_name), attribute)
    _loaded[kind] = flow
    return flow


def summarise(result: Any) -> Any:
    """Something JSON can hold, for the idempotency record."""
    if result is None or isinstance(result, str | int | float | bool):
        return result
    if isinstance(result, dict):
        return {str(k): summarise(v) for k, v in result.items()}
    if isinstance(result, list | tuple):
        return [summarise(v) for v in result]
    dump = getattr(result, "model_dump", None)
    if callable(dump):
        return summarise(dump(mode="json"))
    return repr(result)[:1000]


def dispatch(message: dict[str, Any]) -> Any:
    return summarise(flow_for(str(message.get("kind") or ""))(message))
