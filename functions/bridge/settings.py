"""Configuration read from the environment once per execution environment, checked when a handler loads.

In AWS, template.yaml sets these variables; locally, the embedded default derives the same names
from template.yaml (infra/local/resources.py), so both run the same code. Each handler module calls
``get_settings()`` at import: a bad value (a retention that is not a number of days, a URL without
http(s)) stops the cold start with ``SettingsError`` naming the variable, instead of failing later on
the first request that reads it.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SELLSY_API_URL = "https://api.sellsy.com/v2"
SELLSY_TOKEN_URL = "https://login.sellsy.com/oauth2/access-tokens"  # noqa: S105 (a URL, not a secret)
SELLSY_AUTHORIZE_URL = "https://login.sellsy.com/oauth2/authorization"


class SettingsError(RuntimeError):
    """A variable of the environment has a value the bridge cannot run with."""


class Settings(BaseSettings):
    """Each field is read from the variable of the same name in upper case (``ACCOUNTS_TABLE``...)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    stage: str = Field(default="local", min_length=1)
    accounts_table: str = Field(default="AccountsTable", min_length=1)
    records_table: str = Field(default="RecordsTable", min_length=1)
    field_table: str = Field(default="FieldTable", min_length=1)
    exchanges_table: str = Field(default="ExchangesTable", min_length=1)
    idempotency_table: str = Field(default="IdempotencyTable", min_length=1)
    reports_bucket: str = Field(default="sellsy-bridge-reports", min_length=1)
    events_queue_url: str = ""  # empty where nothing sends to the queue (unit tests)
    sellsy_api_url: str = SELLSY_API_URL
    sellsy_token_url: str = SELLSY_TOKEN_URL
    sellsy_authorize_url: str = SELLSY_AUTHORIZE_URL
    secrets_prefix: str = Field(default="sellsy-bridge/local", min_length=1)
    public_api_url: str = ""  # empty until the stack knows its own URL
    exchange_retention_days: int = Field(default=30, ge=1, le=3650)
    local_api_token_secret: str = ""

    @field_validator("sellsy_api_url", "sellsy_token_url", "sellsy_authorize_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("events_queue_url", "public_api_url")
    @classmethod
    def _http_url_or_empty(cls, value: str) -> str:
        return cls._http_url(value) if value else value

    @field_validator("sellsy_api_url", "public_api_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


def load_settings() -> Settings:
    """The settings of this environment; ``SettingsError`` names every variable that is wrong (not its value)."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in error['loc']).upper()}: {error['msg']}" for error in exc.errors()]
        raise SettingsError("bad environment: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
