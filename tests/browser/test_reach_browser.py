"""Public reach in Chromium: the embed on another origin's page, and printing a search."""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pypdf import PdfReader

from tests.browser.conftest import LiveServer
from tests.browser.test_public_browser import axe_violations

pytestmark = pytest.mark.browser


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def partner_site(live_server: LiveServer, tmp_path: Path) -> Iterator[str]:
    """A partner's page with the copy-paste snippet, served from another loopback origin."""
    (tmp_path / "index.html").write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Partner</title>"
        "</head><body><h1>Our community resources</h1>"
        f'<script src="{live_server.url}/embed.js" data-concern="grief" data-near="60614" '
        'data-accent="#663399">'
        "</script><p id='after'>Text after the snippet</p></body></html>",
        encoding="utf-8",
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/index.html"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def strict_context(chromium_browser: Browser) -> Iterator[BrowserContext]:
    """A context that obeys every page's CSP (framing rules included)."""
    context = chromium_browser.new_context()
    yield context
    context.close()


def test_embed_on_another_origin_searches_sizes_itself_and_sets_no_cookie(
    strict_context: BrowserContext, partner_site: str, live_server: LiveServer
) -> None:
    page = strict_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(partner_site)
    frame = page.frame_locator("iframe[title='Find a support group']")
    expect(frame.locator("h1")).to_contain_text("within 25 miles of 60614")
    expect(frame.locator(".card").first).to_be_visible()
    assert frame.locator(".card__concerns", has_text="Caregiving").count() == 0
    expect(frame.locator(".embed__button")).to_have_css("background-color", "rgb(102, 51, 153)")

    # Keyboard only: Tab from the partner's page into the frame's search box, type, Enter.
    page.keyboard.press("Tab")
    expect(frame.locator("#embed-q")).to_be_focused()
    page.keyboard.type("widows")
    page.keyboard.press("Enter")
    expect(frame.locator("h1")).to_contain_text("1 group")
    expect(frame.locator(".card__title")).to_have_text("Monthly Widows Supper")
    link = frame.locator(".card__title a")
    assert link.get_attribute("href", timeout=5000)  # opens in a new tab (base target)

    # The iframe takes the height its content reports, so the partner's text follows it.
    iframe = page.locator("iframe")
    expect(iframe).to_have_attribute("style", re.compile(r"height: \d+px"))
    frame_box = iframe.bounding_box()
    after_box = page.locator("#after").bounding_box()
    assert frame_box is not None and after_box is not None
    content_height = page.frames[1].evaluate(
        "() => Math.ceil(document.body.getBoundingClientRect().height)"
    )
    assert abs(frame_box["height"] - content_height) <= 2
    assert after_box["y"] >= frame_box["y"] + frame_box["height"]

    assert strict_context.cookies() == []
    assert errors == []


def test_embed_page_has_no_serious_accessibility_violations(
    chromium_browser: Browser, live_server: LiveServer
) -> None:
    context = chromium_browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/embed?concern=grief&near=60614")
        violations = axe_violations(page)
        summary = [
            {"id": v["id"], "nodes": [n["target"] for n in v["nodes"][:3]]} for v in violations
        ]
        assert violations == [], json.dumps(summary, indent=1)
    finally:
        context.close()


def test_other_pages_cannot_be_framed_by_a_partner(
    strict_context: BrowserContext, live_server: LiveServer, partner_site: str
) -> None:
    page = strict_context.new_page()
    page.goto(partner_site)  # another origin, as a partner's page would be
    page.set_content(
        f'<iframe id="embed" src="{live_server.url}/embed?q=grief" title="a"></iframe>'
        f'<iframe id="search" src="{live_server.url}/search?q=grief" title="b"></iframe>',
        wait_until="load",  # after both frames have loaded or been refused
    )
    expect(page.frame_locator("#embed").locator("h1")).to_contain_text("group")
    search = page.locator("#search").element_handle()
    assert search is not None
    frame = search.content_frame()
    assert frame is not None
    # Chromium replaces a refused frame with its own error page.
    assert frame.url.startswith("chrome-error://")
    assert "results-heading" not in frame.content()


def test_printing_a_search_keeps_details_and_legend_and_drops_map_and_filters(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(live_server.url + "/search?near=60614&concern=grief")
    expect(page.locator(".filters")).to_be_visible()
    expect(page.locator(".card__print").first).to_be_hidden()

    page.emulate_media(media="print")
    for hidden in (".filters", ".site-nav", ".search-form", "#results-map", ".search-exports"):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.locator(".print-legend")).to_be_visible()
    first = page.locator("#results-list .card__print").first
    expect(first).to_be_visible()
    expect(first).to_contain_text("Where:")
    expect(first).to_contain_text("When:")
    online = page.locator(".online-panel .card__print", has_text="Online: https://")
    expect(online.first).to_be_visible()

    text = "\n".join(
        p.extract_text() for p in PdfReader(io.BytesIO(page.pdf(format="Letter"))).pages
    )
    assert "How to read this list" in text
    assert "Lincoln Park Library" in text
    assert "Filters" not in text and "Browse topics" not in text


@pytest.fixture
def page(chromium_browser: Browser) -> Iterator[Page]:
    context = chromium_browser.new_context()
    yield context.new_page()
    context.close()
