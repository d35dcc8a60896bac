"""The HSDS 3.0 API: every response validates against Open Referral's official schemas."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator, FormatChecker

from clearinghouse.extensions import db
from clearinghouse.hsds import mapping
from clearinghouse.models import Group
from clearinghouse.store import set_status
from tests.api_support import HSDS_SCHEMAS, api_headers, get_json, index_all, load_json

__all__ = ["api_headers"]

ZERO_UUID = "00000000-0000-0000-0000-000000000000"
PRIVATE_MARKERS = ("Leader Lastname", "leader-private@example.org", "312-555-0199", "staff only")


def validator(relative: str) -> Draft202012Validator:
    return Draft202012Validator(load_json(HSDS_SCHEMAS / relative), format_checker=FormatChecker())


def assert_valid(relative: str, instance: Any) -> None:
    errors = sorted(validator(relative).iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def assert_page(body: dict[str, Any], item_schema: str) -> None:
    """HSDS `Page` wrapper (openapi.json components) with each item valid against its schema."""
    page_schema = load_json(HSDS_SCHEMAS / "openapi.json")["components"]["schemas"]["Page"]
    Draft202012Validator(page_schema).validate(body)
    assert set(page_schema["properties"]) <= set(body)
    assert isinstance(body["contents"], list)
    assert body["size"] == len(body["contents"])
    for item in body["contents"]:
        assert_valid(item_schema, item)


@pytest.fixture
def directory(make_group: Callable[..., Group]) -> dict[str, Group]:
    """A small directory covering what HSDS maps: places, online, monthly, tags, areas."""
    private = {
        "name": "Leader Lastname",
        "email": "leader-private@example.org",
        "phone": "312-555-0199",
        "notes": "staff only",
    }
    groups = {
        "grief": make_group(
            organization="Chicago Grief Network",
            private_contact=private,
            audience=["women", "seniors"],
            accessibility=["wheelchair", "asl"],
            contact={"email": "circle@example.org", "phone": "312-555-0100"},
        ),
        "alcohol": make_group(
            name="Monthly Sober Circle",
            concerns=["alcohol"],
            cost="donation",
            cost_note="Pass the hat",
            meetings=[{"freq": "monthly", "byday": ["2TU", "-1FR"], "start": "18:30"}],
            private_contact=private,
        ),
        "online": make_group(
            name="Online Caregivers",
            concerns=["caregiving"],
            location=None,
            attendance="online",
            online={"url": "https://meet.example.org/care", "phone": "800-555-0100"},
            meetings=[
                {
                    "freq": "weekly",
                    "byday": ["MO", "TH"],
                    "start": "12:00",
                    "end": "13:00",
                    "timezone": "America/New_York",
                },
                {"freq": "arrangement", "note": "Call to set up"},
            ],
            service_area=["IL", "WI"],
            format="professional-expert",
        ),
        "archived": make_group(name="Old Circle", status="archived", private_contact=private),
        "pending": make_group(name="Pending Circle", status="pending"),
    }
    index_all()
    return groups


def test_root_describes_the_api_without_a_key(client: FlaskClient) -> None:
    body = get_json(client, "/hsds/", {})
    assert body["version"] == "3.0"
    assert body["openapi_url"].endswith("openapi.json")


def test_services_page_validates_and_lists_only_public_groups(
    client: FlaskClient, api_headers: dict[str, str], directory: dict[str, Group]
) -> None:
    body = get_json(client, "/hsds/services", api_headers)
    assert_page(body, "compiled/service_list.json")
    ids = {item["id"] for item in body["contents"]}
    assert ids == {directory[k].uuid for k in ("grief", "alcohol", "online")}
    assert body["total_items"] == 3 and body["empty"] is False
    assert body["first_page"] is True and body["last_page"] is True


def test_full_services_and_each_service_validate_against_compiled_service(
    client: FlaskClient, api_headers: dict[str, str], directory: dict[str, Group]
) -> None:
    body = get_json(client, "/hsds/services?full=true", api_headers)
    assert_page(body, "compiled/service.json")
    for key in ("grief", "alcohol", "online"):
        service = get_json(client, f"/hsds/services/{directory[key].uuid}", api_headers)
        assert_valid("compiled/service.json", service)
        text = json.dumps(service)
        for marker in PRIVATE_MARKERS:
            assert marker not in text


def test_schedules_use_hsds_rules(
    client: FlaskClient, api_headers: dict[str, str], directory: dict[str, Group]
) -> None:
    monthly = get_json(client, f"/hsds/services/{directory['alcohol'].uuid}", api_headers)
    (rule,) = monthly["schedules"]
    assert rule["freq"] == "MONTHLY" and rule["byday"] == "2TU,-1FR"
    assert rule["opens_at"].startswith("18:30")
    assert rule["timezone"] in (-5, -6)  # Chicago, standard or daylight time
    online = get_json(client, f"/hsds/services/{directory['online'].uuid}", api_headers)
    weekly, arrangement = online["schedules"]
    assert weekly["freq"] == "WEEKLY" and weekly["byday"] == "MO,TH"
    assert weekly["opens_at"].startswith("12:00") and weekly["closes_at"].startswith("13:00")
    assert weekly["timezone"] in (-4, -5)
    assert "freq" not in arrangement and "arrangement" in arrangement["description"].lower()
    locations = [sal["location"]["location_type"] for sal in online["service_at_locations"]]
    assert locations == ["virtual"]
    assert [area["name"] for area in online["service_areas"]] == ["Illinois", "Wisconsin"]


def test_concerns_and_attributes_are_taxonomy_terms(
    client: FlaskClient, api_headers: dict[str, str], directory: dict[str, Group]
) -> None:
    service = get_json(client, f"/hsds/services/{directory['grief'].uuid}", api_headers)
    codes = {attribute["taxonomy_term"]["code"] for attribute in service["attributes"]}
    assert {"grief-loss", "format:peer-led", "cost:free", "audience:women"} <= codes
    assert {"accessibility:wheelchair", "attendance:in-person"} <= codes
    cost = get_json(client, f"/hsds/services/{directory['alcohol'].uuid}", api_headers)
    assert cost["cost_options"][0]["option"] == "Donation"
    assert cost["cost_options"][0]["amount_description"] == "Pass the hat"
    assert [language["code"] for language in service["languages"]] == ["en"]


def test_taxonomies_and_terms_validate_and_filter(
    client: FlaskClient, api_headers: dict[str, str], directory: dict[str, Group]
) -> None:
    taxonomies = get_json(client, "/hsds/taxonomies", api_headers)
    assert_page(taxonomies, "taxonomy.json")
    assert taxonomies["total_items"] == 2
    for item in taxonomies["contents"]:
        assert_valid(
            "taxonomy.json", get_json(client, f"/hsds/taxonomies/{item['id']}", api_headers)
        )
    concern_taxonomy = next(t for t in taxonomies["contents"] if "concern" in t["name"].lower())
    terms = get_json(
        client,
        f"/hsds/taxonomy_terms?taxonomy_id={concern_taxonomy['id']}&per_page=100",
        api_headers,
    )
    assert_page(terms, "taxonomy_term.json")
    assert terms["total_items"] > 100 and terms["total_pages"] >= 2
    grief = get_json(client, "/hsds/taxonomy_terms?search=bereavement", api_headers)
    assert "grief-loss" in [term["code"] for term in grief["contents"]]
    parent = next(term for term in grief["contents"] if term["code"] == "grief-loss")
    term = get_json(client, f"/hsds/taxonomy_terms/{parent['id']}", api_headers)
    assert_valid("taxonomy_term.json", term)
    children = get_json(client, f"/hsds/taxonomy_terms?parent_id={parent['id']}", api_headers)
    assert children["contents"] and all(
        t["parent_id"] == parent["id"] for t in children["contents"]
    )
    top = get_json(client, "/hsds/taxonomy_terms?top_only=true&per_page=100", api_headers)
    assert all("parent_id" not in term for term in top["contents"])


def test_taxonomy_term_filter_includes_children(
    client: FlaskClient, api_headers: dict[str, str], directory: dict[str, Group]
) -> None:
    terms = get_json(client, "/hsds/taxonomy_terms?search=addiction&top_only=true", api_headers)
    addiction = next(t for t in terms["contents"] if t["code"] == "addiction-recovery")
    body = get_json(client, f"/hsds/services?taxonomy_term_id={addiction['id']}", api_headers)
    assert [item["id"] for item in body["contents"]] == [directory["alcohol"].uuid]
    formats = get_json(client, "/hsds/taxonomy_terms?search=professional", api_headers)
    professional = next(t for t in formats["contents"] if t["code"] == "format:professional-expert")
    body = get_json(client, f"/hsds/services?taxonomy_term_id={professional['id']}", api_headers)
    assert [item["id"] for item in body["contents"]] == [directory["online"].uuid]
    women = next(
        t
        for t in get_json(client, "/hsds/taxonomy_terms?search=women", api_headers)["contents"]
        if t["code"] == "audience:women"
    )
    body = get_json(client, f"/hsds/services?taxonomy_term_id={women['id']}", api_headers)
    assert [item["id"] for item in body["contents"]] == [directory["grief"].uuid]


def test_search_modified_after_and_paging(
    client: FlaskClient, api_headers: dict[str, str], directory: dict[str, Group]
) -> None:
    body = get_json(client, "/hsds/services?search=caregivers", api_headers)
    assert [item["id"] for item in body["contents"]] == [directory["online"].uuid]
    newest = max(directory[k].updated_at for k in ("grief", "alcohol", "online"))
    after = get_json(client, f"/hsds/services?modified_after={newest.isoformat()}Z", api_headers)
    assert [item["id"] for item in after["contents"]] == [directory["online"].uuid]
    pages = [
        get_json(client, f"/hsds/services?per_page=2&page={n}", api_headers) for n in (1, 2, 3)
    ]
    for page in pages:
        assert_page(page, "compiled/service_list.json")
    assert [p["size"] for p in pages] == [2, 1, 0]
    assert pages[0]["total_pages"] == 2 and pages[1]["last_page"] is True
    seen = [item["id"] for page in pages for item in page["contents"]]
    assert len(seen) == len(set(seen)) == 3


def test_ndjson_format_streams_every_item(
    client: FlaskClient, api_headers: dict[str, str], directory: dict[str, Group]
) -> None:
    response = client.get("/hsds/services?format=ndjson&full=true", headers=api_headers)
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert len(lines) == 3
    for line in lines:
        assert_valid("compiled/service.json", line)


@pytest.mark.parametrize(
    ("path", "items"),
    [
        ("/services", "compiled/service_list.json"),
        ("/organizations", "compiled/organization_list.json"),
        ("/taxonomies", "taxonomy.json"),
        ("/taxonomy_terms", "taxonomy_term.json"),
    ],
)
def test_every_ndjson_line_is_a_valid_item_of_its_list(
    client: FlaskClient,
    api_headers: dict[str, str],
    directory: dict[str, Group],
    path: str,
    items: str,
) -> None:
    """Each line validates against the schema the document gives its page's `contents`."""
    documented = load_json(HSDS_SCHEMAS / "openapi.json")["paths"][path]["get"]["responses"]
    schema = documented["200"]["content"]["application/json"]["schema"]
    assert schema["properties"]["contents"]["items"]["$ref"].endswith("/" + items)
    response = client.get(f"/hsds{path}?format=ndjson", headers=api_headers)
    assert response.status_code == 200
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    page = get_json(client, f"/hsds{path}?per_page=100", api_headers)
    assert lines and len(lines) == page["total_items"]  # every item, in the pages' order
    assert [line["id"] for line in lines[:100]] == [item["id"] for item in page["contents"]]
    for line in lines:
        assert_valid(items, line)


def test_organizations_validate_and_hide_ones_without_public_groups(
    client: FlaskClient,
    api_headers: dict[str, str],
    directory: dict[str, Group],
    make_group: Callable[..., Group],
) -> None:
    make_group(name="Hidden", organization="Pending Org", status="pending")
    body = get_json(client, "/hsds/organizations", api_headers)
    assert_page(body, "compiled/organization_list.json")
    assert [org["name"] for org in body["contents"]] == ["Chicago Grief Network"]
    detail = get_json(client, f"/hsds/organizations/{body['contents'][0]['id']}", api_headers)
    assert_valid("compiled/organization.json", detail)
    assert [s["id"] for s in detail["services"]] == [directory["grief"].uuid]


def test_official_optional_parameters_are_accepted(
    client: FlaskClient, api_headers: dict[str, str], directory: dict[str, Group]
) -> None:
    minimal = get_json(client, "/hsds/services?minimal=true", api_headers)
    assert_page(minimal, "compiled/service_list.json")
    assert all(
        set(item) == {"id", "name", "status", "last_modified"} for item in minimal["contents"]
    )
    organizations = get_json(client, "/hsds/organizations?full=true", api_headers)
    assert_page(organizations, "compiled/organization_list.json")
    (network,) = organizations["contents"]
    assert [service["id"] for service in network["services"]] == [directory["grief"].uuid]
    nested = get_json(client, f"/hsds/organizations/{network['id']}?full_service=true", api_headers)
    assert_valid("compiled/organization.json", nested)
    assert nested["services"][0]["schedules"]
    for service in nested["services"]:
        assert_valid("compiled/service.json", service)


def test_archived_services_disappear(
    client: FlaskClient, api_headers: dict[str, str], directory: dict[str, Group]
) -> None:
    group = directory["grief"]
    set_status(db.session(), group, "archived", actor="test")
    db.session.commit()
    response = client.get(f"/hsds/services/{group.uuid}", headers=api_headers)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    # The same words as the partner API's /groups/<id> (one lookup answers both).
    assert response.get_json()["detail"] == (
        f"no public service has id {group.uuid}; it may have been removed"
    )
    pending = client.get(f"/hsds/services/{directory['pending'].uuid}", headers=api_headers)
    assert pending.status_code == 404
    malformed = client.get("/hsds/services/not-a-uuid", headers=api_headers)
    assert malformed.get_json()["detail"] == "no service has id 'not-a-uuid'; ids are UUIDs"


@pytest.mark.parametrize(
    ("url", "status", "param"),
    [
        ("/hsds/services?per_page=100000", 400, "per_page"),
        ("/hsds/services?page=0", 400, "page"),
        ("/hsds/services?page=abc", 400, "page"),
        ("/hsds/services?format=xml", 400, "format"),
        ("/hsds/services?modified_after=yesterday", 400, "modified_after"),
        ("/hsds/services?taxonomy_term_id=not-a-uuid", 400, "taxonomy_term_id"),
        (
            "/hsds/services?taxonomy_term_id=00000000-0000-0000-0000-000000000000",
            400,
            "taxonomy_term_id",
        ),
        ("/hsds/services?full=maybe", 400, "full"),
        ("/hsds/services?proximity=5000", 400, "proximity"),
        ("/hsds/services?postcode=60614&proximity=far", 400, "proximity"),
        ("/hsds/services?postcode=60614&proximity=-1", 400, "proximity"),
        ("/hsds/services?postcode=60614&proximity=nan", 400, "proximity"),
        ("/hsds/services?postcode=60614&proximity=900000", 400, "proximity"),
        ("/hsds/services?postcode=00000", 400, "postcode"),
        ("/hsds/services?postcode=%3Cscript%3E", 400, "postcode"),
        ("/hsds/services?search=grief&search=loss", 400, "search"),
        ("/hsds/services?search=grief&organization_id=not-a-uuid", 400, "organization_id"),
        ("/hsds/services?search=grief&page=9999", 400, "page"),
        ("/hsds/services?colour=red", 400, "colour"),
        ("/hsds/taxonomy_terms?parent_id=x", 400, "parent_id"),
        ("/hsds/services/not-a-uuid", 404, None),
        (f"/hsds/taxonomy_terms/{ZERO_UUID}", 404, None),
        ("/hsds/nothing-here", 404, None),
    ],
)
def test_bad_input_is_problem_json(
    client: FlaskClient, api_headers: dict[str, str], url: str, status: int, param: str | None
) -> None:
    response = client.get(url, headers=api_headers)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status and body["detail"]
    if param:
        assert param in [p["name"] for p in body["invalid_params"]]


def test_services_need_a_key(client: FlaskClient) -> None:
    response = client.get("/hsds/services")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


# --- search, taxonomy_term_id, postcode and proximity: the search engine's answer -------

EVANSTON = {"city": "Evanston", "region": "IL", "postal_code": "60201"}


def service_ids(client: FlaskClient, headers: dict[str, str], query: str) -> list[str]:
    body = get_json(client, f"/hsds/services?{query}", headers)
    assert_page(body, "compiled/service_list.json")
    return [item["id"] for item in body["contents"]]


def test_search_uses_the_engine_words_not_a_substring(
    client: FlaskClient, api_headers: dict[str, str], directory: dict[str, Group]
) -> None:
    # "caregiver" is not a substring of any name; the engine's stemming and synonyms find it.
    assert service_ids(client, api_headers, "search=caregiver") == [directory["online"].uuid]
    # Two words in any order (a LIKE on the whole text would need them adjacent).
    assert service_ids(client, api_headers, "search=circle+sober") == [directory["alcohol"].uuid]
    full = get_json(client, "/hsds/services?search=caregiving&full=true", api_headers)
    assert_page(full, "compiled/service.json")
    assert full["total_items"] == 1


def test_taxonomy_term_id_goes_through_the_engine_with_search(
    client: FlaskClient, api_headers: dict[str, str], directory: dict[str, Group]
) -> None:
    grief = mapping.concern_term_id("grief-loss")
    both = f"search=circle&taxonomy_term_id={grief}"
    assert service_ids(client, api_headers, both) == [directory["grief"].uuid]
    alcohol = mapping.concern_term_id("alcohol")
    assert service_ids(client, api_headers, f"search=circle&taxonomy_term_id={alcohol}") == [
        directory["alcohol"].uuid
    ]
    asl = mapping.attribute_term_id("accessibility", "asl")
    assert service_ids(client, api_headers, f"taxonomy_term_id={asl}&search=grief") == [
        directory["grief"].uuid
    ]


def test_postcode_finds_services_around_its_centre(
    client: FlaskClient,
    api_headers: dict[str, str],
    directory: dict[str, Group],
    make_group: Callable[..., Group],
) -> None:
    evanston = make_group(
        name="Evanston Grief Circle",
        location={**EVANSTON, "lat": 42.0451, "lon": -87.6877},
    )
    make_group(
        name="Denver Grief Circle",
        location={"city": "Denver", "region": "CO", "postal_code": "80202"},
    )
    index_all()
    around = service_ids(client, api_headers, "postcode=60614")
    # Within the default 25 miles, nearest first; online-only services have no place.
    assert set(around[:2]) == {directory["grief"].uuid, directory["alcohol"].uuid}
    assert around[2:] == [evanston.uuid]
    by_text = service_ids(client, api_headers, "postcode=60201&search=grief")
    assert by_text[0] == evanston.uuid and directory["alcohol"].uuid not in by_text


def test_proximity_is_metres_from_the_postcode_centre(
    client: FlaskClient,
    api_headers: dict[str, str],
    directory: dict[str, Group],
    make_group: Callable[..., Group],
) -> None:
    evanston = make_group(
        name="Evanston Grief Circle",
        location={**EVANSTON, "lat": 42.0451, "lon": -87.6877},
    )
    index_all()
    # Lincoln Park to Evanston is about 14 km.
    near = service_ids(client, api_headers, "postcode=60614&proximity=5000")
    assert set(near) == {directory["grief"].uuid, directory["alcohol"].uuid}
    wider = service_ids(client, api_headers, "postcode=60614&proximity=20000")
    assert set(wider) == {*near, evanston.uuid}
    assert service_ids(client, api_headers, "postcode=80202&proximity=50000") == []


def test_searched_services_page_and_stream_like_the_plain_list(
    client: FlaskClient, api_headers: dict[str, str], directory: dict[str, Group]
) -> None:
    total = get_json(client, "/hsds/services?search=circle", api_headers)["total_items"]
    assert total >= 2
    pages = [
        get_json(client, f"/hsds/services?search=circle&per_page=1&page={n}", api_headers)
        for n in range(1, total + 2)
    ]
    for page in pages:
        assert_page(page, "compiled/service_list.json")
    assert [p["size"] for p in pages] == [1] * total + [0]
    assert pages[0]["total_pages"] == total and pages[total - 1]["last_page"] is True
    paged = [item["id"] for page in pages for item in page["contents"]]
    response = client.get("/hsds/services?search=circle&format=ndjson", headers=api_headers)
    assert response.mimetype == "application/x-ndjson"
    streamed = [json.loads(line)["id"] for line in response.get_data(as_text=True).splitlines()]
    assert streamed == paged and len(set(paged)) == total


def test_database_filters_narrow_a_search_keeping_its_order(
    client: FlaskClient, api_headers: dict[str, str], directory: dict[str, Group]
) -> None:
    searched = service_ids(client, api_headers, "search=circle&per_page=100")
    newest = max(directory[k].updated_at for k in ("grief", "alcohol", "online"))
    stamp = f"{newest.isoformat()}Z"
    recent = set(service_ids(client, api_headers, f"modified_after={stamp}&per_page=100"))
    both = service_ids(client, api_headers, f"search=circle&modified_after={stamp}")
    assert both == [i for i in searched if i in recent] and len(both) < len(searched)
    organization = get_json(client, "/hsds/organizations", api_headers)["contents"][0]["id"]
    assert service_ids(client, api_headers, f"search=circle&organization_id={organization}") == [
        directory["grief"].uuid
    ]
    paged = get_json(
        client, f"/hsds/services?search=circle&organization_id={organization}&page=2", api_headers
    )
    assert paged["contents"] == [] and paged["total_items"] == 1


@pytest.fixture(params=["embedded", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)])
def engine(request: pytest.FixtureRequest, app: Flask) -> str:
    """/hsds over each search engine (the embedded one is the app's default)."""
    if request.param == "elasticsearch":
        from clearinghouse.search.elastic import ElasticBackend

        url = request.getfixturevalue("elasticsearch_url")
        alias = f"hsds-{uuid.uuid4().hex[:12]}"
        app.extensions["search_backend"] = ElasticBackend(url, alias, refresh=True)
    return str(request.param)


@pytest.mark.parametrize("words", ["grief", "caregivers", "sober circle", "circle"])
def test_hsds_search_answers_what_the_groups_api_answers(
    engine: str,
    client: FlaskClient,
    api_headers: dict[str, str],
    directory: dict[str, Group],
    words: str,
) -> None:
    api = get_json(client, f"/api/v1/groups?q={words}&per_page=100", api_headers)
    hsds = get_json(client, f"/hsds/services?search={words}&per_page=100", api_headers)
    expected = [group["id"] for group in [*api["data"], *api["online"]]]
    assert expected, words  # each search finds something, so the comparison means something
    assert [item["id"] for item in hsds["contents"]] == expected
    assert hsds["total_items"] == api["meta"]["total"]
