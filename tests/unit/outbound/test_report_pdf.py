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


def test_french_text_and_typography_come_back_out_of_the_pdf():
    """Characters outside Latin-1 (œ, €, ’, –, «») are drawn by the embedded font, not turned into '?'."""
    pdf = render_report(
        {
            "id": "itv-2",
            "subject": "Main d’œuvre – révision",
            "customer": {"name": "Œnologie & Fils"},
            "work_done": "Main d'œuvre : 2 h à 45 € — « urgent »",
            "used_items": [{"sku": "JOINT–12", "quantity": "1", "description": "Joint d’étanchéité"}],
            "notes": "Cœur de chauffe remplacé",
        }
    )
    text = text_of(pdf)
    for expected in (
        "Main d’œuvre – révision",
        "Œnologie & Fils",
        "Main d'œuvre : 2 h à 45 € — « urgent »",
        "JOINT–12",
        "Joint d’étanchéité",
        "Cœur de chauffe remplacé",
    ):
        assert expected in text, expected
    assert "?uvre" not in text
    assert b"/FontFile2" in pdf  # the TTF is embedded, so the PDF renders the same everywhere


def test_a_character_the_font_cannot_draw_is_replaced_visibly():
    text = text_of(render_report({"id": "itv-3", "notes": "Réglé 🔧 ok"}))
    assert "Réglé ? ok" in text
