"""Logger, Metrics and Tracer, created once and imported everywhere (same keys in every log line).

Keys a handler appends (Powertools' ``inject_lambda_context``: function name, request id, cold start,
correlation id; ``append_keys``) belong to the invocation, not to the process: every handler is wrapped in
``invocation_log_keys``, and work handed to threads goes through ``ContextThreadPool`` so it logs with the
keys of whoever submitted it. In Lambda one process serves one function and nothing changes; the embedded
default runs every function in one process, on threads, and each line still carries its own function's keys.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from bridge.domain.masking import MaskingFilter

SERVICE = "sellsy-bridge"
NAMESPACE = "SellsyBridge"

_INVOCATION_KEYS: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "bridge_invocation_log_keys", default=None
)


class InvocationFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter whose appended keys live in the current invocation's context."""

    @property
    def log_format(self) -> dict[str, Any]:
        keys = _INVOCATION_KEYS.get()
        return self.__dict__["_process_keys"] if keys is None else keys

    @log_format.setter
    def log_format(self, value: dict[str, Any]) -> None:
        if _INVOCATION_KEYS.get() is None:
            self.__dict__["_process_keys"] = value
        else:
            _INVOCATION_KEYS.set(value)


logger = Logger(service=SERVICE, logger_formatter=InvocationFormatter())
logger.addFilter(MaskingFilter())  # personal data and secrets are masked in every line, whoever logs
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def invocation_log_keys[**P, R](handler: Callable[P, R]) -> Callable[P, R]:
    """Outermost decorator of every handler: the keys appended while it runs are its own."""
    formatter = logger.registered_formatter

    @functools.wraps(handler)
    def scoped(*args: P.args, **kwargs: P.kwargs) -> R:
        token = _INVOCATION_KEYS.set(dict(formatter.__dict__["_process_keys"]))
        try:
            return handler(*args, **kwargs)
        finally:
            _INVOCATION_KEYS.reset(token)

    return scoped


class ContextThreadPool(ThreadPoolExecutor):
    """A ThreadPoolExecutor whose tasks run in the submitter's context (its log keys, Powertools' thread keys)."""

    def submit[R](self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


@cache
def get_tracer() -> Tracer:
    """Kept thin (decorators only; X-Ray SDK is in maintenance mode, so it must stay easy to swap) and built
    on first use: loading the X-Ray SDK costs ~0.7 s, which the webhook receiver's cold start must not pay."""
    return Tracer(service=SERVICE)


def __getattr__(name: str) -> Any:  # `from bridge.observability import tracer` builds it on demand
    if name == "tracer":
        return get_tracer()
    raise AttributeError(name)
