"""The public site in Debian's Chromium: search, filters, a group, its calendar, no-JS, a11y."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"


@pytest.fixture
def context(chromium_browser: Browser) -> Iterator[BrowserContext]:
    # bypass_csp lets the test inject axe-core; the site itself runs under its own CSP.
    context = chromium_browser.new_context(bypass_csp=True, accept_downloads=True)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


def result_count(page: Page) -> int:
    heading = page.locator("h1").inner_text()
    match = re.match(r"(\d+) groups?", heading)
    return int(match.group(1)) if match else 0


def facet_count(page: Page, facet: str, value: str) -> int:
    label = page.locator(f"label[for='f-{facet}-{value}']").inner_text()
    match = re.search(r"\((\d+)", label)
    assert match, label
    return int(match.group(1))


def search_from_home(page: Page, server: LiveServer, near: str, q: str = "") -> None:
    page.goto(server.url + "/")
    if q:
        page.get_by_label("What are you looking for support with?").fill(q)
    page.get_by_label("Where?").fill(near)
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url(re.compile(r"/search\?"))


def test_search_by_zip_then_two_facets_narrow_results_and_update_counts(
    page: Page, live_server: LiveServer
) -> None:
    search_from_home(page, live_server, "60614")
    assert "near=60614" in page.url
    total = result_count(page)
    assert total >= 30
    peer_count = facet_count(page, "format", "peer-led")
    tuesday_before = facet_count(page, "day", "tue")

    page.locator("#f-format-peer-led").check()  # JavaScript applies it at once
    page.wait_for_url(re.compile(r"format=peer-led"))
    after_one = result_count(page)
    assert after_one == peer_count < total
    expect(page.locator(".chip", has_text="Peer-led")).to_have_count(1)
    assert facet_count(page, "day", "tue") <= tuesday_before

    page.locator("#f-day-tue").check()
    page.wait_for_url(re.compile(r"day=tue"))
    after_two = result_count(page)
    assert 0 < after_two < after_one
    assert page.locator("#results-list .card").count() == min(after_two, 20)
    # Disjunctive facets: the format facet still offers the other value with its count.
    assert facet_count(page, "format", "professional-expert") > 0
    assert page.locator("#f-format-peer-led").is_checked()
    for card in page.locator("#results-list .card").all():
        assert "Peer-led" in card.inner_text()
    assert not page.errors  # type: ignore[attr-defined]


def test_open_a_group_and_download_its_calendar(page: Page, live_server: LiveServer) -> None:
    search_from_home(page, live_server, "60614", q="grief")
    first = page.locator("#results-list .card__title a").first
    name = first.inner_text()
    first.click()
    expect(page.locator("h1")).to_have_text(name)
    expect(page.get_by_role("heading", name="When it meets")).to_be_visible()
    assert "Next meetings" in page.content()
    assert page.get_by_role("link", name=re.compile("Get directions")).count() == 1
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("Add to my calendar")).click()
    download = info.value
    assert download.suggested_filename.endswith(".ics")
    calendar = Calendar.from_ical(Path(download.path()).read_bytes())
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == name
    assert event["DTSTART"].params["TZID"] == "America/Chicago"
    assert event["RRULE"]["FREQ"] == ["WEEKLY"]
    assert [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")] == ["America/Chicago"]


def test_the_same_search_works_without_javascript(
    chromium_browser: Browser, live_server: LiveServer
) -> None:
    context = chromium_browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        search_from_home(page, live_server, "60614")
        total = result_count(page)
        assert total >= 30
        assert page.locator("#results-map").is_hidden()
        page.locator("#f-format-peer-led").check()
        page.locator("#f-day-tue").check()
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_url(re.compile(r"format=peer-led.*day=tue|day=tue.*format=peer-led"))
        narrowed = result_count(page)
        assert 0 < narrowed < total
        page.locator(".chip", has_text="Clear all").click()
        assert result_count(page) == total
        page.locator("#results-list .card__title a").first.click()
        expect(page.get_by_role("heading", name="When it meets")).to_be_visible()
    finally:
        context.close()


def test_map_markers_match_the_result_list(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/search?near=60614&q=grief")
    page.wait_for_selector("#results-map .leaflet-marker-icon")
    expect(page.locator("#results-map")).to_be_visible()
    cards = page.locator("#results-list [data-lat]").count()
    assert cards > 0
    assert page.locator("#results-map .leaflet-marker-icon").count() == cards
    titles = sorted(
        page.locator("#results-map .leaflet-marker-icon").evaluate_all(
            "icons => icons.map(icon => icon.title)"
        )
    )
    names = sorted(
        page.locator("#results-list [data-lat]").evaluate_all(
            "cards => cards.map(card => card.dataset.name)"
        )
    )
    assert titles == names
    assert not page.errors  # type: ignore[attr-defined]


def test_place_search_shows_online_alternatives(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/search?near=60614&q=grief&time=evening")
    panel = page.get_by_role("complementary", name="Online and phone groups")
    expect(panel).to_contain_text("Grief Online Group")


def test_use_my_location_sends_a_rounded_point(
    chromium_browser: Browser, live_server: LiveServer
) -> None:
    context = chromium_browser.new_context(
        geolocation={"latitude": 41.925123, "longitude": -87.657891},
        permissions=["geolocation"],
    )
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        page.get_by_role("button", name="Use my location").click()
        expect(page.locator("[data-geo-status]")).to_contain_text("approximate location")
        page.get_by_role("button", name="Search", exact=True).click()
        page.wait_for_url(re.compile(r"lat="))
        assert "lat=41.925&" in page.url and "lon=-87.658" in page.url
        assert result_count(page) >= 30
    finally:
        context.close()


def test_concern_suggestions_appear_while_typing(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/")
    page.get_by_label("What are you looking for support with?").press_sequentially("bereave")
    page.wait_for_function("document.querySelectorAll('#concern-suggestions option').length > 0")
    values = page.locator("#concern-suggestions option").evaluate_all(
        "options => options.map(o => o.value)"
    )
    assert any("Grief" in value for value in values)


# -- accessibility and screenshots ---------------------------------------------------------


def axe_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/search?near=60614&format=peer-led",
        "/search?near=99950&concern=grief-loss",  # empty results
        "GROUP",
        "/suggest",
        "/search?q=monthly+widows+supper",  # a temporarily closed group's card
        "CLOSED GROUP",
        "/concerns",
        "/about",
        "/start-a-group",
        "/groups/no-such-group",  # the error page
    ],
)
@pytest.mark.parametrize("language", ["en", "es"])
def test_no_serious_accessibility_violations(
    page: Page, live_server: LiveServer, path: str, language: str
) -> None:
    if path == "GROUP":
        page.goto(live_server.url + f"/search?near=60614&lang={language}")
        page.locator("#results-list .card__title a").first.click()
        page.wait_for_load_state()
    elif path == "CLOSED GROUP":
        page.goto(live_server.url + f"/search?q=monthly+widows+supper&lang={language}")
        page.get_by_role("link", name="Monthly Widows Supper").first.click()
        page.wait_for_load_state()
        closed = {
            "en": "Temporarily closed until January 13, 2099: Kitchen renovation",
            "es": "Cerrado temporalmente hasta el 13 de enero de 2099: Kitchen renovation",
        }
        expect(page.locator("[data-closed]")).to_contain_text(closed[language])
        expect(page.locator("[data-cancelled]")).to_contain_text("(Christmas Eve)")
    else:
        page.goto(live_server.url + path + ("&" if "?" in path else "?") + f"lang={language}")
    assert page.locator("html").get_attribute("lang") == language
    violations = axe_violations(page)
    summary = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"][:3]]}
        for v in violations
    ]
    assert violations == [], json.dumps(summary, indent=1)


@pytest.mark.parametrize(
    ("language", "name_label", "send"),
    [("en", "Group name", "Send for review"), ("es", "Nombre del grupo", "Enviar para revisión")],
)
def test_suggest_form_with_errors_has_no_serious_accessibility_violations(
    page: Page, live_server: LiveServer, language: str, name_label: str, send: str
) -> None:
    page.goto(live_server.url + f"/suggest?lang={language}")
    page.get_by_label(name_label).fill("A group")
    page.get_by_role("button", name=send).click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.get_by_label(name_label)).to_have_value("A group")
    assert axe_violations(page) == []


@pytest.mark.parametrize("width", [375, 1280])
def test_screenshots_of_home_results_and_group(
    chromium_browser: Browser, live_server: LiveServer, width: int
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium_browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        page.screenshot(path=str(SCREENSHOTS / f"home-{width}.png"), full_page=True)
        page.goto(live_server.url + "/search?near=60614&q=grief&time=evening")
        page.screenshot(path=str(SCREENSHOTS / f"results-{width}.png"), full_page=True)
        page.locator("#results-list .card__title a").first.click()
        page.wait_for_load_state()
        page.screenshot(path=str(SCREENSHOTS / f"group-{width}.png"), full_page=True)
        # Nothing may scroll sideways on a phone.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
    finally:
        context.close()
    for name in ("home", "results", "group"):
        assert (SCREENSHOTS / f"{name}-{width}.png").stat().st_size > 10_000


def test_online_times_read_in_the_browsers_zone(
    chromium_browser: Browser, live_server: LiveServer
) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from clearinghouse.schedule import format_time

    zone = "Pacific/Auckland"  # never the same clock as a North American group
    context = chromium_browser.new_context(timezone_id=zone)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/search?attendance=online")
        labelled = page.locator("time + .your-time")
        expect(labelled.first).to_be_visible()
        iso = labelled.first.locator("xpath=preceding-sibling::time[1]").get_attribute("datetime")
        assert iso is not None
        start = datetime.fromisoformat(iso)
        seen = start.astimezone(ZoneInfo(zone))
        day = f"{seen:%a} " if seen.date() != start.date() else ""
        expect(labelled.first).to_have_text(f" ({day}{format_time(seen.time())} your time)")
        # The search form carries the zone, so the next page is converted by the server.
        page.get_by_role("button", name="Search").first.click()
        page.wait_for_url(re.compile(r"tz=Pacific%2FAuckland"))
        assert page.locator("time[data-your-time]").count() == 0
        expect(page.locator(".your-time").first).to_contain_text("your time")
    finally:
        context.close()
