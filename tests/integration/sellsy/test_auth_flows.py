"""Every auth flow against the sandbox's OAuth endpoints, and the shared token cache on moto.

The shared-cache tests run 8 workers that share nothing in memory (each has its own provider, store,
boto3 clients and HTTP clients, like 8 Lambdas) and check the sandbox issued exactly one token.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest

from bridge.sellsy.auth import (
    AUTHORIZATION_CODE,
    STATIC_TOKEN,
    Credentials,
    LocalTokenProvider,
    StaticTokenProvider,
    TokenEndpoint,
    authorize_url,
    new_pkce_pair,
)
from bridge.sellsy.client import SellsyClient
from bridge.sellsy.errors import NeedsReconnect
from bridge.sellsy.token_cache import SharedTokenProvider, TokenStore
from infra.local.sandbox import Sandbox
from tests.integration.sellsy.helpers import (
    FAST_TIMEOUT,
    local_client,
    personal_credentials,
    request_violations,
    tokens_issued,
)

REDIRECT_URI = "http://127.0.0.1:9/oauth/callback"


def authorize(sb: Sandbox) -> Credentials:
    """Run the authorization-code + PKCE flow as a browser would, then exchange the code."""
    pkce = new_pkce_pair()
    url = authorize_url(
        sb.authorize_url,
        client_id=sb.auth_code_client_id,
        redirect_uri=REDIRECT_URI,
        challenge=pkce.challenge,
        state="st-1",
    )
    answer = httpx.get(url, follow_redirects=False)
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["st-1"]
    tokens = TokenEndpoint(sb.token_url).exchange_code(
        client_id=sb.auth_code_client_id,
        client_secret=sb.auth_code_client_secret,
        code=query["code"][0],
        verifier=pkce.verifier,
        redirect_uri=REDIRECT_URI,
    )
    assert tokens.refresh_token
    base = Credentials(
        grant_type=AUTHORIZATION_CODE,
        client_id=sb.auth_code_client_id,
        client_secret=sb.auth_code_client_secret,
        redirect_uri=REDIRECT_URI,
    )
    return base.with_tokens(tokens)


def test_client_credentials_flow(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory(seed=21, size=20)
    client = local_client(sb)
    assert client.get("/companies/1")["id"] == 1
    assert tokens_issued(sb) == 1
    client.get("/companies/2")
    assert tokens_issued(sb) == 1  # cached, not fetched per call
    assert request_violations(sb) == []


def test_authorization_code_with_pkce_then_refresh_with_rotation(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory(seed=22, size=20)
    credentials = authorize(sb)
    stored: list[Credentials] = []
    # Pretend the token expires in a minute: inside the safety margin, so the first call refreshes.
    expiring = Credentials(**{**credentials.to_dict(), "expires_at": time.time() + 60})
    provider = LocalTokenProvider(TokenEndpoint(sb.token_url), expiring, on_renewed=stored.append)
    client = SellsyClient(sb.api_url, provider, timeout=FAST_TIMEOUT)
    assert client.get("/companies/1")["id"] == 1
    assert provider.renewals == 1
    assert stored[-1].refresh_token and stored[-1].refresh_token != credentials.refresh_token  # rotated
    # The old refresh token is dead once used: replaying it means the account must reconnect.
    with pytest.raises(NeedsReconnect) as caught:
        TokenEndpoint(sb.token_url).refresh(
            client_id=sb.auth_code_client_id,
            client_secret=sb.auth_code_client_secret,
            refresh_token=credentials.refresh_token,
        )
    assert caught.value.details == {"error": "invalid_grant"}
    assert request_violations(sb) == []


def test_401_is_renewed_once_then_reported(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory(seed=23, size=20)
    client = local_client(sb)
    client.get("/companies/1")
    assert sb.expire_tokens() >= 1  # Sellsy revoked/expired the token behind our back
    assert client.get("/companies/1")["id"] == 1  # 401 -> one renewal -> success
    assert tokens_issued(sb) == 2

    static = SellsyClient(sb.api_url, StaticTokenProvider(sb.access_token()), timeout=FAST_TIMEOUT)
    assert static.get("/companies/2")["id"] == 2
    sb.expire_tokens()
    with pytest.raises(NeedsReconnect):
        static.get("/companies/2")


def test_wrong_client_secret_needs_reconnect(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory(seed=24, size=20)
    bad = Credentials(**{**personal_credentials(sb).to_dict(), "client_secret": "wrong"})
    client = SellsyClient(sb.api_url, LocalTokenProvider(TokenEndpoint(sb.token_url), bad), timeout=FAST_TIMEOUT)
    with pytest.raises(NeedsReconnect):
        client.get("/companies/1")


# -- shared token cache (moto + sandbox) ------------------------------------------------------------
def _worker_store(aws: object, table_name: str, prefix: str) -> TokenStore:
    session = boto3.session.Session()  # one session per worker: nothing shared, like separate Lambdas
    endpoint = aws.endpoint_url  # type: ignore[attr-defined]
    return TokenStore(
        table=session.resource("dynamodb", endpoint_url=endpoint).Table(table_name),
        secrets=session.client("secretsmanager", endpoint_url=endpoint),
        secrets_prefix=prefix,
    )


def _run_workers(sb: Sandbox, stores: list[TokenStore], account_id: str) -> list[SharedTokenProvider]:
    providers = [SharedTokenProvider(account_id, store, TokenEndpoint(sb.token_url)) for store in stores]
    clients = [SellsyClient(sb.api_url, provider, timeout=FAST_TIMEOUT) for provider in providers]
    barrier = threading.Barrier(len(clients))
    errors: list[BaseException] = []
    results: list[int] = []

    def work(client: SellsyClient) -> None:
        try:
            barrier.wait()
            for company_id in (1, 2, 3):
                results.append(client.get(f"/companies/{company_id}")["id"])
        except BaseException as exc:  # reported below; a thread must not swallow it
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(results) == sorted([1, 2, 3] * len(clients))
    return providers


@pytest.mark.parametrize("how", ["expiring", "revoked"])
def test_eight_workers_share_one_renewal(aws: object, sandbox_factory: Callable[..., Sandbox], how: str) -> None:
    # single_login: every new token revokes the previous ones, so a second fetch would break workers.
    sb = sandbox_factory(seed=25, size=20, single_login=True)
    table_name = aws.env["ACCOUNTS_TABLE"]  # type: ignore[attr-defined]
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    account_id = uuid.uuid4().hex[:12]
    admin = _worker_store(aws, table_name, prefix)
    current = personal_credentials(sb).with_tokens(
        TokenEndpoint(sb.token_url).client_credentials(sb.client_id, sb.client_secret)
    )
    if how == "expiring":
        current = Credentials(**{**current.to_dict(), "expires_at": time.time() + 30})
    else:
        sb.expire_tokens()  # still "fresh" by its expiry, but Sellsy answers 401
    admin.save_credentials(account_id, current)
    before = tokens_issued(sb)

    providers = _run_workers(sb, [_worker_store(aws, table_name, prefix) for _ in range(8)], account_id)

    assert tokens_issued(sb) - before == 1
    assert sum(provider.renewals for provider in providers) == 1
    stored = admin.read_credentials(account_id)
    assert stored.access_token != current.access_token
    assert {provider.token() for provider in providers} == {stored.access_token}
    assert admin.read_meta(account_id).lease_owner is None
    assert request_violations(sb) == []


def test_static_token_in_shared_cache_needs_reconnect(aws: object, sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory(seed=26, size=20)
    store = _worker_store(aws, aws.env["ACCOUNTS_TABLE"], "test-static")  # type: ignore[attr-defined]
    account_id = uuid.uuid4().hex[:12]
    store.save_credentials(account_id, Credentials(grant_type=STATIC_TOKEN, access_token=sb.access_token()))
    client = SellsyClient(sb.api_url, SharedTokenProvider(account_id, store, TokenEndpoint(sb.token_url)))
    assert client.get("/companies/1")["id"] == 1
    sb.expire_tokens()
    with pytest.raises(NeedsReconnect):
        client.get("/companies/1")
    with pytest.raises(NeedsReconnect):  # no credentials stored at all
        SharedTokenProvider("nobody", store, TokenEndpoint(sb.token_url)).token()
