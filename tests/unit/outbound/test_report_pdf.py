"""The generated PDF parses and carries the intervention's data."""

from __future__ import annotations

import io

from pypdf import PdfReader

from bridge.domain.report_pdf import render_report


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_report_contains_the_intervention_data():
    pdf = render_report(
        {
            "id": "itv-9",
            "number": "INT-0009",
            "subject": "Entretien chaudière",
            "customer": {"name": "Café Éloïse"},
            "address": {"address_line_1": "12 avenue Foch", "postal_code": "75016", "city": "Paris"},
            "contact": {"first_name": "Anne", "last_name": "Roux", "phone": "+33 6 12 34 56 78"},
            "technician": "Marc Dubois",
            "work_done": "Burner cleaned, pressure checked 🔧",
            "used_items": [{"sku": "FILT-20", "quantity": "2", "description": "Filtre 20µm"}],
            "notes": "Next visit in spring",
            "completed_at": "2026-11-20T15:30:00+00:00",
        }
    )
    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf)
    for expected in (
        "INT-0009",
        "Café Éloïse",
        "12 avenue Foch, 75016 Paris",
        "Anne Roux",
        "Marc Dubois",
        "Entretien chaudière",
        "Burner cleaned",
        "FILT-20",
        "Next visit in spring",
        "2026-11-20T15:30:00+00:00",
    ):
        assert expected in text, expected


def test_report_without_items_or_notes_still_renders():
    text = text_of(render_report({"id": "itv-1"}))
    assert "Intervention report itv-1" in text
    assert "None" in text
