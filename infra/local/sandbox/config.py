"""Configuration of one sandbox instance: seed data, auth clients, quotas and faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

QUOTA_MODES = ("fixed", "sliding")
RETRY_AFTER_FORMS = (None, "seconds", "date")


@dataclass
class QuotaConfig:
    """Request limits per window; None means unlimited (headers then show a large number).

    Sellsy's file does not say how its windows are cut, so the sandbox can play each reading:
    ``mode`` "fixed" (windows aligned on the clock, shifted by ``offset_seconds``) or "sliding" (the
    last second / minute; day and month stay calendar windows). ``headers_on_429`` False answers 429s
    without the remaining-quota headers; ``retry_after`` adds ``Retry-After`` to 429s in "seconds" or
    HTTP "date" form (Sellsy documents neither).
    """

    per_second: int | None = None
    per_minute: int | None = None
    per_day: int | None = None
    per_month: int | None = None
    mode: str = "fixed"
    offset_seconds: float = 0.0
    headers_on_429: bool = True
    retry_after: str | None = None

    def update(self, values: dict[str, Any]) -> None:
        for name in ("per_second", "per_minute", "per_day", "per_month"):
            if name in values:
                value = values[name]
                setattr(self, name, None if value is None else int(value))
        if "mode" in values:
            if values["mode"] not in QUOTA_MODES:
                raise ValueError(f"mode must be one of {QUOTA_MODES}")
            self.mode = str(values["mode"])
        if "offset_seconds" in values:
            self.offset_seconds = float(values["offset_seconds"])
        if "headers_on_429" in values:
            self.headers_on_429 = bool(values["headers_on_429"])
        if "retry_after" in values:
            if values["retry_after"] not in RETRY_AFTER_FORMS:
                raise ValueError(f"retry_after must be one of {RETRY_AFTER_FORMS}")
            self.retry_after = values["retry_after"]


@dataclass
class FaultConfig:
    """Rates (0..1) of injected faults on `/v2` routes, drawn from an RNG seeded by the sandbox seed.

    rate_drop closes the connection before the request is handled; rate_drop_after handles the
    request (writes happen) and then closes the connection without answering, as a lost response.
    token_ttl_seconds shortens the life of every token issued afterwards (early expiry).
    rate_webhook_failure loses a delivery attempt (it is retried later); rate_webhook_duplicate sends a
    successfully delivered webhook once more a little later (at-least-once delivery, out of order).
    denied_scopes: OAuth scopes the tokens lack; an operation whose ``security`` (in the OpenAPI file)
    lists one of them answers 403, as Sellsy does for insufficient privileges.
    plan_limited: routes (``"POST /v2/invoices"``, as in the call counters) that answer 402, a limit of the
    plan reached ("Quotas limit reached or limit of feature reached on your current plan").
    """

    rate_5xx: float = 0.0
    rate_429: float = 0.0
    rate_slow: float = 0.0
    slow_seconds: float = 2.0
    rate_drop: float = 0.0
    rate_drop_after: float = 0.0
    token_ttl_seconds: int | None = None
    rate_webhook_failure: float = 0.0
    rate_webhook_duplicate: float = 0.0
    denied_scopes: list[str] = field(default_factory=list)
    plan_limited: list[str] = field(default_factory=list)

    def update(self, values: dict[str, Any]) -> None:
        for name, current in vars(self).items():
            if name not in values:
                continue
            value = values[name]
            if name == "token_ttl_seconds":
                setattr(self, name, None if value is None else int(value))
            elif name in ("denied_scopes", "plan_limited"):
                setattr(self, name, [str(scope) for scope in value or []])
            elif isinstance(current, float):
                setattr(self, name, float(value))
        for name in values:
            if name not in vars(self):
                raise ValueError(f"unknown fault setting: {name}")

    def as_dict(self) -> dict[str, Any]:
        return {name: list(value) if isinstance(value, list) else value for name, value in vars(self).items()}


@dataclass
class SandboxConfig:
    """Everything that shapes a sandbox; same seed and size give identical data."""

    seed: int = 7
    size: int = 40
    corp_id: int | None = None
    token_ttl_seconds: int = 3600
    refresh_ttl_seconds: int = 60 * 24 * 3600
    single_login: bool = False
    quotas: QuotaConfig = field(default_factory=QuotaConfig)
    faults: FaultConfig = field(default_factory=FaultConfig)
    webhook_max_attempts: int = 4
    webhook_retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0)
    webhook_timeout_seconds: float = 3.0
    # How thirdlog deliveries name a company or individual (see routes/common.third_event):
    # "cycle" (default) alternates the shapes real receivers handle, "flagged", "unflagged", or "v2".
    webhook_third_shape: str = "cycle"
    record_exchanges: bool = True
    # JSON bodies of writes are checked against the OpenAPI file (400 with details), like Sellsy does.
    validate_requests: bool = True
    max_upload_bytes: int = 15 * 1024 * 1024

    @property
    def account_corp_id(self) -> int:
        return self.corp_id if self.corp_id is not None else 100_000 + self.seed
