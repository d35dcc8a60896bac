"""The PDF layout alone: text read back from the bytes, with and without a Unicode font."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from pypdf import PdfReader

from clearinghouse.public import pdf
from clearinghouse.public.pdf import Section, render_pdf
from clearinghouse.public.printing import PrintedGroup


def group(number: int, name: str = "") -> PrintedGroup:
    return PrintedGroup(
        id=number,
        uuid=f"00000000-0000-4000-8000-{number:012d}",
        slug=f"circle-{number}",
        name=name or f"Circle {number}",
        description="",
        organization="",
        concerns=("Grief",),
        attendance="In person",
        format="Peer-led",
        cost="Free",
        languages=("English",),
        town="Burlington, VT",
        address=("Fletcher Free Library", "235 College St", "Burlington, VT 05401"),
        approximate=False,
        schedule=("Tuesdays, 7:00–8:30 pm Eastern",),
        join=(),
        contact=("Phone: 802-555-0100",),
        meets_in_person=True,
        updated_at=datetime(2026, 10, 1, 12, 0),
    )


def text_of(body: bytes) -> str:
    reader = PdfReader(io.BytesIO(body))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def url(slug: str) -> str:
    return f"https://directory.example.org/groups/{slug}"


def test_sections_headings_groups_and_legend_read_back_in_order() -> None:
    body = render_pdf(
        "Grief groups in Vermont",
        ["Two towns."],
        [Section("Burlington, VT", [group(1)]), Section("Rutland, VT", [group(2)])],
        url,
    )
    assert body.startswith(b"%PDF-")
    text = text_of(body)
    order = ["Grief groups in Vermont", "How to read this list", "Burlington, VT", "Circle 1",
             "235 College St", "Rutland, VT", "Circle 2", url("circle-2")]  # fmt: skip
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)


def test_a_long_list_breaks_across_pages_with_numbered_footers() -> None:
    body = render_pdf("Long list", [], [Section("", [group(n) for n in range(60)])], url)
    reader = PdfReader(io.BytesIO(body))
    assert len(reader.pages) > 3
    assert f"page {len(reader.pages)}/{len(reader.pages)}" in reader.pages[-1].extract_text()
    assert "Circle 59" in text_of(body)


def test_an_empty_list_says_so() -> None:
    body = render_pdf("Nothing", [], [Section("Online", [])], url, empty_text="No groups yet.")
    assert "No groups yet." in text_of(body)


def test_without_a_unicode_font_latin_text_survives_and_the_rest_is_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pdf, "FONT_CANDIDATES", ())
    body = render_pdf("Café “Amigos” – grupo", [], [Section("", [group(1, "Duelo 悲嘆")])], url)
    text = text_of(body)
    assert 'Café "Amigos" - grupo' in text
    assert "Duelo ??" in text
