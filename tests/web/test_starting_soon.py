"""Starting soon on the results page, the embed and the API: `starts_within`, `sort=soonest`
and the next meeting on each result, on a clock the test sets (search.query.current_time)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient

from clearinghouse.extensions import db
from clearinghouse.models import Group
from clearinghouse.search import get_backend, query
from clearinghouse.taxonomy import Taxonomy
from indexer.sync import sync
from tests.api_support import api_headers

__all__ = ["api_headers"]

# Tuesday 1 December 2026, 18:45 in Chicago.
NOW = datetime(2026, 12, 1, 18, 45, tzinfo=ZoneInfo("America/Chicago"))

TUESDAY_SEVEN: dict[str, Any] = {"name": "Tuesday Evening Circle"}  # TU 19:00–20:30, Chicago
ONLINE_EASTERN: dict[str, Any] = {
    # Tuesday 21:00 New York = 20:00 Chicago = 18:00 Los Angeles.
    "name": "Online Eastern Circle",
    "location": None,
    "attendance": "online",
    "online": {"url": "https://meet.example.org/eastern"},
    "meetings": [
        {"freq": "weekly", "byday": ["TU"], "start": "21:00", "timezone": "America/New_York"}
    ],
}
THURSDAY_MORNING: dict[str, Any] = {
    "name": "Thursday Morning Circle",
    "meetings": [{"freq": "weekly", "byday": ["TH"], "start": "10:00"}],
}


@pytest.fixture
def groups(
    make_group: Callable[..., Group], taxonomy: Taxonomy, monkeypatch: pytest.MonkeyPatch
) -> None:
    for record in (TUESDAY_SEVEN, ONLINE_EASTERN, THURSDAY_MORNING):
        make_group(**record)
    sync(db.session(), get_backend(), taxonomy)
    monkeypatch.setattr(query, "current_time", lambda: NOW)


@pytest.fixture
def api(client: FlaskClient, api_headers: dict[str, str]) -> Callable[[str], Any]:
    """GET an API path with a partner key."""
    return lambda path: client.get(path, headers=api_headers)


def api_names(api: Callable[[str], Any], params: str) -> list[str]:
    response = api(f"/api/v1/groups?{params}")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    return [item["name"] for item in [*body["data"], *body["online"]]]


def test_api_starts_within(api: Callable[[str], Any], groups: None) -> None:
    assert api_names(api, "starts_within=now") == ["Tuesday Evening Circle"]
    assert set(api_names(api, "starts_within=3h")) == {
        "Tuesday Evening Circle",
        "Online Eastern Circle",
    }
    assert api_names(api, "starts_within=thursday") == ["Thursday Morning Circle"]
    assert api_names(api, "starts_within=wed&tz=America/New_York") == []


def test_api_today_reads_online_groups_on_the_searchers_clock(
    api: Callable[[str], Any], groups: None
) -> None:
    # The online meeting is Tuesday 20:00 in Chicago (today there), but in the Azores
    # (UTC-1) it is 23:45 now and the meeting is at 01:00: tomorrow.
    assert "Online Eastern Circle" in api_names(api, "starts_within=today&tz=America/Chicago")
    assert "Online Eastern Circle" not in api_names(api, "starts_within=today&tz=Atlantic/Azores")


def test_api_sort_soonest_and_next_meeting(api: Callable[[str], Any], groups: None) -> None:
    response = api("/api/v1/groups?sort=soonest&tz=America/Los_Angeles")
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert [item["name"] for item in data] == [
        "Tuesday Evening Circle",
        "Online Eastern Circle",
        "Thursday Morning Circle",
    ]
    by_name = {item["name"]: item["next_meeting"] for item in data}
    assert by_name["Tuesday Evening Circle"] == {
        "start": "2026-12-01T19:00:00-06:00",
        "timezone": "America/Chicago",
        "viewer_start": None,  # in person: read on its own clock
    }
    assert by_name["Online Eastern Circle"] == {
        "start": "2026-12-01T21:00:00-05:00",
        "timezone": "America/New_York",
        "viewer_start": "2026-12-01T18:00:00-08:00",
    }
    assert by_name["Thursday Morning Circle"]["start"] == "2026-12-03T10:00:00-06:00"
    links = response.get_json()["links"]
    assert "sort=soonest" in links["self"] and "tz=America%2FLos_Angeles" in links["self"]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ("starts_within=soonish", "starts_within"),
        ("starts_within=now&starts_within=today", "starts_within"),
        ("sort=soon", "sort"),
    ],
)
def test_api_refuses_a_bad_when_with_400_naming_it(
    api: Callable[[str], Any], params: str, name: str
) -> None:
    response = api(f"/api/v1/groups?{params}")
    assert response.status_code == 400
    problem = response.get_json()
    assert [item["name"] for item in problem["invalid_params"]] == [name]
    if params == "starts_within=soonish":
        assert "now" in problem["detail"] and "3h" in problem["detail"]


def test_api_ignores_a_time_zone_it_does_not_know(api: Callable[[str], Any], groups: None) -> None:
    assert api_names(api, "starts_within=now&tz=Not/AZone") == ["Tuesday Evening Circle"]


def test_openapi_documents_starts_within(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    parameters = {p["name"]: p for p in document["paths"]["/groups"]["get"]["parameters"]}
    assert "now, 3h, today, mon" in parameters["starts_within"]["schema"]["description"]
    assert "30 minutes" in parameters["starts_within"]["description"]
    assert "soonest" in parameters["sort"]["schema"]["description"]


def test_results_page_when_filter_chip_and_next_meeting(client: FlaskClient, groups: None) -> None:
    response = client.get("/search?starts_within=now")
    assert response.status_code == 200
    page = unescape(response.get_data(as_text=True))
    assert "Tuesday Evening Circle" in page
    assert "Thursday Morning Circle" not in page
    assert "When: Now" in page  # the chip
    assert '<option value="now" selected>' in page
    assert '<option value="soonest">Soonest first</option>' in page
    assert 'datetime="2026-12-01T19:00:00-06:00"' in page  # the card's next meeting


def test_results_page_soonest_first(client: FlaskClient, groups: None) -> None:
    page = client.get("/search?sort=soonest").get_data(as_text=True)
    order = [
        page.index(name)
        for name in ("Tuesday Evening Circle", "Online Eastern Circle", "Thursday Morning Circle")
    ]
    assert order == sorted(order)
    assert '<option value="soonest" selected>' in page


@pytest.mark.parametrize("value", ["soonish", "next-week", "99"])
def test_results_page_bad_when_is_a_400_that_names_it(client: FlaskClient, value: str) -> None:
    response = client.get(f"/search?starts_within={value}")
    assert response.status_code == 400
    page = unescape(response.get_data(as_text=True))
    assert "When" in page and "(starts_within)" in page
    assert "in progress or starting within 30 minutes" in page


def test_embed_filters_by_when(client: FlaskClient, groups: None) -> None:
    response = client.get("/embed?starts_within=now")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Tuesday Evening Circle" in page
    assert "Thursday Morning Circle" not in page
