"""Private contact details never reach a public output, even when the public ones are empty.

The planted groups have NO public contact (no phone, e-mail or website) and every private field
set, so a serialiser that falls back from an empty public field to the private one shows the
private value.  Each output is checked twice: the planted group is in it (so the check is not
vacuous) and no private value is.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from clearinghouse.extensions import db
from clearinghouse.models import ChangeRequest, Group
from tests.api_support import index_all, new_key
from tests.staff_support import listing_form_data, post, signed_in_client

PRIVATE = {
    "name": "Quillon Privatename",
    "phone": "312-555-0987",
    "email": "zzsecretleader@example.org",
    "notes": "Xylophone-Private-Note-7741",
}
SUBMITTER = "yysubmitter@example.org"
# What a leak would show, in any spelling: the phone's digits are checked in digits-only text.
SECRETS = ("Privatename", "zzsecretleader", "Xylophone-Private-Note", "yysubmitter")
PHONE_DIGITS = "3125550987"
NO_PUBLIC_CONTACT = {"phone": "", "email": "", "website": ""}


@dataclass
class Planted:
    groups: list[Group]
    headers: dict[str, str]


def leaks(text: str) -> list[str]:
    found = [secret for secret in SECRETS if secret.lower() in text.lower()]
    if PHONE_DIGITS in re.sub(r"\D", "", text):
        found.append(PHONE_DIGITS)
    return found


@pytest.fixture
def planted(
    app: Flask, make_group: Callable[..., Group], caplog: pytest.LogCaptureFixture
) -> Iterator[Planted]:
    """An in-person group and an online one stored by import, one entered by staff."""
    caplog.set_level(logging.DEBUG)
    imported = make_group(
        name="Quiet Harbor Grief Circle",
        organization="Quiet Harbor Network",
        contact=NO_PUBLIC_CONTACT,
        private_contact=PRIVATE,
    )
    online = make_group(
        name="Quiet Harbor Online Circle",
        location=None,
        attendance="online",
        online={"url": "https://meet.example.org/quiet-harbor"},
        contact=NO_PUBLIC_CONTACT,
        private_contact=PRIVATE,
    )
    editor = signed_in_client(app, "editor@example.org", "editor")
    form = listing_form_data(
        name="Quiet Harbor Staff Circle",
        organization="Quiet Harbor Network",
        contact_email="",
        contact_phone="",
        contact_website="",
        private_contact_name=PRIVATE["name"],
        private_contact_phone=PRIVATE["phone"],
        private_contact_email=PRIVATE["email"],
        private_contact_notes=PRIVATE["notes"],
    )
    assert post(editor, "/staff/listings/new", form).status_code == 302
    entered = db.session.scalar(select(Group).where(Group.name == "Quiet Harbor Staff Circle"))
    assert entered is not None
    groups = [imported, online, entered]
    for group in groups:
        assert not (group.contact_email or group.contact_phone or group.website), group.name
        assert group.private_contact_email == PRIVATE["email"], group.name
        assert group.private_contact_phone and group.private_contact_name, group.name
        assert PRIVATE["notes"] in (group.private_notes or ""), group.name
    db.session.add(
        ChangeRequest(
            kind="edit", group_id=imported.id, payload={"name": "x"}, submitter_email=SUBMITTER
        )
    )
    db.session.commit()
    index_all()
    yield Planted(groups, {"Authorization": f"Bearer {new_key()}"})
    # Everything logged while planting and reading, requests included.
    assert leaks(caplog.text) == []


def body_of(client: FlaskClient, url: str, headers: dict[str, str]) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def json_ld(page: str) -> str:
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert blocks, "the group page has no JSON-LD"
    return json.dumps([json.loads(block) for block in blocks])


def outputs_of(group: Group) -> dict[str, str]:
    """Each public output, by name, as the URL that should show this group."""
    words = "quiet harbor"
    return {
        "group page": f"/groups/{group.slug}",
        "calendar": f"/groups/{group.slug}.ics",
        "suggest an edit": f"/groups/{group.slug}/report",
        "search page": f"/search?q={words}",
        "API group": f"/api/v1/groups/{group.uuid}",
        "API search": f"/api/v1/groups?q={words}",
        "export": "/api/v1/export.ndjson",
        "change feed": "/api/v1/changes",
        "HSDS service": f"/hsds/services/{group.uuid}",
        "HSDS list": "/hsds/services?per_page=50",
        "HSDS NDJSON": "/hsds/services?format=ndjson",
        "Meeting Guide": "/api/v1/meeting-guide.json",
    }


def test_private_contact_never_stands_in_for_an_empty_public_one(
    app: Flask, planted: Planted
) -> None:
    client = app.test_client()
    for group in planted.groups:
        for output, url in outputs_of(group).items():
            body = body_of(client, url, planted.headers)
            shown = body if output != "Meeting Guide" else body.replace("\\/", "/")
            assert group.uuid in shown or group.name in shown, (output, group.name)
            assert leaks(body) == [], (output, group.name)
        page = body_of(client, f"/groups/{group.slug}", planted.headers)
        structured = json_ld(page)
        assert group.name in structured, group.name
        assert leaks(structured) == [], group.name


def test_hsds_organization_shows_no_private_contact(app: Flask, planted: Planted) -> None:
    client = app.test_client()
    organization = planted.groups[0].organization
    assert organization is not None
    body = body_of(client, f"/hsds/organizations/{organization.uuid}", planted.headers)
    assert "Quiet Harbor Network" in body
    assert leaks(body) == []


def test_the_public_json_of_a_group_without_public_contact_is_empty_there(
    app: Flask, planted: Planted
) -> None:
    """Not only absent as text: the public contact fields are empty, not filled from elsewhere."""
    client = app.test_client()
    for group in planted.groups:
        body = json.loads(body_of(client, f"/api/v1/groups/{group.uuid}", planted.headers))
        assert body["contact"] == {"phone": None, "email": None, "website": None}, group.name
