"""GET /api/v1/groups: the same search as the public site, paged so partners miss nothing."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geopy.distance import great_circle
from werkzeug.datastructures import MultiDict

from clearinghouse.extensions import db
from clearinghouse.models import Group
from clearinghouse.search.query import parse_search_args
from clearinghouse.search.service import run_search
from clearinghouse.taxonomy import Taxonomy, default_taxonomy
from tests.api_support import api_headers, get_json, index_all

__all__ = ["api_headers"]

CHICAGO = {"lat": 41.9251, "lon": -87.6572}


def place(city: str, region: str, postal: str, lat: float, lon: float) -> dict[str, Any]:
    return {"city": city, "region": region, "postal_code": postal, "lat": lat, "lon": lon}


@pytest.fixture(params=["embedded", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)])
def engine(request: pytest.FixtureRequest, app: Flask) -> str:
    """The API over each search engine (the embedded one is the app's default)."""
    if request.param == "elasticsearch":
        from clearinghouse.search.elastic import ElasticBackend

        url = request.getfixturevalue("elasticsearch_url")
        alias = f"api-{uuid.uuid4().hex[:12]}"
        app.extensions["search_backend"] = ElasticBackend(url, alias, refresh=True)
    return str(request.param)


@pytest.fixture
def directory(engine: str, make_group: Callable[..., Group]) -> list[Group]:
    groups = [
        make_group(
            name=f"Chicago Grief Circle {n}",
            location=place("Chicago", "IL", "60614", 41.92 + n / 100, -87.65),
        )
        for n in range(5)
    ]
    groups += [
        make_group(
            name="Evanston Sober Women",
            concerns=["alcohol"],
            audience=["women"],
            location=place("Evanston", "IL", "60201", 42.0451, -87.6877),
            meetings=[{"freq": "weekly", "byday": ["SA"], "start": "09:00"}],
        ),
        make_group(
            name="Spanish Grief Group",
            languages=["es"],
            cost="donation",
            location=place("Cicero", "IL", "60804", 41.8456, -87.7539),
        ),
        make_group(
            name="Denver Caregivers",
            concerns=["caregiving"],
            location=place("Denver", "CO", "80202", 39.7525, -104.9995),
        ),
        make_group(
            name="Online Grief Circle",
            location=None,
            online={"url": "https://meet.example.org/grief"},
            meetings=[
                {"freq": "weekly", "byday": ["WE"], "start": "20:00", "timezone": "America/Chicago"}
            ],
        ),
        make_group(name="Archived Grief Circle", status="archived"),
    ]
    index_all()
    return groups


QUERIES = [
    "",
    "q=grief",
    "near=60614&radius=10",
    "near=Chicago, IL&concern=grief-loss&sort=name",
    "concern=addiction-recovery",
    "language=es&cost=donation&cost=free",
    "audience=women&day=sat",
    "q=caregivers&sort=updated",
    f"lat={CHICAGO['lat']}&lon={CHICAGO['lon']}&radius=50&unit=km",
]


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


@pytest.mark.parametrize("query", QUERIES)
def test_api_returns_what_the_search_service_returns(
    client: FlaskClient,
    api_headers: dict[str, str],
    directory: list[Group],
    taxonomy: Taxonomy,
    query: str,
) -> None:
    body = get_json(client, f"/api/v1/groups?{query}", api_headers)
    args = MultiDict([tuple(pair.split("=", 1)) for pair in query.split("&") if pair])
    page = run_search(parse_search_args(args, taxonomy))
    assert ids(body["data"]) == [hit.group.uuid for hit in page.groups]
    assert ids(body["online"]) == [hit.group.uuid for hit in page.online]
    assert body["meta"]["total"] == page.total
    expected_facets = {
        facet.name: [(v.value, v.count) for v in facet.values] for facet in page.facets
    }
    assert {
        name: [(v["value"], v["count"]) for v in values] for name, values in body["facets"].items()
    } == expected_facets
    archived = directory[-1].uuid
    assert archived not in ids(body["data"]) + ids(body["online"])


def test_place_search_gives_distances_and_an_online_list(
    client: FlaskClient, api_headers: dict[str, str], directory: list[Group]
) -> None:
    body = get_json(client, "/api/v1/groups?near=60614&radius=25&concern=grief-loss", api_headers)
    assert body["meta"]["near"]["text"] == "60614"
    assert body["data"] and all("distance" in item for item in body["data"])
    distances = [item["distance"]["mi"] for item in body["data"]]
    assert distances == sorted(distances) and max(distances) <= 25
    assert "Denver Caregivers" not in [item["name"] for item in body["data"]]
    assert [item["name"] for item in body["online"]] == ["Online Grief Circle"]


@pytest.mark.parametrize(
    "query",
    ["sort=name", "", "sort=updated", "q=grief", "near=60614&radius=500", "near=60614&sort=name"],
)
def test_walking_every_page_gets_each_group_exactly_once(
    client: FlaskClient, api_headers: dict[str, str], directory: list[Group], query: str
) -> None:
    url: str | None = f"/api/v1/groups?per_page=2&{query}"
    seen: list[str] = []
    totals = set()
    while url:
        response = client.get(url, headers=api_headers)
        body = response.get_json()
        seen += ids(body["data"])
        totals.add(body["meta"]["total"])
        next_link = body["links"]["next"]
        url = None
        if next_link:
            assert f'<{next_link}>; rel="next"' in response.headers["Link"]
            parts = urlsplit(next_link)
            url = f"{parts.path}?{parts.query}"
    one_page = get_json(client, f"/api/v1/groups?per_page=100&{query}", api_headers)
    assert len(seen) == len(set(seen)) == one_page["meta"]["total"]
    assert seen == ids(one_page["data"]) and totals == {one_page["meta"]["total"]}
    if not query:
        assert set(seen) == {group.uuid for group in directory if group.status == "active"}


def test_links_round_trip_the_query(
    client: FlaskClient, api_headers: dict[str, str], directory: list[Group]
) -> None:
    body = get_json(client, "/api/v1/groups?q=grief&per_page=2&page=2", api_headers)
    links = body["links"]
    prev = parse_qs(urlsplit(links["prev"]).query)
    assert prev == {"q": ["grief"], "per_page": ["2"]}
    assert parse_qs(urlsplit(links["self"]).query) == {**prev, "page": ["2"]}
    assert body["meta"] == {
        "total": body["meta"]["total"],
        "page": 2,
        "per_page": 2,
        "degraded": False,
    }
    again = get_json(
        client, urlsplit(links["self"]).path + "?" + urlsplit(links["self"]).query, api_headers
    )
    assert ids(again["data"]) == ids(body["data"])


def test_api_and_public_search_page_show_the_same_groups(
    client: FlaskClient, api_headers: dict[str, str], directory: list[Group]
) -> None:
    for query in ("q=grief", "near=60614&radius=10", "concern=grief-loss&per_page=50"):
        body = get_json(client, f"/api/v1/groups?{query}", api_headers)
        html = client.get(f"/search?{query}").get_data(as_text=True)
        # A card's link may carry the reader's time zone (?tz=…) for the group page's times.
        on_page = set(re.findall(r'href="/groups/([a-z0-9-]+)(?:\?[^"]*)?"', html))
        expected = {item["slug"] for item in body["data"] + body["online"]}
        assert expected and expected <= on_page
        everything = {group.slug for group in directory}
        assert on_page & everything == expected


def test_group_by_id_and_not_public_is_404(
    client: FlaskClient, api_headers: dict[str, str], directory: list[Group]
) -> None:
    group = directory[0]
    body = get_json(client, f"/api/v1/groups/{group.uuid}", api_headers)
    assert body["id"] == group.uuid and body["url"].endswith(f"/groups/{group.slug}")
    response = client.get(f"/api/v1/groups/{directory[-1].uuid}", headers=api_headers)
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert response.get_json()["detail"] == (
        f"no public group has id {directory[-1].uuid}; it may have been removed"
    )


def test_concerns_tree_has_synonyms_and_counts(
    client: FlaskClient, api_headers: dict[str, str], directory: list[Group]
) -> None:
    body = get_json(client, "/api/v1/concerns", api_headers)
    parents = {term["slug"]: term for term in body["data"]}
    grief = parents["grief-loss"]
    assert "bereavement" in grief["synonyms"]
    assert grief["count"] == 7  # five Chicago circles, the Spanish group, the online one
    addiction = parents["addiction-recovery"]
    assert addiction["count"] == 1
    assert {child["slug"]: child["count"] for child in addiction["children"]}["alcohol"] == 1


def test_search_results_follow_edits_and_archives_at_once(
    client: FlaskClient, api_headers: dict[str, str], make_group: Callable[..., Group]
) -> None:
    """Search JSON equals the group's own JSON after every change (no stale copy served)."""
    from clearinghouse.listings import validate_listing
    from clearinghouse.store import apply_listing, set_status
    from tests.conftest import sample_record

    group = make_group(name="Lakeview Widows Circle")
    index_all()

    def searched() -> list[dict[str, Any]]:
        body = get_json(client, "/api/v1/groups?q=widows", api_headers)
        return [item for item in body["data"] if item["id"] == group.uuid]

    def own() -> dict[str, Any]:
        return get_json(client, f"/api/v1/groups/{group.uuid}", api_headers)  # type: ignore[no-any-return]

    assert searched() == [own()]
    assert own()["meetings"][0]["start"] == "19:00"
    edited = sample_record(
        name="Lakeview Widows Circle",
        meetings=[{"freq": "weekly", "byday": ["WE"], "start": "18:15", "end": "19:30"}],
    )
    data = validate_listing(edited, default_taxonomy()).data
    assert data is not None
    assert apply_listing(db.session, data, actor="test", group=group).action == "updated"
    db.session.commit()  # no sync: the index still holds the 19:00 version
    assert searched() == [own()]
    assert own()["meetings"][0]["start"] == "18:15"
    set_status(db.session, group, "archived", actor="test")
    db.session.commit()  # the index still holds it until the next sync: the API must not
    assert searched() == []


def test_each_meeting_is_given_in_fields_and_in_words(
    client: FlaskClient, api_headers: dict[str, str], make_group: Callable[..., Group]
) -> None:
    group = make_group(
        meetings=[
            {"freq": "weekly", "byday": ["TU", "TH"], "start": "19:00", "end": "20:30"},
            {"freq": "monthly", "byday": ["2SA"], "start": "10:00", "note": "bring a friend"},
        ]
    )
    body = get_json(client, f"/api/v1/groups/{group.uuid}", api_headers)
    assert body["meetings"] == [
        {
            "freq": "weekly",
            "byday": ["TU", "TH"],
            "start": "19:00",
            "end": "20:30",
            "timezone": "America/Chicago",
            "interval": 1,
            "anchor": None,
            "text": "Tuesdays and Thursdays, 7:00–8:30 pm Central",
            "cancellations": [],
        },
        {
            "freq": "monthly",
            "byday": ["2SA"],
            "start": "10:00",
            "end": None,
            "timezone": "America/Chicago",
            "interval": 1,
            "anchor": None,
            "text": "2nd Saturday of the month, 10:00 am Central (bring a friend)",
            "cancellations": [],
        },
    ]


def test_verified_and_updated_times_are_given_in_utc(
    client: FlaskClient, api_headers: dict[str, str], make_group: Callable[..., Group]
) -> None:
    group = make_group(verified_at="2026-10-03")
    body = get_json(client, f"/api/v1/groups/{group.uuid}", api_headers)
    assert body["verified_at"] == "2026-10-03T00:00:00Z"
    assert body["updated_at"] == group.updated_at.isoformat(timespec="seconds") + "Z"
    unverified = make_group(name="Never Verified Circle")
    assert get_json(client, f"/api/v1/groups/{unverified.uuid}", api_headers)["verified_at"] is None


def test_distances_are_great_circle_miles_and_kilometres_to_the_hundredth(
    client: FlaskClient, api_headers: dict[str, str], directory: list[Group]
) -> None:
    here = (41.9, -87.65)
    url = f"/api/v1/groups?lat={here[0]}&lon={here[1]}&radius=100"
    body = get_json(client, url, api_headers)
    assert body["data"]
    for item in body["data"]:
        place = (item["location"]["lat"], item["location"]["lon"])
        distance = item["distance"]
        assert distance["mi"] == pytest.approx(great_circle(here, place).miles, abs=0.006)
        assert distance["km"] == pytest.approx(great_circle(here, place).km, abs=0.006)
        assert distance == {"mi": round(distance["mi"], 2), "km": round(distance["km"], 2)}


def test_the_public_json_gives_each_public_field_under_its_documented_name(
    client: FlaskClient, api_headers: dict[str, str], make_group: Callable[..., Group]
) -> None:
    group = make_group(
        name="Thursday Widows Circle",
        description="Peers after the death of a spouse.",
        cost="donation",
        cost_note="Pay what you can",
        online={"url": "https://meet.example.org/widows", "notes": "Camera optional"},
        contact={"email": "widows@example.org", "website": "https://widows.example.org"},
    )
    body = get_json(client, f"/api/v1/groups/{group.uuid}", api_headers)
    assert set(body) == {
        "id", "slug", "name", "description", "url", "organization", "concerns", "format",
        "attendance", "open", "time_limited", "cost", "cost_note", "languages", "audience",
        "accessibility", "location", "online", "service_area", "meetings", "contact",
        "verified_at", "updated_at", "closure", "cancellations", "next_meeting",
    }  # fmt: skip
    assert (body["id"], body["name"], body["slug"]) == (group.uuid, group.name, group.slug)
    assert body["description"] == "Peers after the death of a spouse."
    assert (body["format"], body["cost"], body["cost_note"]) == (
        "peer-led",
        "donation",
        "Pay what you can",
    )
    assert body["languages"] == ["en"]
    assert [concern["slug"] for concern in body["concerns"]] == [
        "grief-loss"
    ]  # "grief" is a synonym
    assert body["online"] == {
        "url": "https://meet.example.org/widows",
        "phone": None,
        "notes": "Camera optional",
    }
    assert body["contact"] == {
        "phone": None,
        "email": "widows@example.org",
        "website": "https://widows.example.org",
    }
    location = body["location"]
    assert (location["name"], location["city"], location["postal_code"]) == (
        "Lincoln Park Library",
        "Chicago",
        "60614",
    )
    assert (location["lat"], location["lon"]) == (41.9251, -87.6572)
    assert [(m["freq"], m["byday"], m["start"], m["end"]) for m in body["meetings"]] == [
        ("weekly", ["TU"], "19:00", "20:30")
    ]


def test_every_public_field_of_a_fully_described_group_carries_its_value(
    client: FlaskClient,
    api_headers: dict[str, str],
    make_group: Callable[..., Group],
    taxonomy: Taxonomy,
) -> None:
    group = make_group(
        name="Saturday Caregivers Circle",
        organization="Chicago Caregiver Network",
        concerns=["grief", "caregiving"],
        attendance="hybrid",
        online={"url": "https://meet.example.org/caregivers"},
        open=False,
        time_limited=True,
        languages=["en", "es"],
        audience=["women"],
        accessibility=["wheelchair"],
        service_area=["IL"],
    )
    body = get_json(client, f"/api/v1/groups/{group.uuid}", api_headers)

    assert body["organization"] == {"name": "Chicago Caregiver Network", "url": None}
    terms = [taxonomy.get(slug) for slug in ("grief-loss", "caregiving")]
    assert body["concerns"] == [
        {"slug": term.slug, "label": term.label} for term in terms if term is not None
    ]
    assert len(body["concerns"]) == 2
    assert (body["attendance"], body["open"], body["time_limited"]) == ("hybrid", False, True)
    assert body["languages"] == ["en", "es"]
    assert (body["audience"], body["accessibility"], body["service_area"]) == (
        ["women"],
        ["wheelchair"],
        ["IL"],
    )
    assert body["url"].endswith(f"/groups/{group.slug}")


def test_a_group_with_no_optional_details_gives_empty_lists_and_nulls(
    client: FlaskClient, api_headers: dict[str, str], make_group: Callable[..., Group]
) -> None:
    group = make_group(name="Plain Circle", languages=[])
    body = get_json(client, f"/api/v1/groups/{group.uuid}", api_headers)

    assert (body["organization"], body["online"]) == (None, None)
    assert (body["audience"], body["accessibility"], body["service_area"]) == ([], [], [])


def test_a_group_joined_by_phone_alone_has_its_online_details(
    client: FlaskClient, api_headers: dict[str, str], make_group: Callable[..., Group]
) -> None:
    group = make_group(name="Dial-in Widows Circle", online={"phone": "+1 312 555 0100"})
    online = get_json(client, f"/api/v1/groups/{group.uuid}", api_headers)["online"]
    assert online is not None
    assert online["url"] is None and not online["notes"]
    assert re.sub(r"\D", "", online["phone"]).endswith("3125550100")
