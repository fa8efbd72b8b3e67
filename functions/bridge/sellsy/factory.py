"""Ready-to-use Sellsy clients, one per account per execution environment.

The quota governor and the token provider are per account and shared by every client of that account
in this process (threads included); clients differ only by their daily reserve.
"""

from __future__ import annotations

import threading

from bridge.adapters import aws, quota_figures
from bridge.sellsy.auth import TokenEndpoint
from bridge.sellsy.client import SellsyClient
from bridge.sellsy.quota import QuotaGovernor
from bridge.sellsy.quota_report import QuotaReporter
from bridge.sellsy.token_cache import SharedTokenProvider, TokenStore
from bridge.settings import get_settings

_lock = threading.Lock()
_clients: dict[tuple[str, int], SellsyClient] = {}
_governors: dict[str, QuotaGovernor] = {}
_providers: dict[str, SharedTokenProvider] = {}
_endpoint: TokenEndpoint | None = None


def token_store() -> TokenStore:
    settings = get_settings()
    return TokenStore(
        table=aws.dynamodb_table(settings.accounts_table),
        secrets=aws.client("secretsmanager"),
        secrets_prefix=settings.secrets_prefix,
    )


def token_endpoint() -> TokenEndpoint:
    global _endpoint
    with _lock:
        if _endpoint is None:
            _endpoint = TokenEndpoint(get_settings().sellsy_token_url)
        return _endpoint


def token_provider(account_id: str) -> SharedTokenProvider:
    endpoint = token_endpoint()
    with _lock:
        provider = _providers.get(account_id)
        if provider is None:
            provider = _providers[account_id] = SharedTokenProvider(account_id, token_store(), endpoint)
        return provider


def quota_for_account(account_id: str) -> QuotaGovernor:
    with _lock:
        governor = _governors.get(account_id)
        if governor is None:
            # Operators see the quota Sellsy answers: metrics, a log line and the account's latest figures.
            reporter = QuotaReporter(account_id, store=quota_figures.save)
            governor = _governors[account_id] = QuotaGovernor(reporter=reporter)
        return governor


def client_for_account(account_id: str, *, daily_reserve: int = 0) -> SellsyClient:
    """A client using the account's stored credentials, paced on the account's shared quota."""
    provider = token_provider(account_id)
    governor = quota_for_account(account_id)
    with _lock:
        key = (account_id, daily_reserve)
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = SellsyClient(
                get_settings().sellsy_api_url, provider, quota=governor, daily_reserve=daily_reserve
            )
        return client


def forget_account(account_id: str) -> None:
    """Drop cached clients and tokens of one account (reconnected, disconnected)."""
    with _lock:
        for key in [key for key in _clients if key[0] == account_id]:
            del _clients[key]  # not closed: another thread may still be using it
        _providers.pop(account_id, None)
        _governors.pop(account_id, None)


def reset() -> None:
    """Forget everything (tests change endpoints between sessions)."""
    global _endpoint
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
        _governors.clear()
        _providers.clear()
        _endpoint = None
