"""The decision letter as PDF (no I/O): a well-formed file (every cross-reference points at its
object), PDF/A-3b markers (sRGB output intent, XMP with ``pdfaid``, document language), the
bundled font embedded and no unembedded standard font, German text and long letters."""

from __future__ import annotations

import re
import zlib
from datetime import UTC, datetime

from case_service.documents.pdf import Letter, render_pdf
from case_service.documents.seed import demo_templates
from case_service.documents.templates import RenderedTexts, render, sample_context

LETTER = Letter(locale="de", tenant_name="Musterstadt",
                office_address="Bürgerbüro, Rathausplatz 1, 12345 Musterstadt",
                opening_hours="Mo-Fr 8-12 Uhr", legal_basis="§ 45 StVO",
                recipient=["Erika Müller-Lüdenscheidt", "Heidestraße 17", "51147 Köln"],
                date="09.03.2026", case_number="MS-2026-000123",
                outcome=[("Ausweisnummer", "BP-2026-000123"), ("Gültig bis", "31.03.2027")],
                created_at=datetime(2026, 3, 9, 10, 0, tzinfo=UTC))
TEXTS = RenderedTexts(title="Bescheid", subject="Größe Übermaß, Straße ß €",
                      body=["Sehr geehrte Frau Müller-Lüdenscheidt,",
                            "Ihr Antrag (Ämter, Bärbel) …"],
                      closing="Mit freundlichen Grüßen", legal_remedy="Widerspruch …")


def well_formed(pdf: bytes) -> int:
    """Checks the trailer and cross-reference table; returns the number of objects."""
    assert pdf.startswith(b"%PDF-1.7\n")
    assert pdf.rstrip().endswith(b"%%EOF")
    start = int(re.findall(rb"startxref\s+(\d+)\s+%%EOF", pdf)[-1])
    assert pdf[start:start + 4] == b"xref"
    header = re.match(rb"xref\s+0 (\d+)\s+", pdf[start:])
    assert header is not None
    count = int(header.group(1))
    entries = re.findall(rb"(\d{10}) (\d{5}) ([nf])", pdf[start + header.end():])[:count]
    assert len(entries) == count
    for number, (offset, _generation, kind) in enumerate(entries):
        if kind == b"n":
            assert pdf[int(offset):].startswith(f"{number} 0 obj".encode()), number
    return count


def streams(pdf: bytes) -> list[bytes]:
    """The decompressed contents of the FlateDecode streams."""
    out = []
    for match in re.finditer(rb"/Filter /FlateDecode[^>]*>>\s*stream\r?\n", pdf):
        end = pdf.index(b"endstream", match.end())
        try:
            out.append(zlib.decompress(pdf[match.end():end]))
        except zlib.error:
            continue
    return out


def test_the_letter_is_pdfa_3b_with_its_font_embedded() -> None:
    pdf = render_pdf(LETTER, TEXTS)
    assert well_formed(pdf) > 10
    assert b"/OutputIntents" in pdf
    assert b"/GTS_PDFA1" in pdf
    assert b"/DestOutputProfile" in pdf
    assert b"(sRGB)" in pdf
    assert b"/Lang (de-DE)" in pdf
    xmp = pdf[pdf.index(b"<x:xmpmeta"):pdf.index(b"</x:xmpmeta>")]
    assert b"<pdfaid:part>3</pdfaid:part>" in xmp
    assert b"<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    fonts = re.findall(rb"/BaseFont /([A-Z]{6}\+)?([\w-]+)", pdf)
    assert {name for _subset, name in fonts} == {b"DejaVuSansBook", b"DejaVuSansBold"}
    assert pdf.count(b"/FontFile2") == 2
    assert b"/Encrypt" not in pdf


def test_german_text_is_set_in_the_embedded_font() -> None:
    pdf = render_pdf(LETTER, TEXTS)
    # The ToUnicode maps of the embedded subsets name the umlauts' code points, so the text is
    # in the font (and extractable), not replaced by a fallback.
    cmaps = b"".join(re.findall(rb"begincmap.*?endcmap", pdf, re.DOTALL)
                     + [s for s in streams(pdf) if b"begincmap" in s])
    for char in "öüÜßäÄ€":
        assert f"<{ord(char):04X}>".encode() in cmaps, char


def test_a_long_letter_runs_over_pages_with_numbers() -> None:
    long = RenderedTexts(title="Bescheid", subject="Betreff", body=["Absatz. " * 300] * 8,
                         closing="Gruß", legal_remedy="Widerspruch. " * 50)
    pdf = render_pdf(LETTER, long)
    well_formed(pdf)
    pages = len(re.findall(rb"/Type /Page\b", pdf))
    assert pages >= 3
    contents = [s for s in streams(pdf) if b" Tj" in s or b"TJ" in s]
    assert not any(b"{nb}" in s for s in contents)


def test_every_demo_template_renders_to_a_letter_in_both_languages() -> None:
    for row in demo_templates():
        for locale in ("de", "en"):
            for decision in ("approved", "rejected"):
                texts = render(row["content"][locale], sample_context(locale, decision))
                assert texts.title
                assert texts.legal_remedy
                assert "{{" not in texts.subject
                well_formed(render_pdf(LETTER, texts))
