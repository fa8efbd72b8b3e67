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


def test_invoice_marker_matches_order_reference_or_subject_suffix_only():
    mark = "[sb:est-1:t.abc123.0]"
    pages = {
        "/invoices/search": [
            {"id": 1, "order_reference": "", "subject": f"{mark} moved"},
            {"id": 2, "order_reference": "[sb:est-1:t.abc123.1]", "subject": "x"},
            {"id": 3, "order_reference": "", "subject": f"Entretien {mark}"},
        ]
    }
    sellsy = Scripted(pages=pages)
    found = sellsy_ops.find_invoice(sellsy, [{"type": "company", "id": 4}, {"type": "opportunity", "id": 9}], mark)
    assert found is not None and found["id"] == 3
    assert sellsy.calls[0][2] == {"related_objects": [{"type": "company", "id": 4}]}


def test_catalogue_keeps_exact_non_archived_references():
    pages = {"/items/search": [{"id": 1, "reference": "PRO-1X"}, {"id": 2, "reference": "PRO-1", "is_archived": True}]}
    assert sellsy_ops.catalogue_for(Scripted(pages=pages), ["PRO-1"]) == {}
    pages["/items/search"].append({"id": 3, "reference": "PRO-1"})
    assert sellsy_ops.catalogue_for(Scripted(pages=pages), ["PRO-1"])["PRO-1"]["id"] == 3
