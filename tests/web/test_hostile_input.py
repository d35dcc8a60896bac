"""Hostile input at the boundary: control characters, overflowing dates and ids, on both databases.

Issue 11 defects 6 and 8: NUL bytes and dates at the edge of the calendar gave 500s (PostgreSQL
refuses NUL in text; 9999-12-31T23:59:59-01:00 overflows once moved to UTC).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from clearinghouse.extensions import db
from clearinghouse.geocoding import geocode_listing
from clearinghouse.inputs import CONTROL_CHARACTERS
from clearinghouse.listings import validate_listing
from clearinghouse.models import ChangeRequest, Group
from clearinghouse.store import apply_listing
from clearinghouse.taxonomy import default_taxonomy
from indexer.pipeline import ingest_records
from tests.api_support import new_key
from tests.conftest import sample_record
from tests.staff_support import csrf_token, listing_form_data, save_listing, signed_in_client

NUL_URLS = [
    "/groups/%00",
    "/groups/a%00b.ics",
    "/groups/a%00/report",
    "/groups/a%01b",
    "/search?q=%00",
    "/search?near=%00",
    "/search?q%00=grief",
    "/concerns/suggest?q=%00",
    "/concerns/a%00b",
    "/staff/login?next=/staff/%00",
]
KEYED_URLS = [
    "/hsds/services?search=%00",
    "/hsds/services/%00",
    "/hsds/organizations?search=a%00b",
    "/api/v1/groups?q=%00",
    "/api/v1/groups/%00",
    "/api/v1/changes?since=%00",
]
OVERFLOWING_URLS = [
    "/hsds/services?modified_after=9999-12-31T23:59:59-01:00",
    "/hsds/services?modified_after=0001-01-01T00:00:00%2B01:00",
    "/hsds/services?modified_after=9999-12-31",
    "/api/v1/groups?page=99999999999999999999999",
    "/api/v1/changes?since=99999999999999999999999",
    "/api/v1/groups?limit=" + "9" * 5000,
]


def add_group(name: str = "Evening Grief Circle") -> Group:
    validation = validate_listing(sample_record(name=name), default_taxonomy())
    assert validation.data is not None, validation.errors
    change = apply_listing(db.session, geocode_listing(validation.data)[0], actor="test")
    db.session.commit()
    return change.group


@pytest.fixture
def client(store_app: Flask) -> FlaskClient:
    store_app.config["WTF_CSRF_ENABLED"] = False
    return store_app.test_client()


@pytest.mark.parametrize("url", NUL_URLS)
def test_control_characters_in_public_urls_are_a_400(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 400, (url, response.get_data(as_text=True)[:300])
    assert "control characters" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", KEYED_URLS)
def test_control_characters_in_api_urls_are_a_problem(client: FlaskClient, url: str) -> None:
    response = client.get(url, headers={"Authorization": f"Bearer {new_key()}"})
    assert response.status_code == 400, (url, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/problem+json"
    assert "control characters" in response.get_json()["detail"]


def test_a_nul_in_an_api_key_is_unknown_not_an_error(client: FlaskClient) -> None:
    response = client.get("/api/v1/groups", headers={"Authorization": "Bearer chk_ab\x00cd_x"})
    assert response.status_code == 401


def test_sign_in_with_a_nul_in_the_email_is_refused_plainly(store_app: Flask) -> None:
    client = store_app.test_client()
    token = csrf_token(client, "/staff/login")
    response = client.post(
        "/staff/login",
        data={"email": "ana\x00@example.org", "password": "x\x00y", "csrf_token": token},
    )
    assert response.status_code == 200
    assert "do not match an account" in response.get_data(as_text=True)


def test_submissions_with_nul_are_stored_without_it(client: FlaskClient) -> None:
    group = add_group()
    suggestion = {
        "name": "Westside\x00 Widows",
        "concerns": "grief",
        "attendance": "in-person",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "meeting_freq": "weekly",
        "meeting_days": ["TU"],
        "meeting_start": "19:00",
        "message": "I go\x00 there",
    }
    assert client.post("/suggest", data=suggestion).status_code == 302
    report = {"meetings": "Now\x00 Wednesdays", "message": "moved\x00", "name": "New\x00 name"}
    assert client.post(f"/groups/{group.slug}/report", data=report).status_code == 302
    rows = list(db.session.scalars(select(ChangeRequest).order_by(ChangeRequest.id)))
    assert [row.message for row in rows] == ["I go there", "moved"]
    assert rows[0].payload["name"] == "Westside Widows"
    assert rows[1].payload["meetings"] == "Now Wednesdays"


def test_staff_forms_with_nul_save_without_it(store_app: Flask) -> None:
    editor = signed_in_client(store_app, "editor@example.org", "editor")
    group = add_group()
    data = listing_form_data(name="Tuesday\x00 Circle", location_notes="Room\x00 4")
    response = save_listing(editor, group, data)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    db.session.refresh(group)
    assert group.name == "Tuesday Circle"
    assert editor.get("/staff/listings?q=%00").status_code == 400


def test_imported_records_lose_control_characters(store_app: Flask) -> None:
    record = sample_record(
        name="Tab\x00le Talk\x1b",
        description="Bring\x00 a friend\x7f",
        external_id="ext\x00-1",
        concerns=["grief\x00"],
        location={**sample_record()["location"], "city": "Chi\x00cago", "notes": "Room\x08 B"},
        meetings=[{"freq": "weekly", "byday": ["TU"], "start": "19:00", "note": "Ring\x00 bell"}],
    )
    report = ingest_records(
        db.session, [record], taxonomy=default_taxonomy(), source="partner\x00one"
    )
    assert report.added == 1, report.rejects
    group = db.session.scalars(select(Group)).one()
    stored = [group.name, group.description, group.external_id, group.source]
    assert group.location is not None
    stored += [group.location.city, group.location.notes, group.meetings[0].note or ""]
    assert not any(CONTROL_CHARACTERS.search(value or "") for value in stored), stored
    assert group.name == "Table Talk" and group.source == "partnerone"


@pytest.mark.parametrize("url", OVERFLOWING_URLS)
def test_overflowing_dates_and_numbers_in_the_apis_are_a_400(client: FlaskClient, url: str) -> None:
    response = client.get(url, headers={"Authorization": f"Bearer {new_key()}"})
    assert response.status_code == 400, (url, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    "url",
    [
        "/staff/audit?until=9999-12-31",
        "/staff/audit?since=0000-01-01",
        "/staff/audit?since=9999-12-31&until=9999-12-31",
    ],
)
def test_overflowing_audit_dates_are_a_400(store_app: Flask, url: str) -> None:
    editor = signed_in_client(store_app, "editor@example.org", "editor")
    response = editor.get(url)
    assert response.status_code == 400
    assert "Dates are YYYY-MM-DD" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "url",
    [
        "/staff/review/99999999999999999999999",
        "/staff/review/2147483648",
        "/staff/review/99999999999999999999999/edit",
    ],
)
def test_overlong_ids_in_staff_urls_are_a_404(store_app: Flask, url: str) -> None:
    editor = signed_in_client(store_app, "editor@example.org", "editor")
    assert editor.get(url).status_code == 404


def test_every_int_url_part_is_bounded(store_app: Flask) -> None:
    """The class: every `<int:…>` rule refuses ids no id column can hold."""
    int_rules = [
        rule
        for rule in store_app.url_map.iter_rules()
        if any(type(c).__name__ == "BoundedIntConverter" for c in rule._converters.values())
    ]
    all_int = [rule for rule in store_app.url_map.iter_rules() if "<int:" in rule.rule]
    assert all_int and len(int_rules) == len(all_int)


@pytest.mark.parametrize(
    "url", ["/staff/listings?page=%C2%B2", "/staff/listings?page=" + "9" * 5000]
)
def test_odd_page_numbers_in_the_console_fall_back_to_the_first_page(
    store_app: Flask, url: str
) -> None:
    editor = signed_in_client(store_app, "editor@example.org", "editor")
    assert editor.get(url).status_code == 200


def test_an_imported_verified_date_past_the_calendar_rejects_its_row_only(
    store_app: Flask, tmp_path: Path
) -> None:
    good = sample_record(name="Good Row")
    bad = sample_record(name="Bad Row", verified_at="9999-12-31T23:59:59-01:00")
    report = ingest_records(db.session, [good, bad], taxonomy=default_taxonomy(), source="p")
    assert report.added == 1
    assert [reject.field for reject in report.rejects] == ["verified_at"]
