"""The intervention report rendered as a PDF when the field app sends none (F5).

Pure: intervention mapping in, PDF bytes out (fpdf2). The text is set in Open Sans, a Unicode TTF that ships
inside a pinned runtime package (so inside the Lambda artifact) and is embedded, subset, in each PDF: core PDF
fonts only encode Latin-1, which lacks œ, €, ’ and –. Characters the font has no glyph for (e.g. emoji) are
replaced visibly rather than failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from bridge.domain.triggers import format_address

TITLE = "Intervention report"
_FONT = "OpenSans"
_FONT_FILES = {"": "OpenSans-Regular.ttf", "B": "OpenSans-Bold.ttf"}
_MISSING_GLYPH = "?"


def _font_path(style: str) -> str:
    return str(files("ttf_opensans") / "ttf" / _FONT_FILES[style])


@cache
def _glyphs() -> frozenset[int]:
    """Code points both embedded styles can draw (read once per process)."""
    from fontTools.ttLib import TTFont

    common: set[int] | None = None
    for style in _FONT_FILES:
        with TTFont(_font_path(style), lazy=True) as font:
            mapped = set(font.getBestCmap())
        common = mapped if common is None else common & mapped
    return frozenset(common or ())


def _text(value: Any) -> str:
    """Keep every character the font draws (French punctuation included); replace the rest visibly."""
    text = "" if value is None else str(value)
    drawable = _glyphs()
    return "".join(c if ord(c) in drawable or c in "\n\t" else _MISSING_GLYPH for c in text)


class _Report(FPDF):
    def __init__(self, heading: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        for style in _FONT_FILES:
            self.add_font(_FONT, style, _font_path(style))
        self._heading = heading
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(16, 16, 16)

    def header(self) -> None:
        self.set_font(_FONT, "B", 15)
        self.cell(0, 9, _text(self._heading), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(60, 60, 60)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(3)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(_FONT, "", 8)
        self.cell(0, 6, f"Page {self.page_no()}/{{nb}}", align="R")

    def section(self, title: str) -> None:
        self.ln(2)
        self.set_font(_FONT, "B", 11)
        self.cell(0, 7, _text(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(_FONT, "", 10)

    def field(self, label: str, value: Any) -> None:
        if value in (None, ""):
            return
        self.set_font(_FONT, "B", 10)
        self.cell(42, 6, _text(label))
        self.set_font(_FONT, "", 10)
        self.multi_cell(0, 6, _text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def paragraph(self, text: Any) -> None:
        self.multi_cell(0, 5.5, _text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _contact_line(contact: Mapping[str, Any]) -> str:
    name = " ".join(str(contact.get(k) or "") for k in ("first_name", "last_name")).strip() or contact.get("name")
    parts = [name, contact.get("phone") or contact.get("phone_number"), contact.get("email")]
    return " - ".join(str(p) for p in parts if p)


def render_report(intervention: Mapping[str, Any]) -> bytes:
    """A one-to-few page A4 report: customer, address, technician, work done, used items, notes, dates."""
    number = intervention.get("number") or intervention.get("id")
    pdf = _Report(f"{TITLE} {number}")
    pdf.set_title(_text(f"{TITLE} {number}"))
    pdf.set_creator("sellsy-bridge")
    pdf.alias_nb_pages()
    pdf.add_page()
    for section in (_customer_section, _intervention_section, _work_section, _used_items_section, _notes_section):
        section(pdf, intervention)
    return bytes(pdf.output())


def _customer_section(pdf: _Report, intervention: Mapping[str, Any]) -> None:
    customer = intervention.get("customer") or {}
    pdf.section("Customer")
    pdf.field("Customer", customer.get("name") or intervention.get("customer_name"))
    pdf.field("Address", format_address(intervention.get("address") or {}))
    pdf.field("Contact", _contact_line(intervention.get("contact") or {}))


def _intervention_section(pdf: _Report, intervention: Mapping[str, Any]) -> None:
    pdf.section("Intervention")
    pdf.field("Reference", intervention.get("id"))
    pdf.field("Subject", intervention.get("subject"))
    pdf.field("Technician", intervention.get("technician"))
    pdf.field("Scheduled", intervention.get("scheduled_at") or intervention.get("due_date"))
    pdf.field("Started", intervention.get("started_at"))
    pdf.field("Completed", intervention.get("completed_at"))
    pdf.field("Quote", intervention.get("estimate_number") or intervention.get("estimate_id"))


def _work_section(pdf: _Report, intervention: Mapping[str, Any]) -> None:
    work = intervention.get("work_done") or intervention.get("description")
    rows = intervention.get("rows") or []
    if not work and not rows:
        return
    pdf.section("Work done")
    if work:
        pdf.paragraph(work)
    for row in rows:
        text = row.get("description") or row.get("reference") or ""
        if text:
            quantity = row.get("quantity")
            pdf.paragraph(f"- {text}" + (f" (x {quantity})" if quantity not in (None, "") else ""))


def _used_items_section(pdf: _Report, intervention: Mapping[str, Any]) -> None:
    items = intervention.get("used_items") or []
    pdf.section("Used items")
    if not items:
        pdf.paragraph("None")
        return
    pdf.set_font(_FONT, "B", 10)
    widths = (45, 95, 38)
    for width, title in zip(widths, ("SKU", "Description", "Quantity"), strict=True):
        pdf.cell(width, 6, _text(title), border="B")
    pdf.ln(6)
    pdf.set_font(_FONT, "", 10)
    for item in items:
        pdf.cell(widths[0], 6, _text(item.get("sku")))
        pdf.cell(widths[1], 6, _text(item.get("description") or "")[:60])
        pdf.cell(widths[2], 6, _text(item.get("quantity")), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _notes_section(pdf: _Report, intervention: Mapping[str, Any]) -> None:
    if intervention.get("notes"):
        pdf.section("Notes")
        pdf.paragraph(intervention["notes"])
