"""An in-memory Sellsy for flow tests on moto while the sandbox's document routes are not available.

It honours what the importer relies on: search pages of `limit` with opaque seek offsets, details with
rows, credit-note links, item prices, reference lists, the `updated_at` filter, and it counts calls per
route. Integration tests with the real sandbox live in test_import_sandbox.py.
"""

from __future__ import annotations

import base64
import copy
import json
import random
from typing import Any

from bridge.sellsy.client import Page
from bridge.sellsy.errors import NotFound


class Stats:
    def __init__(self) -> None:
        self.calls = 0
        self.responses_429 = 0
        self.remaining: dict[str, int] = {}


class Quota:
    def __init__(self) -> None:
        self.stats = Stats()


def _row(rng: random.Random, row_id: int, item_id: int) -> dict[str, Any]:
    qty = rng.randint(1, 5)
    unit = rng.randint(10, 500)
    raw = qty * unit
    disc = raw // 10 if rng.random() < 0.3 else 0
    exc = raw - disc
    tax = round(exc * 0.2, 2)
    return {
        "id": row_id,
        "type": "catalog",
        "related": {"id": item_id, "type": "product"},
        "reference": f"SKU-{item_id}",
        "description": f"Item {item_id}",
        "quantity": str(qty),
        "unit_amount": f"{unit}.00",
        "discount": {"type": "amount", "value": f"{disc}.00", "total": f"{disc}.00"},
        "amount_tax_exc": f"{exc}.00",
        "tax_rate": "20.00",
        "tax_amount": f"{tax:.2f}",
        "amount_tax_inc": f"{exc + tax:.2f}",
    }


class FakeSellsy:
    def __init__(
        self, *, invoices: int = 250, credit_notes: int = 20, items: int = 30, companies: int = 40, seed: int = 3
    ):
        rng = random.Random(seed)
        self.rng = rng
        self.quota = Quota()
        self.vanished: set[int] = set()  # listed, but gone when the detail is read (404)
        self.route_calls: dict[str, int] = {}
        self.companies = {
            i: {
                "id": i,
                "type": "client",
                "name": f"Company {i}",
                "email": f"c{i}@example.com",
                "updated_at": "2026-01-01T00:00:00+00:00",
            }
            for i in range(1, companies + 1)
        }
        self.individuals = {
            i: {
                "id": i,
                "type": "client",
                "first_name": "Ann",
                "last_name": f"Doe{i}",
                "email": None,
                "updated_at": "2026-01-01T00:00:00+00:00",
            }
            for i in range(1, 6)
        }
        self.items = {
            i: {
                "id": i,
                "type": "product" if i % 3 else "service",
                "name": f"Item {i}" if i % 5 else None,
                "reference": f"SKU-{i}",
                "is_archived": i % 7 == 0,
                "currency": "EUR",
            }
            for i in range(1, items + 1)
        }
        self.prices = {
            i: [{"rate_category_id": 1, "amount_excl_tax": f"{i * 3}.50", "amount_incl_tax": "0"}] for i in self.items
        }
        self.invoices: dict[int, dict[str, Any]] = {}
        row_id = 1000
        for n in range(1, invoices + 1):
            rows = []
            for _ in range(rng.randint(1, 3)):
                row_id += 1
                rows.append(_row(rng, row_id, rng.randint(1, items)))
            self.invoices[n] = self._doc(n, f"F-{n:05d}", rows, rng.choice(["EUR", "EUR", "USD", "XOF"]), "due")
        self.credit_notes: dict[int, dict[str, Any]] = {}
        self.links: dict[int, list[int]] = {}
        for n in range(1, credit_notes + 1):
            row_id += 1
            self.credit_notes[n] = self._doc(n, f"AV-{n:04d}", [_row(rng, row_id, 1)], "EUR", "stored")
            self.links[n] = [rng.randint(1, invoices)]

    def _doc(self, n: int, number: str, rows: list[dict[str, Any]], currency: str, status: str) -> dict[str, Any]:
        exc = sum(float(r["amount_tax_exc"]) for r in rows)
        inc = sum(float(r["amount_tax_inc"]) for r in rows)
        day = 1 + n % 28
        return {
            "id": n,
            "number": number,
            "status": status,
            "date": f"2026-03-{day:02d}",
            "due_date": "2026-04-30",
            "currency": currency,
            "amounts": {"total_excl_tax": f"{exc:.2f}", "total_incl_tax": f"{inc:.2f}"},
            "related": [{"type": "company", "id": 1 + n % 40}],
            "service_dates": {"start": "2026-03-01", "end": "2026-03-31"},
            "rows": rows,
        }

    # -- what the importer calls ---------------------------------------------------------------------
    def _count(self, route: str) -> None:
        self.quota.stats.calls += 1
        self.route_calls[route] = self.route_calls.get(route, 0) + 1

    def get(self, path: str, *, params: dict[str, Any] | None = None) -> Any:
        parts = path.strip("/").split("/")
        if parts[0] == "invoices" and int(parts[1]) in self.vanished:
            self._count("GET /invoices/{id}")
            raise NotFound("Invoice not found", status=404)
        if parts[0] == "invoices":
            self._count("GET /invoices/{id}")
            return copy.deepcopy(self.invoices[int(parts[1])])
        if parts[0] == "credit-notes":
            self._count("GET /credit-notes/{id}")
            return copy.deepcopy(self.credit_notes[int(parts[1])])
        raise AssertionError(f"unexpected GET {path}")

    def _source(self, path: str, filters: dict[str, Any]) -> list[dict[str, Any]]:
        parts = path.strip("/").split("/")
        if path == "/companies/search":
            rows = list(self.companies.values())
        elif path == "/individuals/search":
            rows = list(self.individuals.values())
        elif path == "/items/search":
            rows = [i for i in self.items.values() if not i["is_archived"] and i["type"] in filters.get("type", [])]
        elif path == "/invoices/search":
            rows = [{k: v for k, v in d.items() if k != "rows"} for d in self.invoices.values()]
        elif path == "/credit-notes/search":
            rows = [{k: v for k, v in d.items() if k != "rows"} for d in self.credit_notes.values()]
        elif parts[0] == "items" and parts[2] == "prices":
            rows = self.prices[int(parts[1])]
        elif parts[0] == "credit-notes" and parts[2] == "invoices":
            rows = [{"id": i} for i in self.links[int(parts[1])]]
        elif path == "/currencies":
            rows = [{"id": 1, "code": "EUR", "is_default": True}, {"id": 2, "code": "USD", "is_default": False}]
        elif path == "/rate-categories":
            rows = [{"id": 1, "label": "Standard", "currency": None}]
        elif path in ("/taxes", "/units"):
            rows = [{"id": 1}]
        else:
            raise AssertionError(f"unexpected list {path}")
        since = (filters.get("updated_at") or {}).get("start")
        if since:
            rows = [r for r in rows if r["updated_at"] >= since]
        return copy.deepcopy(rows)

    def iter_pages(
        self,
        path: str,
        *,
        search: bool,
        filters: dict[str, Any] | None = None,
        offset: str | None = None,
        limit: int = 100,
        **_: Any,
    ):
        rows = self._source(path, filters or {})
        start = 0 if offset is None else json.loads(base64.b64decode(offset))["i"]
        while True:
            key = "/".join("{id}" if p.isdigit() else p for p in path.split("/"))
            self._count(("POST " if search else "GET ") + key)
            chunk = rows[start : start + limit]
            end = start + len(chunk)
            nxt = base64.b64encode(json.dumps({"i": end}).encode()).decode() if end < len(rows) else None
            yield Page(chunk, nxt, len(rows), seen=end, listed_total=len(rows))
            if nxt is None:
                return
            start = end

    # -- acting as a user ------------------------------------------------------------------------------
    def mutate_invoices(self, fraction: float) -> list[int]:
        ids = sorted(self.invoices)[:: max(1, int(1 / fraction))]
        for i in ids:
            doc = self.invoices[i]
            doc["status"] = "paid"
            doc["rows"][0]["description"] = "changed"
        return ids
