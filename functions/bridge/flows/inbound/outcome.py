"""The result of one inbound step, as the exchange log records it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Outcome:
    """``status`` ok/skipped, a short ``kind`` word, a human ``reason`` and the field-side id touched."""

    status: str
    kind: str
    reason: str | None = None
    field_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}
