"""Print, PDF, Atom and embed through the Flask client; the booklet from the staff console."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from datetime import UTC
from typing import Any

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from clearinghouse.extensions import db
from clearinghouse.geocoding import geocode_listing
from clearinghouse.listings import validate_listing
from clearinghouse.models import Group
from clearinghouse.search import get_backend
from clearinghouse.staff import booklet
from clearinghouse.store import apply_listing
from clearinghouse.taxonomy import Taxonomy
from indexer.sync import sync
from tests.conftest import sample_record
from tests.staff_support import signed_in_client

PRIVATE = {
    "name": "Zebulon Privateperson",
    "phone": "802-555-0199",
    "email": "leader.private@example.org",
    "notes": "PRIVATE-NOTE-7f3a9c",
}
PRIVATE_VALUES = ("Zebulon Privateperson", "802-555-0199", "leader.private", "PRIVATE-NOTE-7f3a9c")

BURLINGTON = {
    "name": "Fletcher Free Library",
    "address": "235 College St",
    "city": "Burlington",
    "region": "VT",
    "postal_code": "05401",
}
ONLINE_ALCOHOL = {
    "name": "Green Mountain Online Recovery",
    "concerns": ["alcohol"],
    "attendance": "online",
    "location": None,
    "online": {"url": "https://meet.example.org/gm-recovery", "phone": "802-555-0100"},
    "service_area": ["VT"],
    "meetings": [
        {"freq": "weekly", "byday": ["WE"], "start": "20:00", "timezone": "America/New_York"}
    ],
}


@pytest.fixture
def index(app: Flask, taxonomy: Taxonomy) -> Callable[[], None]:
    def run() -> None:
        sync(db.session(), get_backend(), taxonomy)

    return run


@pytest.fixture
def vermont(make_group: Callable[..., Group], index: Callable[[], None]) -> dict[str, Group]:
    """Alcohol groups in two Vermont towns and online, one grief group, one in New Hampshire."""
    groups = {
        "burlington": make_group(
            name="Burlington Sunrise AA",
            concerns=["alcohol"],
            location=BURLINGTON,
            private_contact=PRIVATE,
        ),
        "rutland": make_group(
            name="Rutland Tuesday Recovery",
            concerns=["alcohol"],
            location={"city": "Rutland", "region": "VT", "postal_code": "05701"},
        ),
        "online": make_group(**ONLINE_ALCOHOL),
        "grief": make_group(name="Winooski Grief Circle", concerns=["grief"], location=BURLINGTON),
        "nh": make_group(
            name="Concord NH Recovery",
            concerns=["alcohol"],
            location={"city": "Concord", "region": "NH", "postal_code": "03301"},
        ),
    }
    index()
    return groups


def pdf_text(body: bytes) -> str:
    reader = PdfReader(io.BytesIO(body))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    """PDF text with its line breaks as spaces (wrapped lines join up again)."""
    return " ".join(text.split())


# -- the search PDF -------------------------------------------------------------------------


def test_search_pdf_lists_the_same_groups_with_addresses_schedules_and_join_details(
    client: FlaskClient, vermont: dict[str, Group]
) -> None:
    response = client.get("/search.pdf?near=05401&radius=50&concern=alcohol")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = flat(pdf_text(response.data))
    assert "Alcohol groups within 50 miles of 05401" in text
    assert "Burlington Sunrise AA" in text
    assert "235 College St" in text
    assert "Tuesdays" in text  # the schedule in words
    assert "How to read this list" in text  # the legend
    # The online group is in the online panel of a place search, with how to join.
    assert "Online and phone groups" in text
    assert "https://meet.example.org/gm-recovery" in text
    assert "Winooski Grief Circle" not in text
    assert "Concord NH Recovery" not in text
    assert f"/groups/{vermont['burlington'].slug}" in text
    for value in PRIVATE_VALUES:
        assert value not in text


def test_search_page_links_its_pdf_and_feed_with_the_same_parameters(
    client: FlaskClient, vermont: dict[str, Group]
) -> None:
    html = client.get("/search?near=05401&concern=alcohol").get_data(as_text=True)
    feed = re.search(r'<link rel="alternate" type="application/atom\+xml"[^>]*href="([^"]+)"', html)
    assert feed is not None
    assert feed[1].startswith("/search.atom?") and "concern=alcohol" in feed[1]
    pdf = re.search(r'href="(/search\.pdf\?[^"]+)"', html)
    assert pdf is not None and "near=05401" in pdf[1]
    assert client.get(pdf[1].replace("&amp;", "&")).status_code == 200
    assert client.get(feed[1].replace("&amp;", "&")).status_code == 200


def test_search_page_carries_print_only_addresses_schedules_join_details_and_legend(
    client: FlaskClient, vermont: dict[str, Group]
) -> None:
    html = client.get("/search?near=05401&radius=50&concern=alcohol").get_data(as_text=True)
    printed = re.findall(r'<div class="print-only card__print">(.*?)</div>', html, re.S)
    assert printed, "no print-only details on the result cards"
    joined = " ".join(printed)
    assert "235 College St" in joined
    assert "Online: https://meet.example.org/gm-recovery" in joined
    assert "When:" in joined
    assert 'class="print-only print-legend"' in html
    for value in PRIVATE_VALUES:
        assert value not in html


def test_print_stylesheet_hides_map_filters_and_navigation_and_shows_print_details(
    client: FlaskClient,
) -> None:
    with client.get("/static/css/print.css") as response:
        css = response.get_data(as_text=True)
    hidden = " ".join(re.findall(r"([^{}]+)\{\s*display:\s*none", css))
    for selector in (".site-header", ".filters", ".map", ".search-exports", ".site-nav"):
        assert selector in hidden
    assert re.search(r"\.print-only\s*\{\s*display:\s*block", css)


# -- the Atom feed --------------------------------------------------------------------------


def test_atom_feed_is_valid_with_stable_ids_and_updated_times(
    client: FlaskClient, vermont: dict[str, Group]
) -> None:
    response = client.get("/search.atom?near=05401&radius=100&concern=alcohol")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    assert "Set-Cookie" not in response.headers
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "Alcohol groups within 100 miles of 05401"
    by_id = {entry.id: entry for entry in feed.entries}
    expected = {vermont[key] for key in ("burlington", "rutland", "online")}
    assert set(by_id) == {f"urn:uuid:{group.uuid}" for group in expected}
    for group in expected:
        entry = by_id[f"urn:uuid:{group.uuid}"]
        assert entry.title == group.name
        assert entry.link.endswith(f"/groups/{group.slug}")
        stamp = group.updated_at.replace(tzinfo=UTC, microsecond=0)
        assert entry.updated == stamp.isoformat().replace("+00:00", "Z")
    text = response.get_data(as_text=True)
    for value in PRIVATE_VALUES:
        assert value not in text


def test_atom_feed_puts_the_most_recently_changed_group_first(
    client: FlaskClient, vermont: dict[str, Group], taxonomy: Taxonomy, index: Callable[[], None]
) -> None:
    oldest = vermont["burlington"]
    record = sample_record(
        name="Burlington Sunrise AA", concerns=["alcohol"], location=BURLINGTON, cost="donation"
    )
    validation = validate_listing(record, taxonomy)
    assert validation.data is not None
    data, _notes = geocode_listing(validation.data)
    apply_listing(db.session, data, actor="test", group=oldest)
    db.session.commit()
    index()
    feed = feedparser.parse(client.get("/search.atom?concern=alcohol").data)
    ids = [entry.id for entry in feed.entries]
    assert ids[0] == f"urn:uuid:{oldest.uuid}"
    stamps = [entry.updated for entry in feed.entries]
    assert stamps == sorted(stamps, reverse=True)


def test_atom_feed_escapes_what_listings_contain(
    client: FlaskClient, make_group: Callable[..., Group], index: Callable[[], None]
) -> None:
    group = make_group(
        name="Grief & Loss “Tuesday” Circle",
        description='Bring "tea" & biscuits; for ages < 30 & > 18',
        concerns=["grief"],
    )
    index()
    assert "&" in group.description and "<" in group.description
    response = client.get("/search.atom?concern=grief")
    text = response.get_data(as_text=True)
    assert "ages < 30" not in text and "&amp; biscuits" in text
    feed = feedparser.parse(response.data)
    assert not feed.bozo
    entry = feed.entries[0]
    assert entry.id == f"urn:uuid:{group.uuid}"
    assert entry.title == "Grief & Loss “Tuesday” Circle"
    assert entry.summary_detail.type == "text/plain"
    assert group.description in entry.summary


def test_atom_feed_of_a_search_with_no_groups_is_still_a_valid_feed(client: FlaskClient) -> None:
    feed = feedparser.parse(client.get("/search.atom?q=nothingmatchesthis").data)
    assert not feed.bozo
    assert feed.entries == []
    assert feed.feed.updated


@pytest.fixture(params=["embedded", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)])
def engine(request: pytest.FixtureRequest, app: Flask) -> str:
    """Each search engine behind the public site (the embedded one is the app's default)."""
    if request.param == "elasticsearch":
        from clearinghouse.search.elastic import ElasticBackend

        url = request.getfixturevalue("elasticsearch_url")
        alias = f"reach-{uuid.uuid4().hex[:12]}"
        app.extensions["search_backend"] = ElasticBackend(url, alias, refresh=True)
    return str(request.param)


def test_feed_and_pdf_list_the_groups_the_search_finds_on_each_engine(
    engine: str,
    client: FlaskClient,
    make_group: Callable[..., Group],
    index: Callable[[], None],
) -> None:
    created = [
        make_group(name=f"Burlington Circle {n}", concerns=["alcohol"], location=BURLINGTON)
        for n in range(3)
    ]
    created.append(make_group(**ONLINE_ALCOHOL))
    make_group(name="Winooski Grief Circle", concerns=["grief"], location=BURLINGTON)
    index()
    feed = feedparser.parse(client.get("/search.atom?concern=alcohol&near=05401").data)
    assert not feed.bozo
    newest_first = sorted(created, key=lambda group: group.updated_at, reverse=True)
    assert [entry.id for entry in feed.entries] == [f"urn:uuid:{g.uuid}" for g in newest_first]
    text = flat(pdf_text(client.get("/search.pdf?concern=alcohol&near=05401").data))
    for group in created:
        assert group.name in text
    assert "Winooski Grief Circle" not in text


# -- bad parameters: a 400 page, never a 500 --------------------------------------------------

BAD_PARAMS = [
    ("radius=banana", "radius"),
    ("sort=distance", "sort"),
    ("concern=not-a-concern", "concern"),
    ("near=Nowhereville%2C+ZZ", "near"),
    ("per_page=100000", "per_page"),
    ("day=funday", "day"),
    ("lat=91&lon=0", "lat"),
]


@pytest.mark.parametrize("path", ["/search.pdf", "/search.atom", "/embed"])
@pytest.mark.parametrize(("query", "param"), BAD_PARAMS)
def test_bad_parameters_get_a_400_page_naming_them(
    client: FlaskClient, path: str, query: str, param: str
) -> None:
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert param in response.get_data(as_text=True)


# -- the embed ------------------------------------------------------------------------------


def test_embed_page_may_be_framed_and_sets_no_cookie(
    client: FlaskClient, vermont: dict[str, Group]
) -> None:
    response = client.get("/embed?concern=alcohol&near=05401")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "X-Frame-Options" not in response.headers
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in policy
    html = response.get_data(as_text=True)
    assert "Burlington Sunrise AA" in html
    assert "Winooski Grief Circle" not in html
    assert '<base target="_blank">' in html
    assert 'name="csrf_token"' not in html
    assert 'type="hidden" name="concern" value="alcohol"' in html


def test_embed_takes_a_partner_accent_only_when_white_text_reads_on_it(
    client: FlaskClient,
) -> None:
    html = client.get("/embed?accent=%23663399").get_data(as_text=True)
    assert "/embed/theme.css?accent=663399" in html
    assert 'name="accent" value="663399"' in html  # kept across searches
    css = client.get("/embed/theme.css?accent=663399")
    assert css.mimetype == "text/css"
    assert "--accent: #663399" in css.get_data(as_text=True)
    for unreadable in ("%23ffff00", "red", "%23abc", "javascript:alert(1)"):
        html = client.get(f"/embed?accent={unreadable}").get_data(as_text=True)
        assert "theme.css" not in html
        assert "--accent" not in client.get(f"/embed/theme.css?accent={unreadable}").get_data(
            as_text=True
        )


@pytest.mark.parametrize("path", ["/", "/search?q=grief", "/concerns", "/search.atom"])
def test_every_other_public_page_still_refuses_framing(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_embed_script_builds_an_iframe_of_the_embed_page(client: FlaskClient) -> None:
    with client.get("/embed.js") as response:
        assert response.status_code == 200
        assert response.mimetype in ("text/javascript", "application/javascript")
        script = response.get_data(as_text=True)
    assert '"/embed"' in script
    assert "event.origin !== origin" in script  # height messages are origin-checked


# -- the directory booklet --------------------------------------------------------------------


def test_booklet_lists_a_region_by_town_with_online_groups_at_the_end(
    app: Flask, vermont: dict[str, Group]
) -> None:
    staff = signed_in_client(app, "editor@example.org", "editor")
    assert "/staff/booklet" in staff.get("/staff/").get_data(as_text=True)
    response = staff.get("/staff/booklet.pdf?region=VT&concern=alcohol")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = flat(pdf_text(response.data))
    assert "Alcohol groups in Vermont" in text
    positions = [
        text.index(marker)
        for marker in (
            "Burlington, VT",
            "Burlington Sunrise AA",
            "Rutland, VT",
            "Rutland Tuesday Recovery",
            "Online and phone groups",
            "Green Mountain Online Recovery",
        )
    ]
    assert positions == sorted(positions)
    assert "Winooski Grief Circle" not in text
    assert "Concord NH Recovery" not in text
    for value in PRIVATE_VALUES:
        assert value not in text


def test_booklet_is_for_staff_only(client: FlaskClient, vermont: dict[str, Group]) -> None:
    response = client.get("/staff/booklet.pdf?region=VT")
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("region=", "Choose a state or province"),
        ("region=ZZ", "Choose a state or province"),
        ("region=VT&concern=nope", "Choose a concern"),
    ],
)
def test_booklet_with_a_bad_choice_gets_the_form_again(
    app: Flask, query: str, message: str
) -> None:
    staff = signed_in_client(app, "editor@example.org", "editor")
    response = staff.get(f"/staff/booklet.pdf?{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_booklet_refuses_more_groups_than_it_holds(
    app: Flask, vermont: dict[str, Group], monkeypatch: Any
) -> None:
    monkeypatch.setattr(booklet, "MAX_BOOKLET_GROUPS", 2)
    staff = signed_in_client(app, "editor@example.org", "editor")
    response = staff.get("/staff/booklet.pdf?region=VT&concern=alcohol")
    assert response.status_code == 400
    assert "3 groups match: more than the 2 a booklet holds" in response.get_data(as_text=True)
