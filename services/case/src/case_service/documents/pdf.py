"""The decision letter as PDF/A-3b with fpdf2: letterhead (the office's address), recipient,
date and case number, subject, body, the outcome as a table, closing, the notice of legal
remedies and page numbers. Text is set in the bundled DejaVu Sans (embedded as a subset), so
every character of German and most European languages prints; fpdf2 adds the sRGB output
intent and the XMP metadata with ``pdfaid`` that PDF/A asks for. See ADR 0014."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Final

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from case_service.documents.templates import RenderedTexts

__all__ = ["COMPLIANCE", "FONT", "Letter", "render_pdf"]

FONT: Final = "DejaVuSans"
#: fpdf2's name of the PDF/A profile the letters follow.
COMPLIANCE: Final = "PDFA_3B"
_FONTS = resources.files("case_service.documents") / "fonts"
_WORDS: Final = {
    "de": {"date": "Datum", "case": "Aktenzeichen", "page": "Seite {page} von {pages}",
           "outcome": "Ergebnis", "remedy": "Rechtsbehelfsbelehrung",
           "hours": "Öffnungszeiten", "basis": "Rechtsgrundlage"},
    "en": {"date": "Date", "case": "Case number", "page": "Page {page} of {pages}",
           "outcome": "Outcome", "remedy": "Notice of legal remedies",
           "hours": "Opening hours", "basis": "Legal basis"},
}


@dataclass(frozen=True)
class Letter:
    """Everything a decision letter prints besides its rendered texts."""

    locale: str
    tenant_name: str
    office_address: str
    opening_hours: str
    legal_basis: str
    recipient: Sequence[str]
    """Name and address lines of the applicant (may be empty)."""
    date: str
    case_number: str
    outcome: Sequence[tuple[str, str]] = field(default_factory=tuple)
    """Label and value per row of the outcome table (empty: no table)."""
    created_at: datetime | None = None


class _Document(FPDF):
    def __init__(self, letter: Letter) -> None:
        super().__init__(format="A4", unit="mm", enforce_compliance=COMPLIANCE)
        self.letter = letter
        self.words = _WORDS.get(letter.locale, _WORDS["de"])

    def footer(self) -> None:
        self.set_y(-18)
        self.set_font(FONT, size=8)
        self.set_text_color(90, 90, 90)
        left = self.letter.office_address
        if self.letter.opening_hours:
            left = f"{left} · {self.words['hours']}: {self.letter.opening_hours}"
        self.multi_cell(self.epw - 30, 4, left, new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.cell(30, 4, self.words["page"].format(page=self.page_no(), pages="{nb}"),
                  align="R")
        self.set_text_color(0, 0, 0)


def _letterhead(pdf: _Document, letter: Letter) -> None:
    pdf.set_font(FONT, "B", 15)
    pdf.cell(0, 8, letter.tenant_name, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=9)
    pdf.multi_cell(0, 4.5, letter.office_address, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(8)
    top = pdf.get_y()
    pdf.set_font(FONT, size=10)
    for line in letter.recipient:
        pdf.cell(95, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + 110, top)
    pdf.set_font(FONT, size=9)
    for label, value in ((pdf.words["date"], letter.date),
                         (pdf.words["case"], letter.case_number)):
        pdf.set_x(pdf.l_margin + 110)
        pdf.cell(28, 5, f"{label}:")
        pdf.cell(0, 5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(bottom, pdf.get_y()) + 10)


def _paragraph(pdf: _Document, text: str, *, size: float = 10, bold: bool = False,
               gap: float = 3) -> None:
    pdf.set_font(FONT, "B" if bold else "", size)
    pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(gap)


def _outcome(pdf: _Document, rows: Sequence[tuple[str, str]]) -> None:
    pdf.set_font(FONT, "B", 10)
    pdf.cell(0, 6, pdf.words["outcome"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=10)
    with pdf.table(col_widths=(45, 75), width=120, align="LEFT", first_row_as_headings=False,
                   line_height=6) as table:
        for label, value in rows:
            row = table.row()
            row.cell(label)
            row.cell(value)
    pdf.ln(4)


def render_pdf(letter: Letter, texts: RenderedTexts) -> bytes:
    """The letter as PDF/A-3b bytes (A4). Pure: no I/O but reading the bundled fonts."""
    # fontTools logs every glyph of every subset at INFO: noise in the service's log.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    pdf = _Document(letter)
    pdf.add_font(FONT, "", str(_FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(_FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_lang("en-GB" if letter.locale == "en" else "de-DE")
    pdf.set_title(texts.title or texts.subject)
    pdf.set_subject(texts.subject)
    pdf.set_author(letter.tenant_name)
    pdf.set_creator("city platform: case")
    if letter.created_at is not None:
        pdf.set_creation_date(letter.created_at)
    pdf.set_margins(22, 18, 20)
    pdf.set_auto_page_break(auto=True, margin=24)
    pdf.add_page()
    _letterhead(pdf, letter)
    if texts.title:
        _paragraph(pdf, texts.title, size=14, bold=True, gap=2)
    if texts.subject:
        _paragraph(pdf, texts.subject, bold=True, gap=5)
    for paragraph in texts.body:
        _paragraph(pdf, paragraph)
    if letter.outcome:
        _outcome(pdf, letter.outcome)
    if letter.legal_basis:
        _paragraph(pdf, f"{pdf.words['basis']}: {letter.legal_basis}", size=9)
    if texts.closing:
        _paragraph(pdf, texts.closing, gap=6)
    if texts.legal_remedy:
        _paragraph(pdf, pdf.words["remedy"], size=10, bold=True, gap=1)
        _paragraph(pdf, texts.legal_remedy, size=9)
    return bytes(pdf.output())
