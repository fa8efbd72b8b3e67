"""Outbound webhook deliveries, signed and retried like Sellsy's.

Each configured HTTP webhook whose configuration enables the event gets a POST: JSON body when
`json_content_type`, otherwise form-encoded `notif=<json>`; header `X-Webhook-Signature` is the hex
SHA-1 of `sign_key` followed by the raw body. A failed delivery is retried later while newer events
go out, so receivers see duplicates (on lost answers) and reordering, as with the real service.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

if TYPE_CHECKING:
    from infra.local.sandbox.app import SandboxApp

USER_AGENT = "Sellsy-Webhooks/2.0 (sandbox)"


def sign(sign_key: str, raw_body: bytes) -> str:
    return hashlib.sha1(sign_key.encode() + raw_body, usedforsecurity=False).hexdigest()


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    webhook_id: int = field(compare=False)
    body: bytes = field(compare=False)
    content_type: str = field(compare=False)
    signature: str = field(compare=False)
    attempt: int = field(compare=False, default=1)


class WebhookEmitter:
    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self.cond = threading.Condition()
        self.queue: list[_Delivery] = []
        self.seq = itertools.count()
        self.third_deliveries = itertools.count()  # picks the shape of each thirdlog delivery in "cycle" mode
        self.log: list[dict[str, Any]] = []
        self.in_flight = 0
        self.stopped = False
        self.threads = [threading.Thread(target=self._run, name=f"sandbox-webhooks-{i}", daemon=True) for i in range(2)]
        self.started = False
        self.client = httpx.Client(timeout=app.config.webhook_timeout_seconds)

    def start(self) -> None:
        if not self.started:
            self.started = True
            for thread in self.threads:
                thread.start()

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()
        self.client.close()

    def clear(self) -> None:
        with self.cond:
            self.queue.clear()
            self.log.clear()

    def pending(self) -> int:
        with self.cond:
            return len(self.queue) + self.in_flight

    # -- emission --------------------------------------------------------------------------------
    def emit(self, config_id: str, fields: dict[str, Any], related_object: dict[str, Any] | None) -> int:
        """Queue one delivery per enabled webhook listening to `config_id` (e.g. `estimate.step`)."""
        state = self.app.state
        timestamp = str(int(time.time()))
        queued = 0
        for hook in list(state.webhooks.values()):
            if not hook.get("is_enabled") or hook.get("type") != "http":
                continue
            enabled = {c["id"] for c in hook.get("configuration", []) if c.get("is_enabled")}
            if config_id not in enabled:
                continue
            payload = {key: str(value) for key, value in fields.items()}
            payload.update({"timestamp": timestamp, "corpid": str(state.corp_id), "ownertype": "staff", "ownerid": "1"})
            if hook.get("object_in_payload") and related_object is not None:
                payload["relatedobject"] = related_object  # type: ignore[assignment]
            document = json.dumps(payload, ensure_ascii=False)
            if hook.get("json_content_type"):
                body, content_type = document.encode(), "application/json"
            else:
                body, content_type = (
                    urlencode({"notif": document}).encode(),
                    "application/x-www-form-urlencoded",
                )
            delivery = _Delivery(
                time.monotonic(),
                next(self.seq),
                hook["id"],
                body,
                content_type,
                sign(hook.get("sign_key") or "", body),
            )
            with self.cond:
                heapq.heappush(self.queue, delivery)
                self.cond.notify()
            queued += 1
        return queued

    # -- delivery loop ---------------------------------------------------------------------------
    def _next(self) -> _Delivery | None:
        with self.cond:
            while not self.stopped:
                if self.queue:
                    wait = self.queue[0].due - time.monotonic()
                    if wait <= 0:
                        self.in_flight += 1
                        return heapq.heappop(self.queue)
                    self.cond.wait(wait)
                else:
                    self.cond.wait()
            return None

    def _run(self) -> None:
        while True:
            delivery = self._next()
            if delivery is None:
                return
            try:
                self._deliver(delivery)
            finally:
                with self.cond:
                    self.in_flight -= 1

    def _deliver(self, delivery: _Delivery) -> None:
        app = self.app
        hook = app.state.webhooks.get(delivery.webhook_id)
        if hook is None:
            return
        ok = False
        status: int | None = None
        if app._draw(app.config.faults.rate_webhook_failure):
            status = 0  # injected: the delivery is "lost" and will be retried
        else:
            try:
                response = self.client.post(
                    hook["endpoint"],
                    content=delivery.body,
                    headers={
                        "Content-Type": delivery.content_type,
                        "User-Agent": USER_AGENT,
                        "X-Webhook-Signature": delivery.signature,
                    },
                )
                status = response.status_code
                ok = 200 <= status < 300
            except (httpx.HTTPError, RuntimeError):  # RuntimeError: client closed while stopping
                status = None
        self.log.append(
            {
                "webhook_id": hook["id"],
                "attempt": delivery.attempt,
                "status": status,
                "ok": ok,
                "body": delivery.body.decode("utf-8", "replace"),
            }
        )
        if ok:
            hook["last_succeeded"] = app.now()
            if delivery.attempt < app.config.webhook_max_attempts and app._draw(
                app.config.faults.rate_webhook_duplicate
            ):
                delivery.attempt += 1
                delivery.due = time.monotonic() + 0.3
                with self.cond:
                    heapq.heappush(self.queue, delivery)
                    self.cond.notify()
            return
        hook["last_failed"] = app.now()
        hook["nb_failures"] = hook.get("nb_failures", 0) + 1
        delays = app.config.webhook_retry_delays
        if delivery.attempt < app.config.webhook_max_attempts:
            delay = delays[min(delivery.attempt - 1, len(delays) - 1)] if delays else 0.5
            delivery.attempt += 1
            delivery.due = time.monotonic() + delay
            with self.cond:
                heapq.heappush(self.queue, delivery)
                self.cond.notify()
