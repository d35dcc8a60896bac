"""Printed lists of groups as PDF, drawn with fpdf2 (pure Python: no browser, no server).

`render_pdf` lays out a title, a few lines saying what the list is, a legend and sections of
groups (one section per town in a directory booklet); each group is kept on one page where it
fits.  Text goes through a Unicode TrueType font when the machine has one (DejaVu or
Liberation, as Debian ships them); otherwise the PDF core font is used and characters outside
Latin-1 are replaced, so a PDF is always produced.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

from clearinghouse.public.printing import LEGEND, PrintedGroup, facts_line

# Regular and bold faces, first found wins.
FONT_CANDIDATES = (
    (
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ),
    (
        Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
        Path("/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
    ),
)
_TYPOGRAPHY = str.maketrans(
    {"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "·": "-"}
)
LINE = 4.6  # mm, at 9.5 pt


@dataclass(frozen=True)
class Section:
    heading: str  # "" for a list without sections
    groups: Sequence[PrintedGroup]


class _Document(FPDF):
    """Letter pages with a running footer: the list's title and the page number."""

    running_title = ""
    unicode_font = False

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.font_family, "", 8)
        self.set_text_color(80)
        self.cell(0, 6, self.clean(f"{self.running_title} - page {self.page_no()}/{{nb}}"))

    def clean(self, text: str) -> str:
        return text if self.unicode_font else _latin1(text)

    def _write(self, text: str, size: float = 9.5, bold: bool = False, gap: float = 0) -> None:
        self.set_font(self.font_family, "B" if bold else "", size)
        text, height = self.clean(text), LINE * size / 9.5
        # fpdf2's line breaking measures as it goes (slow): a line that fits is drawn whole.
        if self.get_string_width(text) < self.epw:
            self.cell(0, height, text, new_x="LMARGIN", new_y="NEXT")
        else:
            self.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT")
        if gap:
            self.ln(gap)


def _document(title: str) -> _Document:
    pdf = _Document(format="Letter", unit="mm")
    pdf.set_margins(16, 14, 16)
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.running_title = title
    pdf.set_title(title)
    pdf.set_creator("Self-Help Group Clearinghouse")
    for regular, bold in FONT_CANDIDATES:
        if regular.is_file() and bold.is_file():
            pdf.add_font("Body", "", str(regular))
            pdf.add_font("Body", "B", str(bold))
            pdf.set_font("Body", "", 9.5)
            pdf.unicode_font = True
            return pdf
    pdf.set_font("Helvetica", "", 9.5)
    return pdf


def _latin1(text: str) -> str:
    """Text the core font can draw: typographic marks plainly, accents kept, others as '?'."""
    text = unicodedata.normalize("NFC", text.translate(_TYPOGRAPHY))
    return text.encode("latin-1", "replace").decode("latin-1")


def render_pdf(
    title: str,
    intro: Sequence[str],
    sections: Sequence[Section],
    page_url: Callable[[str], str],
    empty_text: str = "No groups match.",
) -> bytes:
    """The list as PDF bytes; `page_url(slug)` gives each group's address on the web."""
    pdf = _document(title)
    pdf.add_page()
    pdf._write(title, size=16, bold=True, gap=1)
    for line in intro:
        pdf._write(line)
    pdf.ln(2)
    _legend(pdf)
    if not any(section.groups for section in sections):
        pdf._write(empty_text, size=11)
    for section in sections:
        if not section.groups:
            continue
        if section.heading:
            if pdf.will_page_break(20):
                pdf.add_page()
            pdf.start_section(pdf.clean(section.heading))
            pdf.ln(2)
            pdf._write(section.heading, size=13, bold=True, gap=1)
        for group in section.groups:
            _group(pdf, group, page_url(group.slug))
    return bytes(pdf.output())


def _legend(pdf: _Document) -> None:
    pdf._write("How to read this list", size=10.5, bold=True)
    for term, meaning in LEGEND:
        pdf._write(f"{term}: {meaning}", size=8.5)
    pdf.ln(3)


def _group(pdf: _Document, group: PrintedGroup, url: str) -> None:
    lines: list[tuple[str, float, bool]] = [(group.name, 11, True)]
    if group.organization:
        lines.append((group.organization, 9.5, False))
    if group.concerns:
        lines.append(("Topics: " + ", ".join(group.concerns), 9.5, False))
    lines.append((facts_line(group), 9.5, False))
    if group.address:
        suffix = " (approx.)" if group.approximate else ""
        lines.append(("Where: " + ", ".join(group.address) + suffix, 9.5, False))
    lines += [("When: " + line, 9.5, False) for line in group.schedule]
    lines += [(line, 9.5, False) for line in group.join]
    lines += [(line, 9.5, False) for line in group.contact]
    lines.append((url, 8, False))
    # Keep a group on one page where it fits (a rough height: wrapped lines count double).
    height = sum(LINE * (2 if len(text) > 95 else 1) for text, _size, _bold in lines) + 4
    if pdf.will_page_break(height):
        pdf.add_page()
    for text, size, bold in lines:
        pdf._write(text, size=size, bold=bold)
    pdf.ln(3)
