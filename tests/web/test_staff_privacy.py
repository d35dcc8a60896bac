"""Private contact fields never leave the console; HTML and script always show as text."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select
from werkzeug.test import TestResponse

from clearinghouse import search
from clearinghouse.accounts import create_api_key
from clearinghouse.extensions import db
from clearinghouse.models import ChangeRequest, Group
from clearinghouse.taxonomy import default_taxonomy
from indexer.sync import sync
from tests.conftest import sample_record
from tests.staff_support import approve, listing_form_data, post, signed_in_client

SECRETS = {
    "private_contact_name": "Quillon Privatename",
    "private_contact_phone": "312-555-0987",
    "private_contact_email": "zzsecretleader@example.org",
    "private_contact_notes": "Xylophone-Private-Note-7741",
}
SUBMITTER = "yysubmitter@example.org"
SCRIPT = '<script>alert("owned")</script>'


@pytest.fixture
def editor(app: Flask) -> FlaskClient:
    return signed_in_client(app, "editor@example.org", "editor")


def public_urls(app: Flask, group: Group) -> list[str]:
    """Every public GET route, filled in with the planted group, plus searches that find it."""
    values = {
        "slug": group.slug,
        "group_id": group.uuid,
        "service_id": group.uuid,
        "organization_id": group.organization.uuid if group.organization else "x",
    }
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/staff", "/static")) or "GET" not in (rule.methods or ()):
            continue
        url = rule.rule
        for name in rule.arguments:
            url = re.sub(rf"<(?:[a-z]+:)?{name}>", values.get(name, "x"), url)
        urls.append(url)
    urls += [
        "/search?q=grief",
        "/search?near=60614",
        "/search?near=60614&concern=grief-loss",
        "/api/v1/groups?near=60614",
        "/api/v1/groups?q=grief",
        "/api/v1/changes",
        "/hsds/services?format=ndjson",
        "/search.pdf?near=60614",
        "/search.atom?q=grief",
        "/embed?near=60614",
    ]
    return urls


def readable_text(response: TestResponse) -> str:
    """The body as text; for a PDF, the text a reader extracts (line breaks as spaces)."""
    if response.mimetype == "application/pdf":
        pages = PdfReader(io.BytesIO(response.data)).pages
        return " ".join(" ".join(page.extract_text() for page in pages).split())
    return response.get_data(as_text=True)


def test_private_fields_never_reach_public_pages_feeds_or_apis(
    app: Flask, editor: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    data = listing_form_data(
        name="Planted Private Circle",
        organization="Planted Org",
        **{"meetings-0-freq": "weekly", "meetings-0-byday": "TU"},
        **SECRETS,
    )
    assert post(editor, "/staff/listings/new", data).status_code == 302
    group = db.session.scalar(select(Group).where(Group.name == "Planted Private Circle"))
    assert group is not None and group.private_contact_name == SECRETS["private_contact_name"]
    db.session.add(
        ChangeRequest(
            kind="edit", group_id=group.id, payload={"name": "x"}, submitter_email=SUBMITTER
        )
    )
    db.session.commit()
    sync(db.session, search.get_backend(), default_taxonomy())
    _row, key = create_api_key(db.session, "Leak test", rate_limit="10000/minute")
    db.session.commit()
    staff_page = editor.get(f"/staff/listings/{group.uuid}").get_data(as_text=True)
    assert all(value in staff_page for value in SECRETS.values())  # staff do see them

    public = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    seen = 0
    for url in public_urls(app, group):
        response = public.get(url, headers=headers)
        assert response.status_code < 500, url
        body = readable_text(response)
        seen += "Planted Private Circle" in body
        for value in [*SECRETS.values(), SUBMITTER]:
            assert value not in body, (url, value)
    assert seen >= 5  # the planted group really was on the public outputs searched
    for value in [*SECRETS.values(), SUBMITTER]:
        assert value not in caplog.text


def test_searching_for_a_private_value_finds_nothing(app: Flask, editor: FlaskClient) -> None:
    post(editor, "/staff/listings/new", listing_form_data(**SECRETS))
    sync(db.session, search.get_backend(), default_taxonomy())
    _row, key = create_api_key(db.session, "Search test")
    db.session.commit()
    body = (
        app.test_client()
        .get(
            "/api/v1/groups?q=Xylophone-Private-Note-7741",
            headers={"Authorization": f"Bearer {key}"},
        )
        .get_json()
    )
    assert body["meta"]["total"] == 0


def test_html_and_script_in_submissions_show_as_text_in_the_console(
    editor: FlaskClient, make_group: Callable[..., Group]
) -> None:
    group = make_group()
    hostile = sample_record(
        name=f"Grief {SCRIPT}",
        description=f"<b>bold</b> {SCRIPT}",
        contact={"email": f"{SCRIPT}@x"},
    )
    new = ChangeRequest(kind="new", payload=hostile, message=SCRIPT, submitter_email=SCRIPT)
    edit = ChangeRequest(
        kind="edit",
        group_id=group.id,
        payload={"meetings": SCRIPT, "name": SCRIPT},
        message=SCRIPT,
    )
    db.session.add_all([new, edit])
    db.session.commit()
    pages = [
        editor.get("/staff/review").get_data(as_text=True),
        editor.get(f"/staff/review/{new.id}").get_data(as_text=True),
        editor.get(f"/staff/review/{edit.id}").get_data(as_text=True),
        approve(editor, new.id).get_data(as_text=True),  # errors echo
        editor.get(f"/staff/review/{new.id}/edit").get_data(as_text=True),
    ]
    for page in pages:
        assert 'alert("owned")</script>' not in page
        assert "alert(&#34;owned&#34;)" in page or "alert(&quot;owned&quot;)" in page


def test_html_typed_into_the_listing_form_is_never_markup(
    editor: FlaskClient,
) -> None:
    data = listing_form_data(
        name=f"Circle {SCRIPT}",
        description=f"<img src=x onerror=alert(1)> {SCRIPT}",
        contact_email=f"{SCRIPT}",
        **{"meetings-0-note": SCRIPT},
    )
    invalid = post(editor, "/staff/listings/new", data).get_data(as_text=True)
    assert invalid.count("<script>") == invalid.count('<script src="')  # only our own scripts
    assert "<img src=x" not in invalid
    data["contact_email"] = "ok@example.org"
    assert post(editor, "/staff/listings/new", data).status_code == 302
    group = db.session.scalar(select(Group).where(Group.name.like("Circle%")))
    assert group is not None and "<" not in group.name  # validation keeps plain text
    for url in (f"/staff/listings/{group.uuid}", "/staff/listings", "/staff/audit", "/staff/"):
        page = editor.get(url).get_data(as_text=True)
        assert 'alert("owned")</script>' not in page
        assert "onerror=alert" not in page or "&lt;img" in page


def test_hostile_names_in_admin_pages_and_import_reports_are_escaped(
    app: Flask, tmp_path: Any
) -> None:
    app.config["IMPORT_FOLDER"] = str(tmp_path / "imports")
    admin = signed_in_client(app, "admin@example.org", "admin")
    keys = post(admin, "/staff/api-keys", {"name": SCRIPT}).get_data(as_text=True)
    assert 'alert("owned")</script>' not in keys
    # Languages are echoed in the reason as given ("'…' is not a language").
    hostile = SCRIPT.replace(",", " ")
    bad_csv = f"name,concerns,languages,city,state\nGroup,grief,{hostile},Chicago,IL\n"
    report = post(
        admin,
        "/staff/imports",
        {"fmt": "csv", "source": "partner", "file": (io.BytesIO(bad_csv.encode()), "x.csv")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "Rejected</th><td>1<" in report
    assert 'alert("owned")</script>' not in report
    assert "&lt;script&gt;" in report
