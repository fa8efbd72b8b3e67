"""Configuration read from the environment once per execution environment.

In AWS, template.yaml sets these variables; locally, the embedded default derives the same names
from template.yaml (infra/local/resources.py), so both run the same code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

SELLSY_API_URL = "https://api.sellsy.com/v2"
SELLSY_TOKEN_URL = "https://login.sellsy.com/oauth2/access-tokens"  # noqa: S105 (a URL, not a secret)
SELLSY_AUTHORIZE_URL = "https://login.sellsy.com/oauth2/authorization"


@dataclass(frozen=True)
class Settings:
    stage: str
    accounts_table: str
    records_table: str
    field_table: str
    exchanges_table: str
    idempotency_table: str
    reports_bucket: str
    events_queue_url: str
    sellsy_api_url: str
    sellsy_token_url: str
    sellsy_authorize_url: str
    secrets_prefix: str
    public_api_url: str
    exchange_retention_days: int
    local_api_token_secret: str

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        return cls(
            stage=e.get("STAGE", "local"),
            accounts_table=e.get("ACCOUNTS_TABLE", "AccountsTable"),
            records_table=e.get("RECORDS_TABLE", "RecordsTable"),
            field_table=e.get("FIELD_TABLE", "FieldTable"),
            exchanges_table=e.get("EXCHANGES_TABLE", "ExchangesTable"),
            idempotency_table=e.get("IDEMPOTENCY_TABLE", "IdempotencyTable"),
            reports_bucket=e.get("REPORTS_BUCKET", "sellsy-bridge-reports"),
            events_queue_url=e.get("EVENTS_QUEUE_URL", ""),
            sellsy_api_url=e.get("SELLSY_API_URL", SELLSY_API_URL).rstrip("/"),
            sellsy_token_url=e.get("SELLSY_TOKEN_URL", SELLSY_TOKEN_URL),
            sellsy_authorize_url=e.get("SELLSY_AUTHORIZE_URL", SELLSY_AUTHORIZE_URL),
            secrets_prefix=e.get("SECRETS_PREFIX", "sellsy-bridge/local"),
            public_api_url=e.get("PUBLIC_API_URL", "").rstrip("/"),
            exchange_retention_days=int(e.get("EXCHANGE_RETENTION_DAYS", "30")),
            local_api_token_secret=e.get("LOCAL_API_TOKEN_SECRET", ""),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
