"""The review queue: diffs, approve (publish), edit-then-approve, reject with a reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from clearinghouse.extensions import db
from clearinghouse.models import AuditEvent, ChangeRequest, Group
from tests.conftest import sample_record
from tests.staff_support import approve, listing_form_data, post, signed_in_client


@pytest.fixture
def editor(app: Flask) -> FlaskClient:
    return signed_in_client(app, "editor@example.org", "editor")


def submit(kind: str = "new", group: Group | None = None, **payload: Any) -> ChangeRequest:
    change = ChangeRequest(
        kind=kind,
        group_id=group.id if group else None,
        payload=payload if kind == "edit" else sample_record(**payload),
        message="Found this group at the library",
        submitter_email="neighbour@example.org",
    )
    db.session.add(change)
    db.session.commit()
    return change


def groups_named(name: str) -> list[Group]:
    return list(db.session.scalars(select(Group).where(Group.name == name)))


def test_pending_requests_are_counted_in_the_navigation(editor: FlaskClient) -> None:
    submit(name="First Submission")
    submit(name="Second Submission")
    page = editor.get("/staff/").get_data(as_text=True)
    assert 'aria-label="2 pending">2</span>' in page
    queue = editor.get("/staff/review").get_data(as_text=True)
    assert "First Submission" in queue and "Second Submission" in queue


def test_a_new_group_is_shown_field_by_field_then_approved_and_published(
    editor: FlaskClient,
) -> None:
    change = submit(name="Brand New Circle", description="Meets at the library")
    page = editor.get(f"/staff/review/{change.id}").get_data(as_text=True)
    assert "Brand New Circle" in page
    assert "Tuesdays, 7:00–8:30 pm" in page  # the schedule in words
    assert page.count("changed</span>") >= 5
    assert "neighbour@example.org" in page  # the submitter's email is for staff
    response = approve(editor, change.id)
    assert response.status_code == 302
    (group,) = groups_named("Brand New Circle")
    assert group.status == "active"
    db.session.refresh(change)
    assert change.status == "approved" and change.group_id == group.id
    assert change.reviewed_by_id is not None and change.reviewed_at is not None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.group_uuid == group.uuid))
    assert event is not None and event.actor == "user:editor@example.org"
    assert 'aria-label="1 pending"' not in editor.get("/staff/").get_data(as_text=True)
    # Approving twice does nothing more.
    approve(editor, change.id)
    assert len(groups_named("Brand New Circle")) == 1


def test_an_approved_submission_is_found_by_public_search(editor: FlaskClient, app: Flask) -> None:
    change = submit(name="Zebrafinch Bereavement Circle")
    approve(editor, change.id)
    public = app.test_client().get("/search?q=Zebrafinch")
    assert public.status_code == 200
    assert "Zebrafinch Bereavement Circle" in public.get_data(as_text=True)


def test_a_suggested_edit_shows_what_changes_and_applies_on_approval(
    editor: FlaskClient, make_group: Callable[..., Group]
) -> None:
    group = make_group()
    change = submit(
        "edit",
        group,
        name="Evening Grief Circle (renamed)",
        meetings="Now on Thursdays",
        status="no longer meets",
    )
    page = editor.get(f"/staff/review/{change.id}").get_data(as_text=True)
    rows = page.split('<table class="diff">', 1)[1]
    name_row = rows.split("</tr>", 2)[1]
    assert 'class="changed"' in name_row
    assert "Evening Grief Circle</td><td>Evening Grief Circle (renamed)" in name_row
    assert page.count("changed</span>") == 1  # only the name changes automatically
    assert "Now on Thursdays" in page  # free-text suggestions are shown to read
    assert "The submitter says: no longer meets" in page
    approve(editor, change.id)
    db.session.refresh(group)
    assert group.name == "Evening Grief Circle (renamed)"
    assert [m.byday for m in group.meetings] == [["TU"]]
    assert group.status == "active"


def test_a_submission_that_does_not_validate_cannot_be_approved_as_is(
    editor: FlaskClient,
) -> None:
    change = submit(name="", concerns=[])
    response = approve(editor, change.id)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "name: is required" in page
    assert "concerns: at least one concern is required" in page
    assert db.session.scalar(select(func.count()).select_from(Group)) == 0
    db.session.refresh(change)
    assert change.status == "pending"


def test_edit_then_approve_prefills_the_form_and_publishes_the_edited_listing(
    editor: FlaskClient,
) -> None:
    change = submit(name="Typo Cirlce", location={"city": "Chicago", "region": "Ilinois"})
    form = editor.get(f"/staff/review/{change.id}/edit").get_data(as_text=True)
    assert 'value="Typo Cirlce"' in form
    assert 'value="Chicago"' in form
    data = listing_form_data(name="Typo Circle")
    response = post(editor, f"/staff/review/{change.id}/edit", data)
    assert response.status_code == 302
    (group,) = groups_named("Typo Circle")
    assert group.status == "active"
    db.session.refresh(change)
    assert change.status == "approved" and change.group_id == group.id


def test_edit_then_approve_with_errors_keeps_the_request_pending(editor: FlaskClient) -> None:
    change = submit(name="Still Pending")
    response = post(editor, f"/staff/review/{change.id}/edit", listing_form_data(name=""))
    assert response.status_code == 400
    assert 'id="name-error">is required' in response.get_data(as_text=True)
    db.session.refresh(change)
    assert change.status == "pending"


def test_rejecting_needs_a_reason_and_keeps_it(editor: FlaskClient) -> None:
    change = submit(name="Spam Listing")
    assert post(editor, f"/staff/review/{change.id}/reject", {"reason": ""}).status_code == 400
    db.session.refresh(change)
    assert change.status == "pending"
    post(editor, f"/staff/review/{change.id}/reject", {"reason": "Not a support group"})
    db.session.refresh(change)
    assert change.status == "rejected" and change.reason == "Not a support group"
    assert groups_named("Spam Listing") == []
    closed = editor.get("/staff/review?status=rejected").get_data(as_text=True)
    assert "Not a support group" in closed
    assert "Spam Listing" not in editor.get("/staff/review").get_data(as_text=True)
    approve(editor, change.id)
    assert groups_named("Spam Listing") == []


def test_a_public_payload_cannot_set_status_or_verification(editor: FlaskClient) -> None:
    change = submit(name="Sneaky", status="archived", verified_at="2030-01-01")
    approve(editor, change.id)
    (group,) = groups_named("Sneaky")
    assert group.status == "active"
    assert group.verified_at is None
