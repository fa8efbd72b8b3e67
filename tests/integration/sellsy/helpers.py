"""Shared helpers of the Sellsy client integration tests (real loopback HTTP to the sandbox)."""

from __future__ import annotations

from typing import Any

import httpx

from bridge.sellsy.auth import CLIENT_CREDENTIALS, Credentials, LocalTokenProvider, TokenEndpoint
from bridge.sellsy.client import SellsyClient
from infra.local.sandbox import Sandbox

FAST_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


def personal_credentials(sb: Sandbox) -> Credentials:
    return Credentials(grant_type=CLIENT_CREDENTIALS, client_id=sb.client_id, client_secret=sb.client_secret)


def local_client(sb: Sandbox, **options: Any) -> SellsyClient:
    """A client renewing its own client-credentials token (one process, no shared cache)."""
    provider = LocalTokenProvider(TokenEndpoint(sb.token_url), personal_credentials(sb))
    options.setdefault("backoff_base", 0.05)
    options.setdefault("backoff_cap", 0.5)
    options.setdefault("timeout", FAST_TIMEOUT)
    return SellsyClient(sb.api_url, provider, **options)


def request_violations(sb: Sandbox) -> list[str]:
    """Contract problems in what our client SENT (responses are the sandbox's business)."""
    from tests.fixtures.contract import validate_sandbox_exchanges

    return [str(v) for v in validate_sandbox_exchanges(sb) if v.where == "request"]


def tokens_issued(sb: Sandbox) -> int:
    return int(sb.calls()["tokens_issued"])
