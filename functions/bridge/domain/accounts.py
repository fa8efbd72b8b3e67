"""An account: one connected Sellsy account (tenant) and its settings (F1).

Pure pydantic models, no I/O. Secrets (Sellsy credentials, the webhook signing key) never live
here: the account only records *whether* they are set; the values live in Secrets Manager.
Validation is strict (unknown keys rejected) so that a typo in a rule or trigger is a clear 4xx
instead of a rule that silently never fires.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

AccountStatus = Literal["active", "needs_reconnect", "disconnected"]
SyncDirection = Literal["sellsy_to_field", "field_to_sellsy", "both"]
AuthMethod = Literal["client_credentials", "access_token", "authorization_code"]
DeepLinkHost = Literal["www.sellsy.com", "www.sellsy.fr"]
DocumentTarget = Literal["estimate", "opportunity"]

ACCOUNT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
# Date-based ISO 8601 durations only (P1Y, P6M, P2W, P1Y6M, P90D): recurrences are calendar periods.
_RECURRENCE = re.compile(r"^P(?=\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")
MAX_RULES = 50
MAX_TRIGGERS = 20
MAX_ACTIONS_PER_TRIGGER = 10

Scalar = bool | int | float | str


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_account_id() -> str:
    return f"acc_{secrets.token_hex(6)}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)


# --- custom-field mapping rules (F4) -------------------------------------------------------------


class Recurrence(BaseModel):
    """A parsed calendar period; the field side adds it to the completion date."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0


def parse_recurrence(value: str) -> Recurrence:
    match = _RECURRENCE.match(value)
    if not match or not any(match.groups()):
        raise ValueError(f"recurrence {value!r} is not an ISO 8601 date duration such as P1Y, P6M, P2W or P90D")
    years, months, weeks, days = (int(g) if g else 0 for g in match.groups())
    if years + months + weeks + days == 0:
        raise ValueError(f"recurrence {value!r} is a zero-length period")
    return Recurrence(years=years, months=months, weeks=weeks, days=days)


def _truthy_text(value: Any) -> Any:
    """Sellsy returns checkbox custom fields as booleans, numbers or strings depending on the route."""
    if isinstance(value, str) and value.strip().lower() in {"true", "1", "yes", "oui"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"false", "0", "no", "non", ""}:
        return False
    if isinstance(value, int | float) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    return value


class CustomFieldRule(_Strict):
    """Maps one Sellsy custom field to a field-side tag, a recurrence and/or an intervention attribute.

    ``{"custom_field": "annual-contract", "equals": true, "tag": "annual-contract", "recurrence": "P1Y"}``
    """

    custom_field: Annotated[str, Field(min_length=1, max_length=128, description="Custom field code or id")]
    equals: Scalar | None = Field(
        default=None, description="Rule applies when the value equals this; omitted = whenever set"
    )
    tag: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    recurrence: str | None = Field(
        default=None,
        description="ISO 8601 date duration, e.g. P1Y",
        json_schema_extra={"pattern": r"^P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?$"},
    )
    attribute: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = Field(
        default=None, description="Intervention attribute receiving the field's value"
    )

    @field_validator("recurrence")
    @classmethod
    def _check_recurrence(cls, value: str | None) -> str | None:
        if value is not None:
            parse_recurrence(value)
        return value

    @model_validator(mode="after")
    def _does_something(self) -> CustomFieldRule:
        if self.tag is None and self.attribute is None:
            raise ValueError(f"rule for custom field {self.custom_field!r} needs a 'tag' or an 'attribute'")
        if self.recurrence is not None and self.tag is None:
            raise ValueError(
                f"rule for custom field {self.custom_field!r}: a 'recurrence' needs the 'tag' that carries it"
            )
        return self

    def matches(self, value: Any) -> bool:
        """Whether a custom field value read from Sellsy triggers this rule."""
        if value is None:
            return False
        if "equals" not in self.model_fields_set:
            return value not in ("", [], {})
        if isinstance(self.equals, bool):
            return _truthy_text(value) is self.equals
        if isinstance(self.equals, int | float) and isinstance(value, str):
            try:
                return float(value) == float(self.equals)
            except ValueError:
                return False
        if isinstance(self.equals, str) and isinstance(value, str):
            return value.strip().casefold() == self.equals.casefold()
        return bool(value == self.equals)

    def recurrence_period(self) -> Recurrence | None:
        return parse_recurrence(self.recurrence) if self.recurrence else None


# --- triggers (F5) -------------------------------------------------------------------------------

# The intervention facts a comment template may name as ``{field}`` (bridge.domain.triggers.template_facts
# fills them; a test keeps both lists equal). A template naming anything else is refused when saved.
TEMPLATE_FIELDS = (
    "intervention_id",
    "number",
    "subject",
    "customer_name",
    "technician",
    "notes",
    "completed_at",
    "completed_date",
    "address",
    "used_items",
    "used_items_count",
    "estimate_id",
    "opportunity_id",
)
TEMPLATE_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")
# The statuses an intervention goes through (bridge.domain.interventions.STATUSES; a test keeps them equal).
INTERVENTION_STATUSES = ("new", "scheduled", "in_progress", "completed", "cancelled")


def template_problems(template: str) -> list[str]:
    """What is wrong with a comment template: unknown ``{fields}``, or a brace left open or unmatched."""
    problems = []
    unknown = sorted({name for name in TEMPLATE_PLACEHOLDER.findall(template) if name not in TEMPLATE_FIELDS})
    if unknown:
        problems.append(f"unknown field(s) {', '.join('{' + u + '}' for u in unknown)}")
    if "{" in TEMPLATE_PLACEHOLDER.sub("", template) or "}" in TEMPLATE_PLACEHOLDER.sub("", template):
        problems.append("a '{' or '}' that is not part of a {field}")
    return problems


class TriggerWhen(_Strict):
    """Conditions on the intervention; every condition given must hold (empty = always)."""

    status: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    has_estimate: bool | None = None
    has_opportunity: bool | None = None
    has_used_items: bool | None = None
    has_report: bool | None = None
    tag: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str | None) -> str | None:
        if value is not None and value not in INTERVENTION_STATUSES:
            raise ValueError(f"status {value!r} is not an intervention status ({', '.join(INTERVENTION_STATUSES)})")
        return value

    def explain(self, intervention: Mapping[str, Any]) -> list[tuple[str, Any, Any, bool]]:
        """Each condition given, as (name, wanted, found on the intervention, holds)."""
        facts = self._facts(intervention)
        checks = [
            (name, getattr(self, name), facts[name], facts[name] == getattr(self, name))
            for name in ("status", "has_estimate", "has_opportunity", "has_used_items", "has_report")
            if getattr(self, name) is not None
        ]
        if self.tag is not None:
            tags = list(intervention.get("tags") or [])
            checks.append(("tag", self.tag, tags, self.tag in tags))
        return checks

    @staticmethod
    def _facts(intervention: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "status": intervention.get("status"),
            "has_estimate": bool(intervention.get("estimate_id")),
            "has_opportunity": bool(intervention.get("opportunity_id")),
            "has_used_items": bool(intervention.get("used_items")),
            "has_report": bool(intervention.get("report_key") or intervention.get("report")),
        }

    def matches(self, intervention: Mapping[str, Any]) -> bool:
        return all(holds for *_, holds in self.explain(intervention))


class ConvertQuote(_Strict):
    type: Literal["convert_quote"]
    validate_invoice: bool = Field(default=False, alias="validate", description="Validate the invoice")


class InvoiceFromItems(_Strict):
    type: Literal["invoice_from_items"]
    validate_invoice: bool = Field(default=False, alias="validate", description="Validate the invoice")


class UploadReport(_Strict):
    type: Literal["upload_report"]
    target: DocumentTarget


class AddComment(_Strict):
    type: Literal["add_comment"]
    target: DocumentTarget
    template: Annotated[str, Field(min_length=1, max_length=4000)]

    @field_validator("template")
    @classmethod
    def _renderable(cls, value: str) -> str:
        problems = template_problems(value)
        if problems:
            raise ValueError(f"comment template: {'; '.join(problems)} (fields: {', '.join(TEMPLATE_FIELDS)})")
        return value


TriggerAction = Annotated[ConvertQuote | InvoiceFromItems | UploadReport | AddComment, Field(discriminator="type")]


class Trigger(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    when: TriggerWhen = Field(default_factory=TriggerWhen)
    actions: Annotated[list[TriggerAction], Field(min_length=1, max_length=MAX_ACTIONS_PER_TRIGGER)]

    @model_validator(mode="after")
    def _coherent(self) -> Trigger:
        kinds = [a.type for a in self.actions]
        if "convert_quote" in kinds and self.when.has_estimate is False:
            raise ValueError(f"trigger {self.name!r}: convert_quote needs an estimate but has_estimate is false")
        if kinds.count("convert_quote") + kinds.count("invoice_from_items") > 1:
            raise ValueError(f"trigger {self.name!r}: at most one invoicing action (convert_quote/invoice_from_items)")
        return self


# --- settings and account ------------------------------------------------------------------------


class AccountSettings(_Strict):
    base_currency: str = Field(
        default="EUR",
        description="ISO 4217 code of the revenue base currency",
        json_schema_extra={"pattern": "^[A-Za-z]{3}$"},
    )
    sync_direction: SyncDirection = "sellsy_to_field"
    custom_field_rules: Annotated[list[CustomFieldRule], Field(max_length=MAX_RULES)] = Field(default_factory=list)
    triggers: Annotated[list[Trigger], Field(max_length=MAX_TRIGGERS)] = Field(default_factory=list)
    deep_link_host: DeepLinkHost = "www.sellsy.com"
    daily_quota_reserve: int = Field(
        default=0, ge=0, le=1_000_000, description="Calls per day the import leaves for real-time flows"
    )
    convert_prospects: bool = Field(
        default=False, description="Invoicing a prospect converts it to a client first (else a clear error)"
    )

    @field_validator("base_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        code = value.strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ValueError(f"base_currency {value!r} is not a 3-letter ISO 4217 code")
        return code

    @model_validator(mode="after")
    def _unique_trigger_names(self) -> AccountSettings:
        names = [t.name for t in self.triggers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"trigger names must be unique; repeated: {', '.join(duplicates)}")
        return self


class MissingScope(_Strict):
    """A Sellsy OAuth scope the account's token lacks, and what was skipped for it."""

    scope: str
    features: list[str] = Field(default_factory=list, description="What was skipped, e.g. reference:units")
    message: str | None = None
    seen_at: datetime = Field(default_factory=utcnow)


class PlanLimit(_Strict):
    """A limit of the Sellsy plan (HTTP 402) an action hit; the action is retried later."""

    action: str
    message: str
    seen_at: datetime = Field(default_factory=utcnow)


class AccountHealth(_Strict):
    """What works only partly while the account stays active: scopes to grant, plan limits reached."""

    missing_scopes: list[MissingScope] = Field(default_factory=list)
    plan_limits: list[PlanLimit] = Field(default_factory=list)


class Account(_Strict):
    id: Annotated[str, Field(pattern=ACCOUNT_ID_PATTERN)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    status: AccountStatus = "disconnected"
    status_reason: str | None = None
    auth_method: AuthMethod | None = None
    connected_at: datetime | None = None
    webhook_signing_key_set: bool = False
    sellsy_webhook_id: int | None = None
    settings: AccountSettings = Field(default_factory=AccountSettings)
    health: AccountHealth = Field(default_factory=AccountHealth)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    version: int = 0

    @property
    def can_sync(self) -> bool:
        """Flows stop cleanly (do nothing, write a skip) unless the account is active."""
        return self.status == "active"

    def with_settings_patch(self, patch: Mapping[str, Any]) -> Account:
        """New account with settings merged key by key (each key replaced whole), re-validated."""
        merged = self.settings.model_dump(by_alias=True) | dict(patch)
        return self.model_copy(update={"settings": AccountSettings.model_validate(merged)})
