"""Report uploads through presigned URLs on the moto server (real HTTP PUT)."""

from __future__ import annotations

import httpx
import pytest

from bridge.adapters import reports_store
from bridge.domain.report_pdf import render_report


def test_presigned_put_then_inspect_accepts_a_pdf(aws):
    pdf = render_report({"id": "est-1"})
    ticket = reports_store.upload_ticket("acc1", "est-1", size=len(pdf))
    assert ticket.key.startswith("reports/acc1/est-1/") and ticket.key.endswith(".pdf")
    response = httpx.put(ticket.url, content=pdf, headers=ticket.headers, timeout=10)
    assert response.status_code == 200, response.text
    info = reports_store.inspect("acc1", "est-1", ticket.key)
    assert info.size == len(pdf)
    assert reports_store.read(ticket.key) == pdf


def test_inspect_refuses_foreign_keys_missing_objects_and_non_pdf(aws):
    with pytest.raises(reports_store.ReportProblem, match="not issued"):
        reports_store.inspect("acc1", "est-1", "reports/acc2/est-1/upload-x.pdf")
    with pytest.raises(reports_store.ReportProblem, match="no uploaded report"):
        reports_store.inspect("acc1", "est-1", "reports/acc1/est-1/upload-missing.pdf")
    key = "reports/acc1/est-1/upload-text.pdf"
    aws.client("s3").put_object(Bucket=aws.env["REPORTS_BUCKET"], Key=key, Body=b"hello, not a pdf")
    with pytest.raises(reports_store.ReportProblem, match="not a PDF"):
        reports_store.inspect("acc1", "est-1", key)


def test_upload_ticket_refuses_sizes_above_15_mb():
    with pytest.raises(reports_store.ReportProblem, match="15 MB"):
        reports_store.upload_ticket("acc1", "est-1", size=15 * 1024 * 1024 + 1)
