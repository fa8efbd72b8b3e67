"""Pagination (seek and numeric, past 250 records), quotas with headers and 429, every fault kind,
determinism of the seed data."""

from __future__ import annotations

import httpx
import pytest

from infra.local.sandbox import Sandbox, SandboxConfig
from infra.local.sandbox.config import QuotaConfig


def _client(sb: Sandbox) -> httpx.Client:
    return httpx.Client(base_url=sb.api_url, headers={"Authorization": f"Bearer {sb.access_token()}"}, timeout=10)


def _walk(api: httpx.Client, path: str, numeric: bool) -> list[int]:
    ids: list[int] = []
    offset: str | int | None = 0 if numeric else None
    while True:
        params = {"limit": 100}
        if offset is not None:
            params["offset"] = offset
        page = api.get(path, params=params).json()
        ids += [item["id"] for item in page["data"]]
        if page["pagination"]["count"] < 100:
            return ids
        offset = offset + 100 if numeric else page["pagination"]["offset"]  # type: ignore[operator]


def test_seek_and_numeric_pagination_walk_all_300_invoices(sandbox_factory) -> None:
    sb = sandbox_factory(seed=3, size=300)
    with _client(sb) as api:
        seek = _walk(api, "/invoices", numeric=False)
        numeric = _walk(api, "/invoices", numeric=True)
        assert seek == numeric == list(range(1, 301))
        first = api.get("/invoices", params={"limit": 100}).json()
        assert first["pagination"]["total"] == 300 and isinstance(first["pagination"]["offset"], str)
        assert "rows" not in first["data"][0]
        assert api.get("/invoices", params={"limit": 101}).status_code == 400


def test_same_seed_and_size_give_identical_data(sandbox_factory) -> None:
    a, b, c = sandbox_factory(seed=11, size=60), sandbox_factory(seed=11, size=60), sandbox_factory(seed=12, size=60)
    with _client(a) as api_a, _client(b) as api_b, _client(c) as api_c:
        for path in ("/companies?limit=100", "/invoices/17", "/estimates/5", "/credit-notes/3", "/items?limit=100"):
            # links carry the sandbox's own host: compare the data with hosts removed
            assert api_a.get(path).text.replace(a.url, "") == api_b.get(path).text.replace(b.url, "")
        assert api_a.get("/companies?limit=100").json() != api_c.get("/companies?limit=100").json()


def test_quotas_headers_and_429_when_a_window_is_empty(sandbox_factory) -> None:
    sb = sandbox_factory(quotas=QuotaConfig(per_minute=5, per_day=100))
    with _client(sb) as api:
        statuses, remaining = [], []
        for _ in range(7):
            response = api.get("/taxes")
            statuses.append(response.status_code)
            remaining.append(int(response.headers["X-Quota-Remaining-By-Minute"]))
            assert "X-Quota-Remaining-By-Second" in response.headers
            assert "X-Quota-Remaining-By-Month" in response.headers
        assert statuses == [200] * 5 + [429] * 2
        assert remaining[:5] == [4, 3, 2, 1, 0]
        day = int(api.get("/taxes").headers["X-Quota-Remaining-By-Day"])
        assert day == 100 - 8  # failed (429) calls count too
        assert sb.calls()["429"] == 3
        sb.set_quotas(per_minute=None)
        assert api.get("/taxes").status_code == 200


@pytest.mark.parametrize("fault", ["rate_5xx", "rate_429"])
def test_error_faults_answer_in_sellsy_shape(sandbox_factory, fault: str) -> None:
    sb = sandbox_factory()
    with _client(sb) as api:
        sb.set_faults(**{fault: 1.0})
        response = api.get("/taxes")
        assert response.status_code == (503 if fault == "rate_5xx" else 429)
        assert response.json()["error"]["code"] == response.status_code
        sb.clear_faults()
        assert api.get("/taxes").status_code == 200


def test_slow_fault_delays_the_answer(sandbox_factory) -> None:
    sb = sandbox_factory()
    with _client(sb) as api:
        sb.set_faults(rate_slow=1.0, slow_seconds=0.5)
        api.get("/taxes")
        assert sb.calls()["routes"].get("faults.slow") == 1
        with pytest.raises(httpx.ReadTimeout):
            api.get("/taxes", timeout=0.2)


def test_dropped_connections_before_and_after_the_write(sandbox_factory) -> None:
    sb = sandbox_factory()
    with _client(sb) as api:
        sb.set_faults(rate_drop=1.0)
        with pytest.raises(httpx.RemoteProtocolError):
            api.post("/comments", json={"description": "avant", "related": [{"type": "company", "id": 1}]})
        sb.set_faults(rate_drop=0.0, rate_drop_after=1.0)
        with pytest.raises(httpx.RemoteProtocolError):
            api.post("/comments", json={"description": "après", "related": [{"type": "company", "id": 1}]})
        sb.clear_faults()
        texts = [c["description"] for c in api.get("/comments").json()["data"]]
        assert texts == ["après"]  # the first never happened, the second did though its answer was lost


def test_early_token_expiry_fault(sandbox_factory) -> None:
    sb = sandbox_factory()
    token = sb.access_token()
    assert httpx.get(f"{sb.api_url}/taxes", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert sb.expire_tokens() >= 1
    assert httpx.get(f"{sb.api_url}/taxes", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    sb.set_faults(token_ttl_seconds=0)
    fresh = httpx.post(
        sb.token_url,
        json={"grant_type": "client_credentials", "client_id": sb.client_id, "client_secret": sb.client_secret},
    ).json()
    assert fresh["expires_in"] == 0
    assert (
        httpx.get(f"{sb.api_url}/taxes", headers={"Authorization": f"Bearer {fresh['access_token']}"}).status_code
        == 401
    )


def test_faults_can_be_set_at_start() -> None:
    config = SandboxConfig(size=20)
    config.faults.rate_5xx = 1.0
    with Sandbox(config).start() as sb:
        assert (
            httpx.get(f"{sb.api_url}/taxes", headers={"Authorization": f"Bearer {sb.access_token()}"}).status_code
            == 503
        )
