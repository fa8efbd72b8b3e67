"""Logger, Metrics and Tracer, created once and imported everywhere (same keys in every log line)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from bridge.domain.masking import MaskingFilter

SERVICE = "sellsy-bridge"
NAMESPACE = "SellsyBridge"

logger = Logger(service=SERVICE)
logger.addFilter(MaskingFilter())  # personal data and secrets are masked in every line, whoever logs
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# Kept thin (decorators only): X-Ray SDK is in maintenance mode, so it must stay easy to swap.
tracer = Tracer(service=SERVICE)
