"""Sellsy calls per intervention created and per completion (`make bench` part ``sellsy_calls``).

The quota is shared with the nightly import, so every read beyond what Sellsy's file makes necessary
delays someone's intervention. Quotes are accepted in the sandbox as users would; each becomes an
intervention; each intervention is then completed through the API (the demo account's trigger: convert
the quote, upload the report to it, comment on it). The calls are counted on the account's own client
(other accounts of the shared stack do not count), by route.

The minimum the file allows:

- per intervention made of a quote: 3 calls. ``GET /estimates/{id}`` embeds the customer, the contact,
  both addresses and the custom-field values (``cf.{id}``); ``GET /companies/{id}`` (or individual)
  gives the customer's main contact, addresses and custom-field values, which no quote embed carries;
  ``POST /comments/search`` gives the private notes (no embed of an estimate lists comments). The
  owner (no estimate embed names it: ``GET /staffs/{id}``) and the custom-field definitions are
  reference data read once per account: 1 + the distinct owners, spread over the run.
- per completion: 5 calls when the quote is converted (3 when it is not). The quote read (rows,
  payment terms and the customer's type, all embeds), ``POST /invoices`` (its answer is the invoice as
  stored, checked against the quote), ``PUT /invoices/{id}/custom-fields`` (the marker: the create body
  takes no custom field), the report upload and the comment. The marker field's id is reference data:
  1, spread over the run.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from tests.bench.webhook_latency import _demo_account, _started_stack, open_quotes

MIN_PER_INTERVENTION = 3
MIN_PER_COMPLETION = 5


class CallCounter:
    """Counts the Sellsy calls each quota governor (one per account) makes, by method and route."""

    def __init__(self) -> None:
        self.calls: dict[int, Counter[str]] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> CallCounter:
        import re

        from bridge.sellsy.client import SellsyClient

        original = SellsyClient.request
        counter = self

        def counted(client: SellsyClient, method: str, path: str, **kwargs: Any) -> Any:
            route = re.sub(r"/\d+(?=/|$)", "/{id}", path)
            with counter._lock:
                counter.calls.setdefault(id(client.quota), Counter())[f"{method.upper()} {route}"] += 1
            return original(client, method, path, **kwargs)

        self._original = original
        SellsyClient.request = counted  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *_: object) -> None:
        from bridge.sellsy.client import SellsyClient

        SellsyClient.request = self._original  # type: ignore[method-assign]

    def of_account(self, account_id: str) -> Counter[str]:
        from bridge.sellsy.factory import quota_for_account

        with self._lock:
            return Counter(self.calls.get(id(quota_for_account(account_id)), Counter()))


def _wait(predicate: Any, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _check(value: float, minimum: float) -> dict[str, Any]:
    return {"value": round(value, 3), "minimum": round(minimum, 3), "comparison": "<=", "met": value <= minimum + 1e-9}


def bench_sellsy_calls(quotes: int = 20) -> dict[str, Any]:
    import httpx

    stack = _started_stack(size=max(400, quotes * 12))
    chosen = open_quotes(stack, quotes)  # before the account: their creation events are not its calls
    account_id = _demo_account(stack, "calls")
    owners = {int((e.get("owner") or {}).get("id") or 0) for e in chosen} - {0}
    base = f"/accounts/{account_id}/interventions"
    with (
        CallCounter() as counter,
        httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=30) as api,
    ):
        for estimate in chosen:
            stack.sandbox.act_set_estimate_status(estimate["id"], "accepted")
            _wait(lambda e=estimate: api.get(f"{base}/est-{e['id']}").status_code == 200)
        stack.pump.wait_idle(timeout=60)
        inbound = counter.of_account(account_id)
        created = [e for e in chosen if api.get(f"{base}/est-{e['id']}").status_code == 200]
        for estimate in created:
            body = {"technician": "Marc Dubois", "notes": "Filtre remplacé, pression OK"}
            api.post(f"{base}/est-{estimate['id']}/complete", json=body)
        stack.pump.wait_idle(timeout=120)
        outbound = counter.of_account(account_id) - inbound
    made, done = max(len(created), 1), max(len(created), 1)
    return {
        "quotes": len(chosen),
        "interventions_created": len(created),
        # A bench of no quote measures nothing: every chosen quote must have become an intervention.
        "every_quote_made": {
            "value": len(created),
            "target": len(chosen),
            "comparison": ">=",
            "met": 0 < len(created) == len(chosen),
        },
        "distinct_owners": len(owners),
        "calls_per_intervention": _check(sum(inbound.values()) / made, MIN_PER_INTERVENTION + (1 + len(owners)) / made),
        # The writes each completion needed (a quote that is not converted has no invoice nor marker).
        "calls_per_completion": _check(
            sum(outbound.values()) / done,
            (
                done
                + 2 * outbound["POST /invoices"]
                + outbound["POST /estimates/{id}/files"]
                + outbound["POST /comments"]
                + 1
            )
            / done,
        ),
        "inbound_calls_by_route": dict(sorted(inbound.items())),
        "completion_calls_by_route": dict(sorted(outbound.items())),
    }
