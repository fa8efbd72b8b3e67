"""Run summary (with its reconciliation report): stored with the run, emitted as EMF metrics and logged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from bridge.domain.revenue import STREAMS
from bridge.flows.importer.merge import OUTCOMES
from bridge.flows.importer.reconciliation import report_of
from bridge.observability import NAMESPACE, SERVICE, logger


def build_summary(state: dict[str, Any]) -> dict[str, Any]:
    counters = state.get("counters", {})
    streams = {
        stream: {outcome: int(counters.get(stream, {}).get(outcome, 0)) for outcome in (*OUTCOMES, "not_seen")}
        for stream in STREAMS
    }
    started = datetime.fromisoformat(state["started_at"])
    finished = datetime.fromisoformat(state["finished_at"]) if state.get("finished_at") else None
    return {
        "account_id": state["account_id"],
        "run_id": state["run_id"],
        "status": state["status"],
        "streams": streams,
        "details_fetched": dict(state.get("details", {})),
        "api_calls": int(state.get("calls", 0)),
        "api_429": int(state.get("calls_429", 0)),
        "quota_used": int(state.get("calls", 0)),
        "quota_remaining_by_day": state.get("quota_remaining_by_day"),
        "chunks": int(state.get("chunks", 0)),
        "active_seconds": state.get("active_seconds", 0.0),
        "duration_seconds": None if finished is None else (finished - started).total_seconds(),
        "exports": dict(state.get("exports", {})),
        "reconciliation": report_of(state),
        "rates": state.get("rates"),
        "snapshots": {
            stream: {"prefix": per["prefix"], "records": per["records"], "bytes": per["bytes"]}
            for stream, per in (state.get("snapshots") or {}).items()
        },
        "skipped": dict(state.get("skipped", {})),
        "missing_scopes": missing_scopes(state),
    }


def missing_scopes(state: dict[str, Any]) -> dict[str, list[str]]:
    """Scope -> the streams and features skipped for want of it."""
    found: dict[str, list[str]] = {}
    for feature, why in sorted((state.get("skipped") or {}).items()):
        found.setdefault(why.get("scope") or "unknown scope", []).append(feature)
    return found


def publish_summary(state: dict[str, Any]) -> dict[str, Any]:
    summary = build_summary(state)
    # Account ids go to metadata, never to dimensions (cardinality); the stream is a bounded dimension.
    for stream, outcomes in summary["streams"].items():
        for outcome, value in outcomes.items():
            with single_metric(
                name=f"Import{outcome.title().replace('_', '')}",
                unit=MetricUnit.Count,
                value=value,
                namespace=NAMESPACE,
            ) as metric:
                metric.add_dimension(name="service", value=SERVICE)
                metric.add_dimension(name="stream", value=stream)
    for name, value, unit in (
        ("ImportApiCalls", summary["api_calls"], MetricUnit.Count),
        ("ImportApi429", summary["api_429"], MetricUnit.Count),
        ("ImportDocumentsOutOfBalance", summary["reconciliation"]["out_of_balance"], MetricUnit.Count),
        ("ImportActiveSeconds", float(summary["active_seconds"] or 0), MetricUnit.Seconds),
    ):
        with single_metric(name=name, unit=unit, value=value, namespace=NAMESPACE) as metric:
            metric.add_dimension(name="service", value=SERVICE)
            metric.add_metadata(key="account_id", value=summary["account_id"])
    logger.info("import run summary", extra={"import_summary": summary})
    return summary
