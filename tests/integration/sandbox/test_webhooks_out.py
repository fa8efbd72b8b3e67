"""Webhook deliveries from the sandbox to a local receiver, in both encodings, signature verified."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import httpx
import pytest

from infra.local.sandbox import Sandbox

SIGN_KEY = "s3cr3t-signing-key"


class Receiver:
    """A loopback HTTP endpoint recording every delivery; can fail the first N attempts."""

    def __init__(self, fail_first: int = 0) -> None:
        self.deliveries: list[dict] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.deliveries.append({"headers": dict(self.headers), "raw": raw})
                status = 500 if len(receiver.deliveries) <= receiver.fail_first else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def _payload(delivery: dict) -> dict:
    """Verify the signature exactly as a receiver must, then decode either encoding."""
    raw = delivery["raw"]
    expected = hashlib.sha1(SIGN_KEY.encode() + raw, usedforsecurity=False).hexdigest()
    assert delivery["headers"]["X-Webhook-Signature"] == expected
    assert delivery["headers"]["User-Agent"].startswith("Sellsy")
    if delivery["headers"]["Content-Type"].startswith("application/json"):
        return json.loads(raw)
    return json.loads(parse_qs(raw.decode())["notif"][0])


def _hook(api: httpx.Client, url: str, *, json_body: bool, ids: list[str], with_object: bool = True) -> None:
    response = api.post(
        "/webhooks",
        json={
            "type": "http",
            "endpoint": url,
            "is_enabled": True,
            "json_content_type": json_body,
            "object_in_payload": with_object,
            "sign_key": SIGN_KEY,
            "configuration": [{"id": i, "is_enabled": True} for i in ids],
        },
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("json_body", [True, False], ids=["json", "form-notif"])
def test_estimate_status_change_is_delivered_and_signed(sandbox_factory, receiver: Receiver, json_body: bool) -> None:
    sb: Sandbox = sandbox_factory()
    with httpx.Client(base_url=sb.api_url, headers={"Authorization": f"Bearer {sb.access_token()}"}) as api:
        _hook(api, receiver.url, json_body=json_body, ids=["estimate.step"])
        sb.act_set_estimate_status(3, "accepted")
        assert sb.wait_webhooks_idle()
    assert len(receiver.deliveries) == 1
    payload = _payload(receiver.deliveries[0])
    assert payload["eventType"] == "docslog" and payload["event"] == "step"
    assert payload["relatedtype"] == "estimate" and payload["relatedid"] == "3"
    assert payload["relatedobject"]["status"] == "accepted"
    assert payload["corpid"] == str(sb.corp_id) and payload["timestamp"].isdigit()


def test_third_party_api_writes_and_user_edits_emit_thirdlog(sandbox_factory, receiver: Receiver) -> None:
    sb: Sandbox = sandbox_factory()
    with httpx.Client(base_url=sb.api_url, headers={"Authorization": f"Bearer {sb.access_token()}"}) as api:
        _hook(
            api,
            receiver.url,
            json_body=True,
            with_object=False,
            ids=[
                "client.created",
                "client.updated",
                "people.updated",
                "opportunity.step",
                "invoice.created",
                "invoice.step",
            ],
        )
        created = api.post("/companies", json={"type": "client", "name": "Webhook SARL"}).json()
        sb.act_edit("contact", 1, phone_number="+33 1 00 00 00 00")
        sb.act_set_opportunity_status(1, "lost" if api.get("/opportunities/1").json()["status"] == "won" else "won")
        invoice = api.post(
            "/invoices",
            json={
                "related": [{"type": "company", "id": 1}],
                "rows": [{"type": "single", "unit_amount": "10.00", "quantity": "1", "tax_id": 1}],
            },
        ).json()
        api.post(f"/invoices/{invoice['id']}/validate", json={})
        assert sb.wait_webhooks_idle()
    events = sorted((p["relatedtype"], p["event"], p.get("thirdtype", "")) for p in map(_payload, receiver.deliveries))
    assert events == sorted(
        [
            ("client", "created", "client"),  # real deliveries name a third party by its type
            ("people", "updated", "people"),
            ("opportunity", "step", ""),
            ("invoice", "created", ""),
            ("invoice", "step", ""),
        ]
    )
    assert all("relatedobject" not in _payload(d) for d in receiver.deliveries)
    assert str(created["id"]) in {_payload(d)["relatedid"] for d in receiver.deliveries}


def test_failed_delivery_is_retried(sandbox_factory) -> None:
    failing = Receiver(fail_first=2)
    try:
        sb: Sandbox = sandbox_factory()
        with httpx.Client(base_url=sb.api_url, headers={"Authorization": f"Bearer {sb.access_token()}"}) as api:
            _hook(api, failing.url, json_body=False, ids=["estimate.step"])
            sb.act_set_estimate_status(2, "refused")
            assert sb.wait_webhooks_idle()
            hook = api.get("/webhooks").json()["data"][0]
        assert len(failing.deliveries) == 3  # two failures, then success: same body each time
        assert len({d["raw"] for d in failing.deliveries}) == 1
        assert hook["nb_failures"] == 2 and hook["last_succeeded"]
    finally:
        failing.stop()


def test_duplicate_fault_redelivers_the_same_event(sandbox_factory, receiver: Receiver) -> None:
    sb: Sandbox = sandbox_factory()
    with httpx.Client(base_url=sb.api_url, headers={"Authorization": f"Bearer {sb.access_token()}"}) as api:
        _hook(api, receiver.url, json_body=True, ids=["estimate.step"])
        sb.set_faults(rate_webhook_duplicate=1.0)
        sb.act_set_estimate_status(5, "accepted")
        assert sb.wait_webhooks_idle()
    bodies = [d["raw"] for d in receiver.deliveries]
    assert len(bodies) == sb.config.webhook_max_attempts  # re-sent until the attempt budget is spent
    assert len(set(bodies)) == 1 and _payload(receiver.deliveries[0])["relatedid"] == "5"
