"""What Sellsy says of an account's quota, told to operators at a bounded rate (see ``QuotaGovernor``).

Each report is three things: EMF metrics (calls and 429s since the last report, calls left today), one log
line with ``quota_remaining_day`` (the quota saved query reads it) and the latest figures stored on the
account (its health route shows them). A report never raises: it must not fail the Sellsy call it follows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics

from bridge.observability import NAMESPACE, SERVICE, logger
from bridge.sellsy.quota import emit_quota_metrics

Store = Callable[[str, dict[str, Any]], None]


class QuotaReporter:
    def __init__(self, account_id: str, store: Store | None = None) -> None:
        self.account_id = account_id
        self._store = store
        self._lock = threading.Lock()
        self._reported_calls = 0
        self._reported_429 = 0

    def __call__(self, snapshot: dict[str, Any]) -> None:
        try:
            self._report(snapshot)
        except Exception:
            logger.exception("quota report failed", extra={"account_id": self.account_id})

    def _report(self, snapshot: dict[str, Any]) -> None:
        with self._lock:
            calls = int(snapshot.get("calls") or 0) - self._reported_calls
            r429 = int(snapshot.get("responses_429") or 0) - self._reported_429
            self._reported_calls += calls
            self._reported_429 += r429
        remaining = dict(snapshot.get("remaining") or {})
        # Not the invocation's Metrics object: the report may come from a worker thread of an import.
        metrics = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
        metrics.add_metadata(key="account_id", value=self.account_id)
        emit_quota_metrics(metrics, {"calls": calls, "responses_429": r429, "remaining_by_day": remaining.get("day")})
        metrics.flush_metrics()
        logger.info(
            "sellsy quota",
            extra={
                "account_id": self.account_id,
                **{f"quota_remaining_{window}": value for window, value in remaining.items()},
                "quota_calls": calls,
                "quota_429": r429,
            },
        )
        if self._store is not None:
            self._store(
                self.account_id, {"remaining": remaining, "at": datetime.now(UTC).isoformat(timespec="seconds")}
            )
