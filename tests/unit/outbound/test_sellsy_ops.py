"""Decisions taken on Sellsy's answers: prospect handling, marker matching, SKU matching.

A small scripted stand-in for the client is enough here: these tests check the decisions, the
integration and end-to-end tests check the same calls against the sandbox.
"""

from __future__ import annotations

from typing import Any

import pytest

from bridge.flows.outbound import sellsy_ops


class Scripted:
    def __init__(self, gets: dict[str, Any] | None = None, pages: dict[str, list[dict[str, Any]]] | None = None):
        self.gets = gets or {}
        self.pages = pages or {}
        self.calls: list[tuple[str, str, Any]] = []

    def get(self, path, *, params=None):
        self.calls.append(("GET", path, params))
        return self.gets[path]

    def post(self, path, *, json=None, params=None):
        self.calls.append(("POST", path, json))
        return {"id": 1}

    def put(self, path, *, json=None, params=None):
        self.calls.append(("PUT", path, json))
        return {}

    def iterate(self, path, *, search, **kwargs):
        self.calls.append(("ITER", path, kwargs.get("filters")))
        return iter(self.pages.get(path, []))

    def upload_file(self, path, *, filename, content, content_type="application/pdf"):
        raise AssertionError("not used")


def test_a_client_is_invoiced_as_is():
    sellsy = Scripted(gets={"/companies/5": {"id": 5, "type": "client"}})
    assert sellsy_ops.ensure_invoiceable(sellsy, "company", 5, convert_prospects=False) == "client"
    assert [c[0] for c in sellsy.calls] == ["GET"]


def test_a_prospect_is_an_error_unless_conversion_is_allowed():
    sellsy = Scripted(gets={"/individuals/8": {"id": 8, "type": "prospect"}})
    with pytest.raises(sellsy_ops.CustomerIsProspect, match="prospect"):
        sellsy_ops.ensure_invoiceable(sellsy, "individual", 8, convert_prospects=False)
    assert not [c for c in sellsy.calls if c[0] == "POST"]
    assert sellsy_ops.ensure_invoiceable(sellsy, "individual", 8, convert_prospects=True) == "converted"
    assert sellsy.calls[-1] == (
        "POST",
        "/individuals/8/convert",
        {"target": "client", "also_enable_custom_fields_on_target": {"mode": "none"}},
    )


MARK = "[sb:est-1:t.abc123.0]"
CUSTOMER = [{"type": "company", "id": 4}, {"type": "opportunity", "id": 9}]


def cf(value: str | None) -> dict[str, Any]:
    return {"_embed": {"custom_fields": [{"id": 5, "value": value}]}}


def test_invoice_marker_is_found_in_the_private_field_first():
    pages = {
        "/invoices/search": [
            {"id": 1, "order_reference": "", "subject": f"{MARK} moved", **cf(None)},
            {"id": 2, "order_reference": "", "subject": "x", **cf("[sb:est-1:t.abc123.1]")},
            {"id": 3, "order_reference": "", "subject": "Entretien", **cf(MARK)},
        ]
    }
    sellsy = Scripted(pages=pages)
    found = sellsy_ops.find_invoice(sellsy, CUSTOMER, MARK, field_id=5)
    assert found is not None and found["id"] == 3
    assert sellsy.calls[0][2] == {"related_objects": [{"type": "company", "id": 4}]}


def test_invoices_marked_before_the_move_are_still_found():
    pages = {"/invoices/search": [{"id": 7, "order_reference": MARK, "subject": "Entretien", **cf(None)}]}
    assert sellsy_ops.find_invoice(Scripted(pages=pages), CUSTOMER, MARK, field_id=5)["id"] == 7


def test_an_unmarked_invoice_made_since_the_attempt_is_adopted_only_if_it_is_the_one():
    since = "2026-11-20T10:00:00+00:00"
    own = {"id": 8, "order_reference": "", "subject": "Entretien", "parent": {"type": "estimate", "id": 1}, **cf(None)}
    other = {"id": 9, "order_reference": "", "subject": "Autre", **cf(None)}
    pages = {"/invoices/search": [other, own]}

    def is_own(invoice: Any) -> bool:
        return (invoice.get("parent") or {}).get("id") == 1

    sellsy = Scripted(pages=pages)
    assert sellsy_ops.find_invoice(sellsy, CUSTOMER, MARK, field_id=5, since=since, orphan=is_own)["id"] == 8
    assert sellsy.calls[0][2]["created"] == {"start": since}
    # Without a start time nothing unmarked is adopted, and two candidates are one too many.
    assert sellsy_ops.find_invoice(Scripted(pages=pages), CUSTOMER, MARK, field_id=5, orphan=is_own) is None
    twice = {"/invoices/search": [own, {**own, "id": 10}]}
    assert (
        sellsy_ops.find_invoice(Scripted(pages=twice), CUSTOMER, MARK, field_id=5, since=since, orphan=is_own) is None
    )


def test_the_marker_field_must_exist_and_never_print():
    field = {"id": 5, "code": "sellsy-bridge-marker", "type": "simple-text", "show_on_pdf": False}
    assert sellsy_ops.marker_field(Scripted(pages={"/custom-fields/search": [field]})) == 5
    with pytest.raises(sellsy_ops.MarkerFieldUnusable, match="not shown on PDF"):
        sellsy_ops.marker_field(Scripted(pages={"/custom-fields/search": [{**field, "show_on_pdf": True}]}))
    with pytest.raises(sellsy_ops.MarkerFieldUnusable, match="no document custom field"):
        sellsy_ops.marker_field(Scripted(pages={"/custom-fields/search": []}))


def test_catalogue_keeps_exact_non_archived_references():
    pages = {"/items/search": [{"id": 1, "reference": "PRO-1X"}, {"id": 2, "reference": "PRO-1", "is_archived": True}]}
    assert sellsy_ops.catalogue_for(Scripted(pages=pages), ["PRO-1"]) == {}
    pages["/items/search"].append({"id": 3, "reference": "PRO-1"})
    assert sellsy_ops.catalogue_for(Scripted(pages=pages), ["PRO-1"])["PRO-1"]["id"] == 3
