"""Logger, Metrics and Tracer, created once and imported everywhere (same keys in every log line)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from bridge.domain.masking import MaskingFilter

SERVICE = "sellsy-bridge"
NAMESPACE = "SellsyBridge"

logger = Logger(service=SERVICE)
logger.addFilter(MaskingFilter())  # personal data and secrets are masked in every line, whoever logs
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


@cache
def get_tracer() -> Tracer:
    """Kept thin (decorators only; X-Ray SDK is in maintenance mode, so it must stay easy to swap) and built
    on first use: loading the X-Ray SDK costs ~0.7 s, which the webhook receiver's cold start must not pay."""
    return Tracer(service=SERVICE)


def __getattr__(name: str) -> Any:  # `from bridge.observability import tracer` builds it on demand
    if name == "tracer":
        return get_tracer()
    raise AttributeError(name)
