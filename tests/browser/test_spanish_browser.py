"""Spanish in Debian's Chromium: switch language, search, open a group, add it to a calendar.

Every page of the walk is checked against every English string of the catalog (msgids whose
Spanish differs), after taking out the listings' own words, which stay as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from icalendar import Calendar
from playwright.sync_api import Browser, BrowserContext, Page, expect

from clearinghouse import i18n
from tests.browser.conftest import LiveServer, seed_records

pytestmark = pytest.mark.browser

_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|<[^>]+>|&amp;")


def english_phrases() -> list[str]:
    """What would show that English leaked: each msgid (or its fixed parts) unlike its Spanish."""
    with i18n.catalog_path("es").open("rb") as po:
        catalog = read_po(po, locale="es")
    phrases: set[str] = set()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid in ids:
            if msgid in strings:
                continue  # "LGBTQ+", "Error %(status)s": the same words in both languages
            parts = [part.strip(" .,:;()“”—") for part in _PLACEHOLDER.split(msgid)]
            if len(parts) == 1:
                phrases.add(parts[0])  # a whole msgid, even one word ("Filters")
            else:
                phrases.update(part for part in parts if len(part.split()) >= 2)
    return sorted(phrase for phrase in phrases if phrase)


def listing_words() -> list[str]:
    """The seeded listings' own text, which a Spanish page shows as written."""
    words: set[str] = set()
    for record in seed_records():
        words.update(str(record[key]) for key in ("name", "description") if record.get(key))
        for part in (record.get("location") or {}, record.get("online") or {}):
            words.update(str(value) for value in part.values() if isinstance(value, str))
    return sorted(words, key=len, reverse=True)


ENGLISH = english_phrases()
LISTINGS = listing_words()


def english_on(text: str, phrases: Iterable[str] = ENGLISH) -> list[str]:
    for listing_text in LISTINGS:
        text = text.replace(listing_text, " ")
    text = re.sub(r"https?://\S+", " ", text)  # addresses are not words
    return [p for p in phrases if re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", text)]


def visible_english(page: Page) -> list[str]:
    return english_on(page.locator("body").inner_text())


@pytest.fixture
def context(chromium_browser: Browser) -> Iterator[BrowserContext]:
    context = chromium_browser.new_context(accept_downloads=True, locale="en-US")
    yield context
    context.close()


def test_the_check_would_catch_english() -> None:
    assert "Next meetings" in english_on("Próximas reuniones · Next meetings")
    assert "Filters" in english_on("Filters (2)")
    assert english_on("Grief Circle Lincoln 1 · Filtros · http://x.example/groups/a") == []
    assert len(ENGLISH) > 300


def test_spanish_walk_from_search_to_calendar_shows_no_english(
    context: BrowserContext, live_server: LiveServer
) -> None:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("link", name="Español").click()
    page.wait_for_url(re.compile(r"lang=es"))
    assert page.locator("html").get_attribute("lang") == "es"
    assert visible_english(page) == []

    page.get_by_label("¿Con qué busca apoyo?").fill("duelo")
    page.get_by_label("¿Dónde?").fill("60614")
    page.get_by_role("button", name="Buscar", exact=True).click()
    page.wait_for_url(re.compile(r"/search\?.*lang=es"))
    expect(page.locator("h1")).to_contain_text("grupos a menos de 25 millas de 60614")
    assert page.locator("#results-list .card").count() > 0
    assert visible_english(page) == []

    page.locator("#f-format-peer-led").check()  # a filter keeps the language too
    page.wait_for_url(re.compile(r"format=peer-led"))
    assert "lang=es" in page.url
    expect(page.locator(".chip", has_text="Dirigido por: Entre pares")).to_have_count(1)
    assert visible_english(page) == []

    first = page.locator("#results-list .card__title a").first
    name = first.inner_text()
    first.click()
    expect(page.locator("h1")).to_have_text(name)
    expect(page.get_by_role("heading", name="Cuándo se reúne")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "es"
    assert visible_english(page) == []

    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("Añadir a mi calendario")).click()
    calendar = Calendar.from_ical(Path(info.value.path()).read_bytes())
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == name  # the group's own name, as written
    description = str(event["DESCRIPTION"])
    assert "Detalles y cambios:" in description
    assert english_on(description) == []
    assert not errors

    # Remembered: a new visit without ?lang= is still Spanish, until switched back.
    page.goto(live_server.url + "/about")
    assert page.locator("html").get_attribute("lang") == "es"
    page.get_by_role("link", name="English").click()
    page.wait_for_url(re.compile(r"lang=en"))
    page.goto(live_server.url + "/about")
    assert page.locator("html").get_attribute("lang") == "en"


def test_online_times_read_in_the_browsers_zone_in_spanish(
    chromium_browser: Browser, live_server: LiveServer
) -> None:
    context = chromium_browser.new_context(timezone_id="Pacific/Auckland")
    try:
        page = context.new_page()
        page.goto(live_server.url + "/search?attendance=online&lang=es")
        labelled = page.locator("time + .your-time")
        expect(labelled.first).to_contain_text("en su hora")
        expect(labelled.first).to_have_text(re.compile(r"\(\w+ \d+:\d\d [ap]\. m\. en su hora\)"))
        assert visible_english(page) == []
    finally:
        context.close()
