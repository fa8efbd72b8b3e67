"""SellsyClient over httpx.MockTransport: retries, typed errors, auth renewal, pagination, uploads."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bridge.sellsy.auth import StaticTokenProvider
from bridge.sellsy.client import MAX_UPLOAD_BYTES, SellsyClient, check_filters
from bridge.sellsy.errors import (
    Conflict,
    Forbidden,
    InvalidFilter,
    NeedsReconnect,
    NotFound,
    PayloadTooLarge,
    PaymentRequired,
    RateLimited,
    SellsyUnavailable,
    ValidationFailed,
    WriteOutcomeUnknown,
)
from bridge.sellsy.models import Company
from bridge.sellsy.quota import QuotaGovernor

API = "https://sellsy.test/v2"


class Recorder:
    """A scripted Sellsy: answers in order, remembers every request."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer


class RotatingAuth:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.refreshed_from: list[str] = []

    def token(self) -> str:
        return self.tokens[0]

    def refresh(self, rejected: str) -> str:
        self.refreshed_from.append(rejected)
        self.tokens.pop(0)
        return self.tokens[0]


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_client(handler: Callable[[httpx.Request], httpx.Response], auth: Any = None) -> SellsyClient:
    fake = FakeTime()
    sleeps = fake.sleeps
    quota = QuotaGovernor(clock=lambda: fake.now, sleep=fake.sleep, jitter=lambda: 0.0)
    client = SellsyClient(
        API,
        auth or StaticTokenProvider("tok-1"),
        transport=httpx.MockTransport(handler),
        quota=quota,
        sleep=fake.sleep,
    )
    client.sleeps = sleeps  # type: ignore[attr-defined]
    return client


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def error(status: int, message: str = "boom", details: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": status, "message": message, "details": details}})


def test_get_sends_bearer_token_and_returns_json() -> None:
    recorder = Recorder([ok({"id": 7, "name": "Dupont SARL"})])
    client = make_client(recorder)
    assert client.get("/companies/7") == {"id": 7, "name": "Dupont SARL"}
    request = recorder.requests[0]
    assert request.headers["Authorization"] == "Bearer tok-1"
    assert str(request.url) == f"{API}/companies/7"


def test_read_is_retried_after_5xx_and_transport_errors() -> None:
    recorder = Recorder([error(503), httpx.ReadError("reset"), ok({"id": 1})])
    client = make_client(recorder)
    assert client.get("/companies/1") == {"id": 1}
    assert len(recorder.requests) == 3
    assert len(client.sleeps) == 2  # type: ignore[attr-defined]


def test_search_post_counts_as_a_read() -> None:
    recorder = Recorder([error(500), ok({"data": [], "pagination": {"count": 0, "total": 0}})])
    client = make_client(recorder)
    pages = list(client.iter_pages("/companies/search", search=True, filters={"name": "x"}))
    assert pages[0].items == [] and len(recorder.requests) == 2


def test_read_gives_up_after_max_retries() -> None:
    recorder = Recorder([error(502)])
    client = make_client(recorder)
    with pytest.raises(SellsyUnavailable) as caught:
        client.get("/companies/1")
    assert caught.value.status == 502
    assert len(recorder.requests) == client.max_retries + 1


@pytest.mark.parametrize("failure", [error(500), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped")])
def test_write_with_unknown_outcome_is_never_resent(failure: Any) -> None:
    recorder = Recorder([failure, ok({"id": 99}, 201)])
    client = make_client(recorder)
    with pytest.raises(WriteOutcomeUnknown):
        client.post("/invoices", json={"subject": "x"})
    assert len(recorder.requests) == 1


def test_write_is_retried_when_the_connection_never_opened() -> None:
    recorder = Recorder([httpx.ConnectError("refused"), ok({"id": 99}, 201)])
    client = make_client(recorder)
    assert client.post("/invoices", json={"subject": "x"}) == {"id": 99}
    assert len(recorder.requests) == 2


def test_429_waits_then_succeeds_even_for_writes() -> None:
    recorder = Recorder([error(429), ok({"id": 5}, 201)])
    client = make_client(recorder)
    assert client.post("/comments", json={"description": "done"}) == {"id": 5}
    assert len(recorder.requests) == 2
    assert client.quota.snapshot()["responses_429"] == 1


def test_429_honours_retry_after() -> None:
    recorder = Recorder([httpx.Response(429, headers={"Retry-After": "2"}, json={}), ok({"id": 1})])
    client = make_client(recorder)
    client.get("/companies/1")
    assert any(delay >= 2.0 for delay in client.sleeps)  # type: ignore[attr-defined]


def test_429_honours_retry_after_as_an_http_date() -> None:
    from bridge.sellsy.quota import http_date

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": http_date(client.quota.now() + 5)}, json={})

    recorder = Recorder([handler, ok({"id": 1})])
    client = make_client(recorder)
    client.get("/companies/1")
    assert any(delay >= 4.0 for delay in client.sleeps)  # type: ignore[attr-defined]  # whole seconds


def test_persistent_429_raises_rate_limited() -> None:
    client = make_client(Recorder([error(429)]))
    with pytest.raises(RateLimited):
        client.get("/companies/1")


def test_401_renews_once_then_succeeds() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer old":
            return error(401)
        return ok({"id": 1})

    auth = RotatingAuth(["old", "new"])
    client = make_client(Recorder([handler]), auth)
    assert client.get("/companies/1") == {"id": 1}
    assert auth.refreshed_from == ["old"]


def test_401_after_renewal_needs_reconnect() -> None:
    auth = RotatingAuth(["old", "new", "newer"])
    client = make_client(Recorder([error(401)]), auth)
    with pytest.raises(NeedsReconnect):
        client.get("/companies/1")
    assert auth.refreshed_from == ["old"]


def test_static_token_rejected_needs_reconnect() -> None:
    client = make_client(Recorder([error(401)]))
    with pytest.raises(NeedsReconnect):
        client.get("/companies/1")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, ValidationFailed),
        (402, PaymentRequired),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (413, PayloadTooLarge),
    ],
)
def test_error_statuses_become_typed_errors(status: int, expected: type[Exception]) -> None:
    client = make_client(Recorder([error(status, "nope", {"name": "required"})]))
    with pytest.raises(expected) as caught:
        client.put("/companies/1", json={})
    assert caught.value.status == status  # type: ignore[attr-defined]


def test_validation_details_are_kept() -> None:
    client = make_client(Recorder([error(400, "Invalid data", {"rows[0].tax_id": "unknown tax"})]))
    with pytest.raises(ValidationFailed) as caught:
        client.post("/invoices", json={})
    assert caught.value.details == {"rows[0].tax_id": "unknown tax"}
    assert caught.value.message == "Invalid data"


def test_402_is_a_plan_limit_not_dead_credentials() -> None:
    recorder = Recorder([error(402, "Quotas limit reached on your current plan")])
    client = make_client(recorder)
    with pytest.raises(PaymentRequired) as caught:
        client.post("/invoices", json={})
    assert not isinstance(caught.value, NeedsReconnect)
    assert "plan limit" in caught.value.message and "retried later" in caught.value.message
    assert len(recorder.requests) == 1  # not retried at once: the limit will not lift within seconds


def test_403_names_the_scope_the_route_needs() -> None:
    client = make_client(Recorder([error(403, "Forbidden")]))
    with pytest.raises(Forbidden) as caught:
        client.get("/units", params={"limit": 100})
    assert caught.value.scope == "accounts.read"
    assert "accounts.read" in caught.value.message


def _paged(total: int, *, seek: bool) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params["limit"])
        raw = request.url.params.get("offset")
        start = int(raw.removeprefix("seek-")) if raw else 0
        data = [{"id": i} for i in range(start, min(start + limit, total))]
        offset = f"seek-{start + len(data)}" if seek else start
        return ok({"data": data, "pagination": {"limit": limit, "count": len(data), "total": total, "offset": offset}})

    return handler


def test_seek_pagination_walks_every_page_and_can_resume() -> None:
    recorder = Recorder([_paged(250, seek=True)])
    client = make_client(recorder)
    pages = list(client.iter_pages("/companies", search=False))
    assert [len(page.items) for page in pages] == [100, 100, 50]
    assert pages[0].offset is None and pages[1].offset == "seek-100"
    assert pages[-1].next_offset is None
    assert "offset" not in recorder.requests[0].url.params  # seek mode: no offset on the first call
    resumed = list(client.iter_pages("/companies", search=False, offset=pages[0].next_offset))
    assert [item["id"] for page in resumed for item in page.items] == list(range(100, 250))


def test_resumed_seek_pagination_with_its_position_stops_at_total_without_an_extra_call() -> None:
    recorder = Recorder([_paged(200, seek=True)])
    client = make_client(recorder)
    first = next(iter(client.iter_pages("/companies", search=False)))
    assert first.seen == 100
    resumed = list(client.iter_pages("/companies", search=False, offset=first.next_offset, seen=first.seen))
    assert [len(page.items) for page in resumed] == [100] and resumed[-1].next_offset is None
    assert len(recorder.requests) == 2  # without the position, a third call would answer an empty page
    blind = list(client.iter_pages("/companies", search=False, offset=first.next_offset))
    assert [len(page.items) for page in blind] == [100, 0] and blind[0].seen is None


def test_a_total_that_dropped_during_the_listing_does_not_end_it_early() -> None:
    # 300 records; the first page's hundred are deleted once it is read: later pages answer total 200.
    def handler(request: httpx.Request) -> httpx.Response:
        start = int(str(request.url.params.get("offset", "seek-0")).removeprefix("seek-"))
        data = [{"id": i} for i in range(start, min(start + 100, 300))]
        total = 300 if start == 0 else 200
        pagination = {"limit": 100, "count": len(data), "total": total, "offset": f"seek-{start + len(data)}"}
        return ok({"data": data, "pagination": pagination})

    client = make_client(Recorder([handler]))
    first = next(iter(client.iter_pages("/companies", search=False)))
    assert (first.seen, first.listed_total) == (100, 300)
    rest = client.iter_pages("/companies", search=False, offset=first.next_offset, seen=first.seen, listed_total=300)
    ids = [item["id"] for page in rest for item in page.items]
    assert ids == list(range(100, 300))  # ending at 200 "seen" would have left the last hundred unread


def test_numeric_pagination_stops_at_total_without_an_extra_call() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params["offset"])
        data = [{"id": i} for i in range(start, min(start + 100, 200))]
        return ok({"data": data, "pagination": {"limit": 100, "count": len(data), "total": 200, "offset": start}})

    recorder = Recorder([handler])
    client = make_client(recorder)
    ids = [item["id"] for item in client.iterate("/invoices", search=False, offset=0)]
    assert ids == list(range(200))
    assert [r.url.params["offset"] for r in recorder.requests] == ["0", "100"]


def test_search_sends_filters_embeds_and_fields() -> None:
    recorder = Recorder([ok({"data": [{"id": 3, "name": "A", "extra": 1}], "pagination": {"total": 1}})])
    client = make_client(recorder)
    companies = list(
        client.iterate(
            "/companies/search",
            search=True,
            model=Company,
            filters={"updated_at": {"start": "2026-01-01T00:00:00+00:00"}},
            embed=["invoicing_address", "cf.12"],
            fields=["id", "name", "_embed"],
            order="updated_at",
            direction="asc",
        )
    )
    assert companies[0].id == 3 and companies[0].model_extra == {"extra": 1}
    request = recorder.requests[0]
    assert request.method == "POST"
    assert json.loads(request.content) == {"filters": {"updated_at": {"start": "2026-01-01T00:00:00+00:00"}}}
    assert request.url.params.get_list("embed[]") == ["invoicing_address", "cf.12"]
    assert request.url.params.get_list("field[]") == ["id", "name", "_embed"]
    assert request.url.params["limit"] == "100"


def test_unknown_filter_is_refused_before_sending() -> None:
    recorder = Recorder([ok({"data": []})])
    client = make_client(recorder)
    with pytest.raises(InvalidFilter) as caught:
        list(client.iter_pages("/estimates/search", search=True, filters={"third_ids": [1]}))
    assert "third_ids" in str(caught.value)
    assert recorder.requests == []


def test_filter_check_matches_route_templates() -> None:
    check_filters("/opportunities/pipelines/12/steps/search", {"name": "x"})
    with pytest.raises(InvalidFilter):
        check_filters("/opportunities/pipelines/12/steps/search", {"status": "x"})
    with pytest.raises(InvalidFilter):
        check_filters("/not-a-route/search", {})


def test_upload_over_15_mb_is_refused_before_sending() -> None:
    recorder = Recorder([ok({"id": 1}, 201)])
    client = make_client(recorder)
    with pytest.raises(PayloadTooLarge) as caught:
        client.upload_file("/estimates/1/files", filename="big.pdf", content=b"0" * (MAX_UPLOAD_BYTES + 1))
    assert "big.pdf" in str(caught.value)
    assert recorder.requests == []


def test_upload_sends_multipart_file_part() -> None:
    recorder = Recorder([ok({"id": 4, "type": "file", "name": "report.pdf"}, 201)])
    client = make_client(recorder)
    client.upload_file("/estimates/1/files", filename="report.pdf", content=b"%PDF-1.4 hello")
    request = recorder.requests[0]
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="file"; filename="report.pdf"' in request.content
    assert b"%PDF-1.4 hello" in request.content
