"""How an account's import run ended, as one metric the alarms watch and one log line.

``ImportRunSucceeded`` when a run is done; ``ImportRunStopped`` when it failed, reached the quota reserve or
lost its connection (the run resumes at the next start). The account goes to metadata, never to a
dimension (one alarm watches every account; the log line and the run say which one).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from bridge.observability import NAMESPACE, SERVICE, logger

SUCCEEDED_METRIC = "ImportRunSucceeded"
STOPPED_METRIC = "ImportRunStopped"


def publish_outcome(state: dict[str, Any]) -> None:
    status = str(state["status"])
    name = SUCCEEDED_METRIC if status == "done" else STOPPED_METRIC
    # single_metric flushes at once: the metric is out even if the invocation fails afterwards.
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="service", value=SERVICE)
        metric.add_metadata(key="account_id", value=str(state["account_id"]))
        metric.add_metadata(key="run_id", value=str(state.get("run_id")))
        metric.add_metadata(key="outcome", value=status)
    keys = {"account_id": state["account_id"], "run_id": state.get("run_id"), "status": status}
    if name == SUCCEEDED_METRIC:
        logger.info("import run ended", extra=keys)
    else:
        logger.warning("import run ended", extra={**keys, "error": state.get("error")})
