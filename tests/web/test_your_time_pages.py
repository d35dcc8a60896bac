"""Online and phone groups' times on the reader's clock, on the results page and group page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient

from clearinghouse.extensions import db
from clearinghouse.models import Group
from clearinghouse.schedule import format_time
from clearinghouse.search import get_backend
from clearinghouse.taxonomy import Taxonomy
from indexer.sync import sync

ONLINE_EASTERN = {
    "name": "Online Grief Share",
    "location": None,
    "attendance": "online",
    "online": {"url": "https://meet.example.org/grief-share"},
    "meetings": [
        {"freq": "weekly", "byday": ["WE"], "start": "20:00", "timezone": "America/New_York"}
    ],
}
_TIME = re.compile(
    r'<time datetime="([^"]+)"( data-your-time)?>([^<]*)</time>([^<]*<span[^>]*>[^<]*)?'
)


@pytest.fixture
def online_group(make_group: Callable[..., Group], taxonomy: Taxonomy) -> Group:
    group = make_group(**ONLINE_EASTERN)
    sync(db.session(), get_backend(), taxonomy)
    return group


def times_on(body: str) -> list[tuple[datetime, bool, str]]:
    """Each <time>: its moment, whether the browser may convert it, and the words after it."""
    return [
        (datetime.fromisoformat(iso), bool(marker), unescape(text + (label or "")))
        for iso, marker, text, label in _TIME.findall(body)
    ]


def expected_label(start: datetime, zone: str) -> str:
    """What the reader in `zone` should read, computed here with zoneinfo alone."""
    seen = start.astimezone(ZoneInfo(zone))
    day = f"{seen:%a} " if seen.date() != start.date() else ""
    return f"({day}{format_time(seen.time())} your time)"


def test_search_near_a_place_in_another_zone_shows_your_time_on_online_cards(
    client: FlaskClient, online_group: Group
) -> None:
    body = client.get("/search?near=Phoenix, AZ").get_data(as_text=True)
    panel = body[body.index('class="online-panel"') :]
    ((start, browser, words),) = times_on(panel)
    assert "8:00 pm Eastern time" in words
    assert expected_label(start, "America/Phoenix") in words
    assert not browser
    assert f"/groups/{online_group.slug}?tz=America/Phoenix" in panel


def test_no_your_time_when_the_place_searched_shares_the_groups_zone(
    client: FlaskClient, online_group: Group
) -> None:
    body = client.get("/search?near=10001").get_data(as_text=True)
    panel = body[body.index('class="online-panel"') :]
    ((_start, browser, words),) = times_on(panel)
    assert "8:00 pm Eastern time" in words
    assert "your time" not in panel
    assert not browser  # the zone is known: the browser must not add one either


def test_search_without_a_place_uses_the_browsers_zone(
    client: FlaskClient, online_group: Group
) -> None:
    body = client.get("/search?attendance=online&tz=America/Denver").get_data(as_text=True)
    ((start, _browser, words),) = times_on(body)
    assert expected_label(start, "America/Denver") in words
    unknown = client.get("/search?attendance=online").get_data(as_text=True)
    ((_start, browser, words),) = times_on(unknown)
    assert browser and "your time" not in words


def test_group_page_with_tz_shows_your_time(client: FlaskClient, online_group: Group) -> None:
    body = client.get(f"/groups/{online_group.slug}?tz=America/Denver").get_data(as_text=True)
    found = times_on(body)
    assert len(found) == 4
    for start, browser, words in found:
        assert expected_label(start, "America/Denver") in words
        assert not browser


@pytest.mark.parametrize(
    "tz", ["Mars/Olympus_Mons", "../../etc/passwd", "America", "UTC+5", "x" * 300, ""]
)
def test_a_bad_tz_is_ignored(client: FlaskClient, online_group: Group, tz: str) -> None:
    for url in (f"/groups/{online_group.slug}?tz={tz}", f"/search?attendance=online&tz={tz}"):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert "your time" not in body
        assert all(browser for _start, browser, _words in times_on(body))


def test_in_person_groups_stay_on_their_own_clock(
    client: FlaskClient, make_group: Callable[..., Group], taxonomy: Any
) -> None:
    group = make_group(
        meetings=[
            {"freq": "weekly", "byday": ["TU"], "start": "19:00", "timezone": "America/Chicago"}
        ]
    )
    body = client.get(f"/groups/{group.slug}?tz=America/Denver").get_data(as_text=True)
    assert times_on(body)
    assert "your time" not in body
    assert not any(browser for _start, browser, _words in times_on(body))
