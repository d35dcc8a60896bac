"""Several staff at once: a stale save never undoes another's, a double click does a thing once."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, func, select, text
from werkzeug.test import TestResponse

from clearinghouse import create_app
from clearinghouse.database import load_taxonomy, migrate
from clearinghouse.extensions import db
from clearinghouse.models import AuditEvent, ChangeRequest, Group
from clearinghouse.store import _OUTBOX_LOCK
from clearinghouse.taxonomy import default_taxonomy
from tests.conftest import app_config, sample_record
from tests.staff_support import (
    csrf_token,
    listing_form_data,
    new_client,
    post,
    sign_in,
    signed_in_client,
    version_in,
)

DEADLINE_S = 90


def edit_form(client: FlaskClient, group: Group, **changes: Any) -> dict[str, Any]:
    """What the browser sends for an edit opened now: the form's values and its version."""
    page = client.get(f"/staff/listings/{group.uuid}/edit").get_data(as_text=True)
    data = listing_form_data(**{"name": group.name, "description": group.description, **changes})
    version = version_in(page)
    if version is not None:
        data["version"] = version
    return data


@pytest.fixture
def editors(app: Flask) -> tuple[FlaskClient, FlaskClient]:
    return (
        signed_in_client(app, "pat@example.org", "editor"),
        signed_in_client(app, "sam@example.org", "editor"),
    )


# -- 4. optimistic locking ---------------------------------------------------------------------


def test_a_save_from_an_older_version_is_refused_and_says_what_changed(
    editors: tuple[FlaskClient, FlaskClient], make_group: Callable[..., Group]
) -> None:
    pat, sam = editors
    group = make_group(name="Evening Grief Circle", description="A circle.")
    pats_form = edit_form(pat, group, name="Evening Grief Circle (Tuesdays)")
    sams_form = edit_form(sam, group, description="A circle for anyone grieving.")

    assert post(pat, f"/staff/listings/{group.uuid}/edit", pats_form).status_code == 302
    response = post(sam, f"/staff/listings/{group.uuid}/edit", sams_form)

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "was changed by someone else after you opened it" in page
    assert "pat@example.org changed name" in page
    assert "Nothing was saved" in page
    db.session.refresh(group)
    assert group.name == "Evening Grief Circle (Tuesdays)"  # Pat's change stands
    assert group.description == "A circle."  # Sam's was not written
    updates = db.session.scalar(
        select(func.count()).where(
            AuditEvent.group_uuid == group.uuid, AuditEvent.action == "update"
        )
    )
    assert updates == 1
    # Sam, having seen what changed, saves again from the current version: it goes through.
    assert version_in(page) not in (None, sams_form["version"])
    again = {**sams_form, "name": group.name, "version": version_in(page)}
    assert post(sam, f"/staff/listings/{group.uuid}/edit", again).status_code == 302
    db.session.refresh(group)
    assert group.description == "A circle for anyone grieving."


def test_an_edit_without_its_version_is_refused_and_changes_nothing(
    editors: tuple[FlaskClient, FlaskClient], make_group: Callable[..., Group]
) -> None:
    pat, _sam = editors
    group = make_group(name="Evening Grief Circle", description="A circle.")
    form = edit_form(pat, group, description="Rewritten by a form that lost its version.")
    del form["version"]

    response = post(pat, f"/staff/listings/{group.uuid}/edit", form)

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "did not say which version" in page and "Nothing was saved" in page
    db.session.refresh(group)
    assert group.description == "A circle."
    assert version_in(page)  # the refused form now carries the current version: save again


def test_a_bulk_action_leaves_listings_changed_since_the_table_was_loaded(
    editors: tuple[FlaskClient, FlaskClient], make_group: Callable[..., Group]
) -> None:
    pat, sam = editors
    edited = make_group(name="Edited Meanwhile")
    untouched = make_group(name="Untouched Circle")
    table = pat.get("/staff/listings").get_data(as_text=True)
    versions = dict(re.findall(r'name="version-([0-9a-f-]{36})" value="([^"]+)"', table))
    assert set(versions) == {edited.uuid, untouched.uuid}

    form = edit_form(sam, edited, name="Edited Meanwhile", description="Now on Thursdays.")
    assert post(sam, f"/staff/listings/{edited.uuid}/edit", form).status_code == 302
    fields = {
        "action": "archive",
        "ids": [edited.uuid, untouched.uuid],
        **{f"version-{uuid}": version for uuid, version in versions.items()},
    }
    response = post(pat, "/staff/listings/bulk", fields, follow_redirects=True)

    page = response.get_data(as_text=True)
    assert "1 of 2 listings changed" in page
    assert "someone else changed them after you loaded the table" in page
    assert "Edited Meanwhile" in page.split("someone else changed them", 1)[1]
    db.session.refresh(edited)
    db.session.refresh(untouched)
    assert (edited.status, untouched.status) == ("active", "archived")


def submit_edit(group: Group, **payload: Any) -> ChangeRequest:
    change = ChangeRequest(kind="edit", group_id=group.id, payload=payload, message="")
    db.session.add(change)
    db.session.commit()
    return change


def test_an_approval_reviewed_against_an_older_version_is_refused(
    editors: tuple[FlaskClient, FlaskClient], make_group: Callable[..., Group]
) -> None:
    pat, sam = editors
    group = make_group(name="Evening Grief Circle", description="A circle.")
    change = submit_edit(group, description="A circle that meets at the library.")
    review = pat.get(f"/staff/review/{change.id}").get_data(as_text=True)
    reviewed_version = version_in(review)

    form = edit_form(sam, group, name="Evening Grief Circle", description="Moved online.")
    assert post(sam, f"/staff/listings/{group.uuid}/edit", form).status_code == 302
    fields = {} if reviewed_version is None else {"version": reviewed_version}
    response = post(pat, f"/staff/review/{change.id}/approve", fields)

    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "sam@example.org changed description" in body, body.split("<main", 1)[-1][:1500]
    db.session.refresh(group)
    db.session.refresh(change)
    assert group.description == "Moved online."
    assert change.status == "pending"
    # Reopened, the request says the listing changed after it was sent, and compares with now.
    again = pat.get(f"/staff/review/{change.id}").get_data(as_text=True)
    assert "The listing changed after this suggestion was sent" in again
    assert "sam@example.org changed description" in again


# -- 9. approval keeps the status -------------------------------------------------------------


def test_approving_a_suggested_edit_keeps_an_archived_listing_archived(
    editors: tuple[FlaskClient, FlaskClient], make_group: Callable[..., Group]
) -> None:
    pat, _sam = editors
    group = make_group(name="Closed Circle", status="archived")
    change = submit_edit(group, name="Closed Circle (renamed)")
    version = version_in(pat.get(f"/staff/review/{change.id}").get_data(as_text=True))
    response = post(pat, f"/staff/review/{change.id}/approve", {"version": version or ""})
    assert response.status_code == 302
    db.session.refresh(group)
    db.session.refresh(change)
    assert change.status == "approved"
    assert group.name == "Closed Circle (renamed)"
    assert group.status == "archived"
    published = db.session.scalar(
        select(func.count()).where(
            AuditEvent.group_uuid == group.uuid, AuditEvent.action == "publish"
        )
    )
    assert published == 0


def test_edit_then_approve_keeps_an_archived_listing_archived(
    editors: tuple[FlaskClient, FlaskClient], make_group: Callable[..., Group]
) -> None:
    pat, _sam = editors
    group = make_group(name="Closed Circle", status="archived")
    change = submit_edit(group, name="Closed Circle (renamed)")
    page = pat.get(f"/staff/review/{change.id}/edit").get_data(as_text=True)
    data = listing_form_data(name="Closed Circle (renamed)", version=version_in(page) or "")
    assert post(pat, f"/staff/review/{change.id}/edit", data).status_code == 302
    db.session.refresh(group)
    assert group.status == "archived"


# -- 11. double clicks --------------------------------------------------------------------------


def test_a_second_click_on_approve_says_already_done(
    editors: tuple[FlaskClient, FlaskClient],
) -> None:
    pat, _sam = editors
    change = ChangeRequest(kind="new", payload=sample_record(name="Brand New Circle"))
    db.session.add(change)
    db.session.commit()
    token = csrf_token(pat)
    first = pat.post(f"/staff/review/{change.id}/approve", data={"csrf_token": token})
    second = pat.post(
        f"/staff/review/{change.id}/approve", data={"csrf_token": token}, follow_redirects=True
    )
    assert first.status_code == 302
    assert second.status_code == 200
    assert "already approved" in second.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Group)) == 1


@pytest.fixture
def pg_app(fresh_postgres_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(app_config(fresh_postgres_url, tmp_path, IMPORT_FOLDER=str(tmp_path / "up")))
    migrate(app)
    with app.app_context():
        load_taxonomy(db.session(), default_taxonomy())
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


def lock_waiters(connection: Connection) -> int:
    """Backends of this database waiting on a lock (a fresh statistics snapshot each time)."""
    count = connection.scalar(
        text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    )
    connection.commit()
    return int(count or 0)


def at_once(
    sends: list[Callable[[], TestResponse]], ready: Callable[[list[Any]], bool]
) -> list[TestResponse]:
    """Send twice at the same time while the outbox lock is held, until `ready`; then let go.

    Both requests get past every check and block on the lock (a real double click racing),
    unless one is answered first; the lock is released only once that has happened.
    """
    with db.engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _OUTBOX_LOCK})
        holder.commit()
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(send) for send in sends]
            deadline = time.monotonic() + DEADLINE_S
            while not ready([lock_waiters(holder), *(f.done() for f in futures)]):
                assert time.monotonic() < deadline, "the requests never reached the lock"
                time.sleep(0.05)
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _OUTBOX_LOCK})
            holder.commit()
            return [future.result(timeout=DEADLINE_S) for future in futures]


def two_tabs(app: Flask, email: str, role: str) -> tuple[FlaskClient, FlaskClient]:
    """One staff member signed in twice (two tabs, or one button clicked twice)."""
    first = signed_in_client(app, email, role)
    second = new_client(app)
    assert sign_in(second, email).status_code == 302
    return first, second


def clicker(client: FlaskClient, url: str, fields: dict[str, str]) -> Callable[[], TestResponse]:
    data = {**fields, "csrf_token": csrf_token(client)}
    return lambda: client.post(url, data=data, follow_redirects=True)


def both_waiting_or_one_answered(state: list[Any]) -> bool:
    waiters, *done = state
    return bool(waiters >= 2 or any(done))


@pytest.mark.postgres
def test_two_simultaneous_approvals_publish_once_and_the_second_says_already(
    pg_app: Flask,
) -> None:
    tabs = two_tabs(pg_app, "pat@example.org", "editor")
    change = ChangeRequest(kind="new", payload=sample_record(name="Brand New Circle"))
    db.session.add(change)
    db.session.commit()
    url = f"/staff/review/{change.id}/approve"
    clicks = [clicker(tab, url, {}) for tab in tabs]

    responses = at_once(clicks, both_waiting_or_one_answered)

    assert sorted(r.status_code for r in responses) == [200, 200]
    pages = [r.get_data(as_text=True) for r in responses]
    assert sum("Approved and published" in page for page in pages) == 1
    assert sum("already approved" in page for page in pages) == 1
    assert db.session.scalar(select(func.count()).select_from(Group)) == 1


@pytest.mark.postgres
def test_a_double_submitted_import_confirm_applies_once_and_says_already(
    pg_app: Flask,
) -> None:
    admin, other_tab = two_tabs(pg_app, "admin@example.org", "admin")
    csv_text = "external_id,name,concerns,city,state,postal_code,days,start,end\n"
    csv_text += "A-1,Lakeside Grief Group,grief,Chicago,IL,60614,TU,19:00,20:30\n"
    data: dict[str, Any] = {"fmt": "csv", "source": "partner", "concern": ""}
    data["file"] = (io.BytesIO(csv_text.encode()), "listings.csv")
    report = post(admin, "/staff/imports", data, content_type="multipart/form-data")
    match = re.search(r'name="token"[^>]*value="([^"]+)"', report.get_data(as_text=True))
    assert match is not None
    clicks = [
        clicker(tab, "/staff/imports/confirm", {"token": match[1]}) for tab in (admin, other_tab)
    ]

    responses = at_once(clicks, both_waiting_or_one_answered)

    assert sorted(r.status_code for r in responses) == [200, 200]
    pages = [r.get_data(as_text=True) for r in responses]
    assert sum("Import applied" in page for page in pages) == 1
    assert sum("already applied" in page for page in pages) == 1
    assert db.session.scalar(select(func.count()).select_from(Group)) == 1
