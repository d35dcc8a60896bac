"""The public site through the Flask client: every page, good and bad parameters, privacy."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import func, select

from clearinghouse import create_app
from clearinghouse.extensions import db
from clearinghouse.models import ChangeRequest, Group, SearchMiss, utcnow
from clearinghouse.public import PlaceMaskingFilter, mask_place
from clearinghouse.search import get_backend
from clearinghouse.search.facets import BY_NAME, FACET_NAMES
from clearinghouse.taxonomy import Taxonomy
from clearinghouse.vocab import TIMEZONES
from indexer.sync import sync
from tests.conftest import app_config

PRIVATE = {
    "name": "Zebulon Privateperson",
    "phone": "312-555-0199",
    "email": "leader.private@example.org",
    "notes": "PRIVATE-NOTE-7f3a9c: leader prefers texts",
}
PRIVATE_VALUES = (PRIVATE["name"], PRIVATE["phone"], PRIVATE["email"], "PRIVATE-NOTE-7f3a9c")

ONLINE_GRIEF = {
    "name": "Online Grief Share",
    "location": None,
    "attendance": "online",
    "online": {"url": "https://meet.example.org/grief-share", "notes": "Camera optional"},
    "meetings": [
        {
            "freq": "weekly",
            "byday": ["WE"],
            "start": "20:00",
            "end": "21:00",
            "timezone": "America/New_York",
        }
    ],
}


@pytest.fixture
def form_client(app: Flask) -> FlaskClient:
    """A client for form behaviour; CSRF itself is tested with its own app below."""
    app.config["WTF_CSRF_ENABLED"] = False
    return app.test_client()


@pytest.fixture
def index(app: Flask, taxonomy: Taxonomy) -> Callable[[], None]:
    """Apply the outbox to the test's embedded index."""

    def run() -> None:
        sync(db.session(), get_backend(), taxonomy)

    return run


@pytest.fixture
def grief_group(make_group: Callable[..., Group], index: Callable[[], None]) -> Group:
    group = make_group(
        private_contact=PRIVATE,
        verified_at="2026-10-03",
        organization="Chicago Grief Network",
        accessibility=["wheelchair"],
        languages=["en", "es"],
    )
    index()
    return group


def html(response: Any) -> str:
    return response.get_data(as_text=True)


# -- pages that need no data ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "heading"),
    [
        ("/", "Find a support group"),
        ("/concerns", "Browse support groups by topic"),
        ("/concerns/grief-loss", "Grief &amp; Loss"),
        ("/start-a-group", "Start a self-help group"),
        ("/suggest", "Tell us about a group"),
        ("/about", "About this directory"),
        ("/search", "No groups found"),
    ],
)
def test_public_page_renders_with_landmarks(client: FlaskClient, url: str, heading: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    page = html(response)
    assert heading in page
    assert 'href="#main"' in page and 'id="main"' in page
    assert "<header" in page and "<footer" in page and 'aria-label="Main"' in page
    assert '<html lang="en">' in page


def test_public_pages_load_nothing_from_other_sites(client: FlaskClient) -> None:
    page = html(client.get("/"))
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assets = [s for s in sources if s.endswith((".css", ".js"))]
    assert assets and all(s.startswith("/static/") for s in assets)
    assert "fonts.googleapis" not in page and "analytics" not in page


def test_healthz_answers_ok(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert html(response) == "ok"


def test_healthz_needs_no_database(tmp_path: Path) -> None:
    broken = create_app(app_config("postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path))
    assert broken.test_client().get("/healthz").status_code == 200


def test_readyz_is_ready_with_database_and_engine(client: FlaskClient, grief_group: Group) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert "failing" not in body
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["search"]["ping"] == "ok"
    assert body["checks"]["outbox"]["pending"] == 0


def test_readyz_is_503_when_the_search_engine_does_not_answer(
    app: Flask, client: FlaskClient
) -> None:
    class DeadEngine:
        name = "dead"

        def ping(self) -> bool:
            return False

        def count(self) -> int:
            raise ConnectionError("down")

    app.extensions["search_backend"] = DeadEngine()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready"
    assert body["checks"]["search"]["ping"] == "failed"
    assert body["failing"] == {"search": "the dead search engine does not answer its ping"}


def test_readyz_is_503_when_the_outbox_lags(
    app: Flask, client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    app.config["READYZ_MAX_PENDING"] = 0
    make_group()  # not synced: one change waits in the outbox
    response = client.get("/readyz")
    assert response.status_code == 503
    outbox = response.get_json()["checks"]["outbox"]
    assert outbox["pending"] >= 1
    assert outbox["lag_seconds"] >= 0  # how long the oldest pending change has waited
    assert list(response.get_json()["failing"]) == ["outbox"]
    assert (
        "changes wait for the search index, more than 0" in response.get_json()["failing"]["outbox"]
    )


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    broken = create_app(app_config("postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path))
    with broken.app_context():
        response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"].startswith("unavailable")
    assert "the database does not answer" in response.get_json()["failing"]["database"]


# -- the group page ------------------------------------------------------------------------


def test_group_page_says_when_where_and_how(client: FlaskClient, grief_group: Group) -> None:
    page = html(client.get(f"/groups/{grief_group.slug}"))
    assert "Evening Grief Circle" in page
    assert "Tuesdays, 7:00–8:30 pm Central" in page
    assert "Next meetings" in page and "pm Central time" in page
    assert 'datetime="' in page
    assert "1150 W Fullerton Ave" in page and "Chicago, IL 60614" in page
    assert "https://www.google.com/maps/dir/?api=1&amp;destination=1150+W+Fullerton" in page
    assert f"/groups/{grief_group.slug}.ics" in page
    assert "circle@example.org" in page
    assert "Chicago Grief Network" in page
    assert "October 3, 2026" in page
    assert "Wheelchair accessible" in page and "English, Spanish" in page
    assert "Peer-led: run by members" in page
    assert f"/groups/{grief_group.slug}/report" in page


def test_group_page_words_an_approximate_location(
    client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    group = make_group(
        name="Caregivers Circle",
        concerns=["caregiving"],
        location={"city": "Chicago", "region": "IL", "postal_code": "60614"},
    )
    assert group.location is not None and group.location.approximate
    page = html(client.get(f"/groups/{group.slug}"))
    assert "Approximate location" in page
    assert "middle of ZIP code 60614" in page


def test_online_group_page_gives_join_details(
    client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    group = make_group(**ONLINE_GRIEF)
    page = html(client.get(f"/groups/{group.slug}"))
    assert "Join online" in page
    assert "https://meet.example.org/grief-share" in page
    assert "Camera optional" in page
    assert "Get directions" not in page
    assert "Wednesdays, 8:00–9:00 pm Eastern" in page


@pytest.mark.parametrize("status", ["pending", "inactive", "archived"])
def test_only_active_groups_are_public(
    client: FlaskClient, make_group: Callable[..., Group], status: str
) -> None:
    group = make_group(status=status, name="Hidden Group")
    for url in (
        f"/groups/{group.slug}",
        f"/groups/{group.slug}.ics",
        f"/groups/{group.slug}/report",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
    page = html(client.get(f"/groups/{group.slug}"))
    assert "We couldn" in page and "Hidden Group" not in page
    assert 'href="/"' in page  # a way back to searching


def test_unknown_pages_get_a_friendly_404(client: FlaskClient) -> None:
    for url in ("/groups/no-such-group", "/concerns/no-such-concern", "/nowhere"):
        response = client.get(url)
        assert response.status_code == 404
        assert "search for a group" in html(response)


def test_404_answers_json_to_a_client_that_asks_for_json(client: FlaskClient) -> None:
    response = client.get("/nowhere", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["status"] == 404


def test_server_errors_get_a_friendly_page(template_database: Path, tmp_path: Path) -> None:
    import shutil

    path = tmp_path / "boom.db"
    shutil.copy(template_database, path)
    app = create_app(app_config(f"sqlite:///{path}", tmp_path, TESTING=False))

    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("kaboom")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "Something went wrong on our side" in html(response)
    assert "kaboom" not in html(response)


def test_group_text_is_escaped_everywhere(
    client: FlaskClient, make_group: Callable[..., Group], index: Callable[[], None]
) -> None:
    group = make_group()
    index()
    # Validation strips markup from listings; write it straight to the row to prove escaping
    # (moving `updated_at`, as every change does: results are read per version of a group).
    group.name = 'Grief <script>alert("x")</script> Circle'
    group.description = "<b>bold</b> & <i>more</i>"
    group.updated_at = utcnow()
    db.session.commit()
    page = html(client.get(f"/groups/{group.slug}"))
    assert '<script>alert("x")' not in page and "<b>bold</b>" not in page
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;i&gt;more&lt;/i&gt;" in page
    results = html(client.get("/search?near=60614"))
    assert "Grief &lt;script&gt;alert" in results and '<script>alert("x")' not in results


def test_group_json_ld_is_schema_org_event(client: FlaskClient, grief_group: Group) -> None:
    page = html(client.get(f"/groups/{grief_group.slug}"))
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert match
    data = json.loads(match.group(1))
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Event"
    assert data["name"] == "Evening Grief Circle"
    assert data["eventSchedule"][0]["byDay"] == ["https://schema.org/Tuesday"]
    assert data["eventSchedule"][0]["scheduleTimezone"] == "America/Chicago"
    assert data["location"]["address"]["postalCode"] == "60614"
    assert data["organizer"]["name"] == "Chicago Grief Network"


def test_json_ld_cannot_close_its_script_element(
    client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    group = make_group()
    name = "Circle </script><script>alert(1)</script> & <!-- more"
    group.name = name
    db.session.commit()
    page = html(client.get(f"/groups/{group.slug}"))
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert match
    assert "<" not in match.group(1)
    assert json.loads(match.group(1))["name"] == name


# -- the calendar file ---------------------------------------------------------------------


def test_calendar_file_is_a_valid_weekly_series_in_the_group_zone(
    client: FlaskClient, grief_group: Group
) -> None:
    response = client.get(f"/groups/{grief_group.slug}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    calendar = Calendar.from_ical(response.data)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    event = events[0]
    rrule = event["RRULE"]
    assert rrule["FREQ"] == ["WEEKLY"] and rrule["BYDAY"] == ["TU"]
    start = event["DTSTART"]
    assert start.params["TZID"] == "America/Chicago"
    assert (start.dt.hour, start.dt.minute, start.dt.strftime("%a")) == (19, 0, "Tue")
    assert (event["DTEND"].dt.hour, event["DTEND"].dt.minute) == (20, 30)
    zones = [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")]
    assert zones == ["America/Chicago"]
    assert "1150 W Fullerton Ave" in str(event["LOCATION"])
    assert event["UID"] and event["DTSTAMP"]


def test_calendar_file_has_one_event_per_rule_and_monthly_ordinals(
    client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    group = make_group(
        meetings=[
            {"freq": "monthly", "byday": ["2TU", "4TU"], "start": "19:00", "end": "20:30"},
            {"freq": "weekly", "byday": ["SA"], "start": "10:00"},
            {"freq": "arrangement", "note": "call first"},
        ]
    )
    calendar = Calendar.from_ical(client.get(f"/groups/{group.slug}.ics").data)
    events = {str(e["RRULE"]["FREQ"][0]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {"MONTHLY", "WEEKLY"}
    assert events["MONTHLY"]["RRULE"]["BYDAY"] == ["2TU", "4TU"]
    first = events["MONTHLY"]["DTSTART"].dt
    assert first.strftime("%a") == "Tue" and (first.day - 1) // 7 in (1, 3)
    assert "DTEND" not in events["WEEKLY"] and events["WEEKLY"]["DURATION"]
    page = html(client.get(f"/groups/{group.slug}"))
    assert "2nd and 4th Tuesdays of the month, 7:00–8:30 pm Central" in page
    assert "By arrangement" in page


def test_online_group_calendar_uses_its_own_zone(
    client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    group = make_group(**ONLINE_GRIEF)
    calendar = Calendar.from_ical(client.get(f"/groups/{group.slug}.ics").data)
    (event,) = calendar.walk("VEVENT")
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert "https://meet.example.org/grief-share" in str(event["LOCATION"])


# -- privacy -------------------------------------------------------------------------------


def test_private_contact_details_never_appear_on_public_pages(
    client: FlaskClient, grief_group: Group, make_group: Callable[..., Group], index: Any
) -> None:
    online = make_group(private_contact=PRIVATE, **ONLINE_GRIEF)
    index()
    assert grief_group.private_contact_email == PRIVATE["email"]
    # Only pages that show a planted group: a check on a page without it could not fail.
    urls = [
        f"/groups/{grief_group.slug}",
        f"/groups/{grief_group.slug}.ics",
        f"/groups/{grief_group.slug}/report",
        f"/groups/{online.slug}",
        f"/groups/{online.slug}.ics",
        "/search?q=grief",
        "/search?near=60614",
        "/search?near=60614&radius=5&q=grief",
        "/search?attendance=online",
        "/search?near=99950&concern=grief-loss",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        body = html(response)
        assert grief_group.name in body or online.name in body, url
        for value in PRIVATE_VALUES:
            assert value not in body, (url, value)


# -- search results ------------------------------------------------------------------------


def test_search_by_zip_lists_nearby_group_with_distance_and_next_meeting(
    client: FlaskClient, grief_group: Group
) -> None:
    response = client.get("/search?near=60614&q=grief")
    assert response.status_code == 200
    page = html(response)
    assert "Evening Grief Circle" in page
    assert " mi" in page and "pm Central time" in page
    assert 'data-lat="41.92510"' in page
    assert "within 25 miles of 60614" in page


def test_search_facets_show_counts_and_chips_remove_one_value(
    client: FlaskClient, make_group: Callable[..., Group], index: Callable[[], None]
) -> None:
    make_group(name="Peer Grief Tuesday")
    make_group(name="Pro Grief Tuesday", format="professional-expert")
    make_group(
        name="Peer Grief Thursday", meetings=[{"freq": "weekly", "byday": ["TH"], "start": "10:00"}]
    )
    make_group(name="Spanish Grief", languages=["es"])
    index()
    response = client.get("/search?near=60614&format=peer-led&day=tue")
    assert response.status_code == 200
    page = html(response)
    assert "Peer Grief Tuesday" in page and "Spanish Grief" in page
    assert "Pro Grief Tuesday" not in page and "Peer Grief Thursday" not in page
    assert "2 groups within 25 miles of 60614" in page
    # Disjunctive: each facet still counts its other values under the other filters.
    assert re.search(r"Professional-expert <span class=\"count\">\(1<", page)
    assert re.search(r"Thursday <span class=\"count\">\(1<", page)
    assert re.search(r'name="format" value="peer-led" id="[^"]+" checked', page)
    chips = dict(
        (label, href)
        for href, label in re.findall(
            r'<a class="chip" href="([^"]+)"><span class="visually-hidden">Remove filter </span>'
            r"([^<]+?) <span",
            page,
        )
    )
    assert set(chips) == {"Led by: Peer-led", "Day: Tuesday"}
    without_day = html(client.get(chips["Day: Tuesday"].replace("&amp;", "&")))
    assert "Peer Grief Thursday" in without_day and "Pro Grief Tuesday" not in without_day
    clear = re.search(r'<a class="chip chip--clear" href="([^"]+)">Clear all filters', page)
    assert clear
    everything = html(client.get(clear.group(1).replace("&amp;", "&")))
    assert "4 groups within 25 miles" in everything


def test_search_page_checkboxes_come_from_the_facet_registry(
    client: FlaskClient,
    make_group: Callable[..., Group],
    index: Callable[[], None],
    taxonomy: Taxonomy,
) -> None:
    make_group(accessibility=["wheelchair", "asl"], audience=["women"], languages=["en", "es"])
    make_group(**{**ONLINE_GRIEF, "format": "professional-expert", "cost": "donation"})
    index()
    page = html(client.get("/search?cost=free"))
    boxes = re.findall(r'<fieldset class="facet" id="facet-([^"]+)">(.*?)</fieldset>', page, re.S)
    assert [name for name, _ in boxes] == [n for n in FACET_NAMES if n in dict(boxes)]
    assert len(boxes) == len(FACET_NAMES)  # every facet has a value in these two groups
    for name, box in boxes:
        spec = BY_NAME[name]
        assert f"<legend>{spec.public_label}</legend>" in box
        ticks = re.findall(
            r'<input type="checkbox" form="search-form" name="([^"]+)" value="([^"]+)" id="[^"]+"'
            r'[^>]*>\s*<label for="[^"]+">([^<]+?) <span class="count">',
            box,
        )
        assert ticks, name
        for field, value, shown in ticks:
            assert field == name
            label = unescape(shown)
            if spec.allowed:
                assert value in spec.allowed and label == spec.label_of(value), (name, value)
            else:
                term = taxonomy.get(value)
                assert term is not None and label == term.label, value


@pytest.mark.parametrize(
    ("query", "heading", "fields"),
    [
        (
            "near=60614&radius=12.50",
            "within 12.5 miles of 60614",
            ('<option value="12.5" selected>',),
        ),
        ("near=60614&unit=km&radius=40", "within 40 km of 60614", ('name="unit" value="km"',)),
        (
            "lat=41.92512&lon=-87.65721",
            "within 25 miles of your location",
            ('name="lat" value="41.925"', 'name="lon" value="-87.657"', 'name="near" value=""'),
        ),
    ],
)
def test_results_say_the_place_and_radius_back_in_words(
    client: FlaskClient, grief_group: Group, query: str, heading: str, fields: tuple[str, ...]
) -> None:
    page = html(client.get(f"/search?{query}"))
    assert f"1 group {heading}" in page
    for field in fields:
        assert field in page


def test_public_helpers_are_not_exposed_to_other_templates(app: Flask) -> None:
    with app.test_request_context("/staff/"):
        assert render_template_string("{{ present is defined }} {{ vocab is defined }}") == (
            "False False"
        )


def test_search_pages_through_results(
    client: FlaskClient, make_group: Callable[..., Group], index: Callable[[], None]
) -> None:
    for number in range(12):
        make_group(name=f"Grief Group {number:02d}")
    index()
    first = html(client.get("/search?near=60614&per_page=5"))
    assert "12 groups" in first
    assert 'aria-label="Pages of results"' in first and 'rel="next"' in first
    third = html(client.get("/search?near=60614&per_page=5&page=3"))
    assert third.count('class="card"') == 2
    assert 'rel="prev"' in third


def test_sort_by_name_orders_results(
    client: FlaskClient, make_group: Callable[..., Group], index: Callable[[], None]
) -> None:
    make_group(name="Zinnia Grief Group")
    make_group(name="Aster Grief Group")
    index()
    page = html(client.get("/search?q=grief&sort=name"))
    assert page.index("Aster Grief Group") < page.index("Zinnia Grief Group")


def test_place_search_shows_online_panel(
    client: FlaskClient, grief_group: Group, make_group: Callable[..., Group], index: Any
) -> None:
    make_group(**ONLINE_GRIEF)
    index()
    page = html(client.get("/search?near=60614&q=grief"))
    panel = page[page.index('id="online-heading"') :]
    assert "Online Grief Share" in panel


def test_empty_place_search_offers_ways_forward_and_counts_the_miss(
    client: FlaskClient, grief_group: Group, make_group: Callable[..., Group], index: Any
) -> None:
    make_group(**ONLINE_GRIEF)
    index()
    response = client.get("/search?near=99950&concern=grief-loss")  # Ketchikan, Alaska
    assert response.status_code == 200
    page = html(response)
    assert "No groups found" in page
    assert "radius=" in page  # a wider search
    assert "Within 50 miles (0 groups)" in page and "Within 100 miles (0 groups)" in page
    assert re.search(r'href="[^"]*radius=500[^"]*">within 500 miles</a>', page)
    assert "attendance=online" in page
    assert "/start-a-group" in page
    assert "National organizations" in page
    misses = db.session.scalar(select(func.sum(SearchMiss.count)))
    assert misses == 1


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("radius=abc&near=60614", "radius"),
        ("radius=99999&near=60614", "radius"),
        ("near=Nowhereville%2C+ZZ", "near"),
        ("lat=200&lon=0", "lat"),
        ("lat=41.9", "lon"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("per_page=1000", "per_page"),
        ("sort=bogus", "sort"),
        ("sort=distance", "sort"),
        ("format=bogus", "format"),
        ("concern=not-a-concern", "concern"),
        ("day=funday", "day"),
        ("unit=furlongs", "unit"),
    ],
)
def test_bad_search_parameter_gets_400_naming_it(
    client: FlaskClient, query: str, param: str
) -> None:
    response = client.get(f"/search?{query}")
    assert response.status_code == 400
    page = html(response)
    assert f"({param})" in page
    assert "Check your search" in page
    assert 'role="alert"' in page


@pytest.mark.parametrize(
    "q", ["AND OR NOT", '"unclosed', "(((", "*", "grief" * 400, "'; DROP TABLE"]
)
def test_any_free_text_is_a_search_not_an_error(client: FlaskClient, q: str) -> None:
    response = client.get("/search", query_string={"q": q})
    assert response.status_code == 200


def test_control_characters_in_a_search_are_refused_saying_so(client: FlaskClient) -> None:
    response = client.get("/search", query_string={"q": "\x00\x01"})
    assert response.status_code == 400
    assert "control characters" in html(response)


def test_search_logs_never_hold_the_searchers_location(
    client: FlaskClient, grief_group: Group, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        client.get("/search?lat=41.92512&lon=-87.65723&q=grief")
        client.get("/search?near=60614")
    text = caplog.text
    assert "41.925" not in text and "87.657" not in text and "60614" not in text


def test_request_log_lines_have_place_masked() -> None:
    line = '127.0.0.1 - - "GET /search?q=grief&near=60614&lat=41.925&lon=-87.657 HTTP/1.1" 200'
    assert mask_place(line) == (
        '127.0.0.1 - - "GET /search?q=grief&near=…&lat=…&lon=… HTTP/1.1" 200'
    )
    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '"%s" %s',
        ("GET /search?near=Springfield%2C+IL HTTP/1.1", 200),
        None,
    )
    PlaceMaskingFilter().filter(record)
    assert "Springfield" not in record.getMessage()


# -- concerns ------------------------------------------------------------------------------


def test_concern_pages_count_active_groups(
    client: FlaskClient, grief_group: Group, make_group: Callable[..., Group], index: Any
) -> None:
    make_group(name="Archived grief", status="archived")
    make_group(name="Caregivers", concerns=["caregiving"])
    index()
    overview = html(client.get("/concerns"))
    section = overview[overview.index('id="grief-loss"') :]
    assert re.search(r"1 group<", section)
    page = html(client.get("/concerns/grief-loss"))
    assert "<strong>1</strong> group" in page
    assert "/search?concern=grief-loss" in page
    home = html(client.get("/"))
    assert "Grief &amp; Loss" in home and "1 group" in home


def test_concern_suggestions_match_lay_words_and_label_prefixes(client: FlaskClient) -> None:
    found = client.get("/concerns/suggest?q=AA").get_json()
    assert found[0]["slug"] == "alcohol"
    prefix = client.get("/concerns/suggest?q=care").get_json()
    assert any(item["slug"] == "caregiving" for item in prefix)
    assert client.get("/concerns/suggest?q=").get_json() == []
    assert client.get("/concerns/suggest?q=" + "x" * 5000).status_code == 200


# -- suggest a group -----------------------------------------------------------------------

GOOD_SUBMISSION = {
    "name": "Westside Widows Circle",
    "concerns": "grief, widowhood",
    "description": "We meet to talk and listen.",
    "format": "peer-led",
    "attendance": "in-person",
    "open": "yes",
    "cost": "free",
    "languages": "English",
    "location_name": "St. Mark's Hall",
    "address": "100 Main St",
    "city": "Springfield",
    "region": "IL",
    "postal_code": "62701",
    "meeting_freq": "monthly",
    "meeting_weeks": ["2", "4"],
    "meeting_days": ["TU"],
    "meeting_start": "19:00",
    "meeting_end": "20:30",
    "contact_email": "widows@example.org",
    "submitter_email": "me@example.org",
    "message": "I go to this group.",
}


def test_suggest_a_group_creates_a_pending_change_request(form_client: FlaskClient) -> None:
    response = form_client.post("/suggest", data=GOOD_SUBMISSION)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/suggest/thanks")
    row = db.session.scalars(select(ChangeRequest)).one()
    assert row.kind == "new" and row.status == "pending" and row.group_id is None
    assert row.payload["name"] == "Westside Widows Circle"
    assert row.payload["meetings"] == [
        {
            "freq": "monthly",
            "byday": ["2TU", "4TU"],
            "start": "19:00",
            "end": "20:30",
            "timezone": "",
        }
    ]
    assert row.payload["location"]["postal_code"] == "62701"
    assert row.submitter_email == "me@example.org"
    assert db.session.scalar(select(func.count()).select_from(Group)) == 0
    thanks = html(form_client.get("/suggest/thanks"))
    assert "we've received your suggestion" in thanks


def test_suggest_form_shows_each_bad_field_and_keeps_what_was_typed(
    form_client: FlaskClient,
) -> None:
    data = {
        **GOOD_SUBMISSION,
        "name": "Typed Name Kept",
        "concerns": "",
        "postal_code": "ABCDE",
        "contact_email": "not-an-email",
        "meeting_start": "25:99",
        "submitter_email": "nope",
    }
    response = form_client.post("/suggest", data=data)
    assert response.status_code == 400
    page = html(response)
    assert 'value="Typed Name Kept"' in page
    assert 'value="100 Main St"' in page
    assert 'value="ABCDE"' in page
    assert "At least one concern is required." in page
    assert "is not a US ZIP or Canadian postal code" in page
    assert "&#39;not-an-email&#39; is not an email address" in page
    assert "&#39;25:99&#39; is not a time" in page
    assert 'id="postal_code-error"' in page and 'id="contact_email-error"' in page
    assert 'id="meeting_start-error"' in page and 'id="submitter_email-error"' in page
    assert 'aria-invalid="true"' in page
    assert 'href="#postal_code"' in page  # the summary links to the field
    assert db.session.scalar(select(func.count()).select_from(ChangeRequest)) == 0


def test_suggest_form_needs_a_place_or_a_way_to_join(form_client: FlaskClient) -> None:
    data = {**GOOD_SUBMISSION, "city": "", "postal_code": "", "address": "", "region": ""}
    response = form_client.post("/suggest", data=data)
    assert response.status_code == 400
    assert "Give the city or ZIP code where the group meets." in html(response)
    online = {**GOOD_SUBMISSION, "attendance": "online"}
    assert "Give the link people use to join online." in html(
        form_client.post("/suggest", data=online)
    )


def test_suggest_form_honeypot_drops_bots_quietly(form_client: FlaskClient) -> None:
    response = form_client.post(
        "/suggest", data={**GOOD_SUBMISSION, "homepage": "http://spam.example"}
    )
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(ChangeRequest)) == 0


@pytest.fixture
def csrf_app(app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """The same database, with CSRF protection on as in production."""
    strict = create_app(
        app_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, WTF_CSRF_ENABLED=True)
    )
    with strict.app_context():
        yield strict


def test_forms_refuse_posts_without_csrf_token(csrf_app: Flask, make_group: Any) -> None:
    client = csrf_app.test_client()
    response = client.post("/suggest", data=GOOD_SUBMISSION)
    assert response.status_code == 400
    assert "reload the page" in html(response)
    group = make_group()
    assert client.post(f"/groups/{group.slug}/report", data={"name": "x"}).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ChangeRequest)) == 0


def test_forms_accept_posts_with_the_csrf_token_from_the_page(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    page = html(client.get("/suggest"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token
    response = client.post("/suggest", data={**GOOD_SUBMISSION, "csrf_token": token.group(1)})
    assert response.status_code == 302


def test_suggest_posts_are_rate_limited(app: Flask, tmp_path: Path) -> None:
    limited = create_app(
        app_config(
            app.config["SQLALCHEMY_DATABASE_URI"],
            tmp_path,
            RATELIMIT_ENABLED=True,
            WTF_CSRF_ENABLED=False,
        )
    )
    with limited.app_context():
        client = limited.test_client()
        statuses = [client.post("/suggest", data=GOOD_SUBMISSION).status_code for _ in range(6)]
        assert statuses == [302] * 5 + [429]
        assert "Too many tries" in html(client.post("/suggest", data=GOOD_SUBMISSION))
        assert client.get("/suggest").status_code == 200  # reading the form is never limited


# -- suggest an edit -----------------------------------------------------------------------


def test_suggest_an_edit_records_the_fields_to_change(
    form_client: FlaskClient, grief_group: Group
) -> None:
    response = form_client.post(
        f"/groups/{grief_group.slug}/report",
        data={
            "meetings": "Now on Wednesdays at 6 pm",
            "no_longer_meets": "",
            "message": "Changed last month",
            "submitter_email": "helper@example.org",
        },
    )
    assert response.status_code == 302
    row = db.session.scalars(select(ChangeRequest)).one()
    assert row.kind == "edit" and row.group_id == grief_group.id
    assert row.payload == {"meetings": "Now on Wednesdays at 6 pm"}
    assert row.message == "Changed last month"
    assert "we've received your suggestion" in html(form_client.get(response.headers["Location"]))


def test_suggest_an_edit_needs_something_to_change(
    form_client: FlaskClient, grief_group: Group
) -> None:
    response = form_client.post(
        f"/groups/{grief_group.slug}/report", data={"submitter_email": "bad", "name": ""}
    )
    assert response.status_code == 400
    page = html(response)
    assert "Tell us at least one thing that should change." in page
    assert "&#39;bad&#39; is not an email address" in page
    closed = form_client.post(f"/groups/{grief_group.slug}/report", data={"no_longer_meets": "y"})
    assert closed.status_code == 302
    assert db.session.scalars(select(ChangeRequest)).one().payload == {"status": "no longer meets"}


def test_result_cards_follow_edits_and_archives_at_once(
    client: FlaskClient, make_group: Callable[..., Group], taxonomy: Taxonomy
) -> None:
    """A card shows the group as it is now (no stale copy), and leaves once archived."""
    from clearinghouse.listings import validate_listing
    from clearinghouse.store import apply_listing, set_status
    from tests.conftest import sample_record

    group = make_group(name="Lakeview Widows Circle")
    sync(db.session(), get_backend(), taxonomy)

    def card() -> str:
        html = client.get("/search?q=widows").get_data(as_text=True)
        cards = re.findall(r'<li class="card".*?</li>\s*</ul>\s*</li>', html, re.S)
        mine = [text for text in cards if f"/groups/{group.slug}" in text]
        assert len(mine) <= 1
        return mine[0] if mine else ""

    assert "Tue," in card() and "Chicago, IL" in card()
    edited = sample_record(
        name="Lakeview Widows Circle",
        meetings=[{"freq": "weekly", "byday": ["WE"], "start": "18:15", "end": "19:30"}],
        languages=["en", "es"],
    )
    data = validate_listing(edited, taxonomy).data
    assert data is not None
    apply_listing(db.session, data, actor="test", group=group)
    db.session.commit()  # no sync: the index still holds Tuesday's copy of the card's facts
    assert "Wed," in card() and "6:15 pm" in card() and "Spanish" in card()
    assert "Tue," not in card()
    set_status(db.session, group, "archived", actor="test")
    db.session.commit()  # still in the index until the next sync: the page must not show it
    assert card() == ""


def test_the_suggest_form_offers_every_time_zone_staff_can_choose(client: FlaskClient) -> None:
    page = client.get("/suggest").get_data(as_text=True)
    offered = set(re.findall(r'<option[^>]*value="([A-Za-z]+/[A-Za-z_]+)"', page))
    assert offered == set(TIMEZONES) and "America/Regina" in offered


def test_a_one_tap_join_number_is_a_tap_to_join_link(
    client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    phone = "+15873281099,,8076462994#,,#,,1234#"
    group = make_group(location=None, online={"phone": phone})
    page = client.get(f"/groups/{group.slug}").get_data(as_text=True)
    assert f'href="tel:+15873281099,,8076462994%23,,%23,,1234%23">{phone}</a>' in page
