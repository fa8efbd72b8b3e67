"""Request bodies parsed as strict JSON: NaN, Infinity and numbers too large for a float are refused.

Python's json module accepts ``NaN`` and ``Infinity`` (not JSON at all) and turns ``1e400`` into ``inf``; stored,
such a value becomes ``null`` and breaks later reads. Raising ``JSONDecodeError`` lets the Event Handler's
validation answer 400 ``invalid_json`` before any route runs, so nothing is changed.
"""

from __future__ import annotations

import json
import math
from typing import Any

NON_FINITE = "NaN, Infinity and numbers beyond the float range are not accepted"


class _NonFinite(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NonFinite(f"{name} is not a JSON number ({NON_FINITE})")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonFinite(f"number out of range ({NON_FINITE})")
    return value


def loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses non-finite numbers with a ``JSONDecodeError`` naming the problem."""
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NonFinite as exc:
        doc = text.decode(errors="replace") if isinstance(text, bytes) else text
        raise json.JSONDecodeError(str(exc), doc, 0) from None
