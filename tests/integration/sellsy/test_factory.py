"""`client_for_account`: stored credentials (moto) -> a ready client on the sandbox; one per account."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from bridge.sellsy import factory
from bridge.settings import get_settings
from infra.local.sandbox import Sandbox
from tests.integration.sellsy.helpers import personal_credentials, request_violations, tokens_issued


@pytest.fixture
def sellsy_env(
    aws: object, sandbox_factory: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Sandbox]:
    sb = sandbox_factory(seed=51, size=20)
    monkeypatch.setenv("SELLSY_API_URL", sb.api_url)
    monkeypatch.setenv("SELLSY_TOKEN_URL", sb.token_url)
    get_settings.cache_clear()
    factory.reset()
    yield sb
    factory.reset()
    get_settings.cache_clear()


def test_client_for_account_uses_stored_credentials_and_is_cached(
    sellsy_env: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    sb = sellsy_env
    account_id = uuid.uuid4().hex[:12]
    factory.token_store().save_credentials(account_id, personal_credentials(sb))  # no token yet

    client = factory.client_for_account(account_id)
    assert client.get("/companies/1")["id"] == 1
    assert factory.client_for_account(account_id) is client
    importer = factory.client_for_account(account_id, daily_reserve=500)
    assert importer is not client and importer.quota is client.quota  # one quota per account
    assert importer.auth is client.auth  # one token per account in this process
    importer.get("/companies/2")
    assert tokens_issued(sb) == 1

    stored = factory.token_store().read_credentials(account_id)
    assert stored.access_token  # the renewed token went to Secrets Manager, not to DynamoDB
    item = factory.token_store().read_meta(account_id)
    assert item.version >= 2 and item.expires_at > 0

    sb.expire_tokens()  # revoked: renewed through the shared cache, once
    assert client.get("/companies/3")["id"] == 3
    assert tokens_issued(sb) == 2
    output = capsys.readouterr()
    for secret in (
        stored.access_token,
        sb.client_secret,
        factory.token_store().read_credentials(account_id).access_token,
    ):
        assert secret not in output.out + output.err  # never logged

    factory.forget_account(account_id)
    assert factory.client_for_account(account_id) is not client
    assert request_violations(sb) == []
