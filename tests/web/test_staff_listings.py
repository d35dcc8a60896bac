"""Listings in the console: the table, create and edit, schedules, places, status, merge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from clearinghouse import flags
from clearinghouse.extensions import db
from clearinghouse.models import AuditEvent, Group, Outbox, utcnow
from clearinghouse.search.base import SearchUnavailable
from indexer.sync import status as index_status
from tests.staff_support import (
    admin_client,
    editor_client,
    listing_form_data,
    post,
    save_listing,
)

__all__ = ["admin_client", "editor_client"]  # fixtures


def only_group(name: str) -> Group:
    group = db.session.scalar(select(Group).where(Group.name == name))
    assert group is not None
    return group


def table_names(page: str) -> str:
    return page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


# -- create and edit ------------------------------------------------------------------------


def test_creating_a_listing_validates_geocodes_stores_and_audits(
    editor_client: FlaskClient,
) -> None:
    response = post(
        editor_client,
        "/staff/listings/new",
        listing_form_data(
            private_contact_name="Pat Leader",
            private_contact_phone="312-555-0101",
        ),
    )
    assert response.status_code == 302
    group = only_group("Tuesday Grief Circle")
    assert response.headers["Location"] == f"/staff/listings/{group.uuid}"
    assert group.status == "active"
    assert group.languages == ["en", "es"]
    assert group.private_contact_name == "Pat Leader"
    assert group.location is not None and group.location.lat is not None
    assert group.location.approximate is True  # placed at the ZIP's centre
    assert group.location.timezone == "America/Chicago"
    assert [m.byday for m in group.meetings] == [["2TU"]]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.group_uuid == group.uuid))
    assert event is not None and event.actor == "user:editor@example.org"
    assert event.action == "create"
    page = editor_client.get(f"/staff/listings/{group.uuid}").get_data(as_text=True)
    assert "2nd Tuesday of the month, 7:00–8:30 pm Central" in page
    assert "Pat Leader" in page  # private fields are shown to staff


def test_an_invalid_form_keeps_what_was_typed_and_marks_each_bad_field(
    editor_client: FlaskClient,
) -> None:
    response = post(
        editor_client,
        "/staff/listings/new",
        listing_form_data(
            name="",
            contact_email="not-an-email",
            description="Typed description stays",
            **{"meetings-0-freq": "monthly", "meetings-0-byday": "TU"},
        ),
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "nothing was saved" in page
    assert 'id="name-error">is required' in page
    assert 'id="contact_email-error">&#39;not-an-email&#39; is not an email address' in page
    assert "Rule 1:" in page and "needs an ordinal for a monthly meeting" in page
    assert "Typed description stays" in page
    assert 'value="not-an-email"' in page
    assert 'value="TU"' in page
    assert db.session.scalar(select(func.count()).select_from(Group)) == 0


def test_editing_a_schedule_as_rules_rewrites_the_meetings(
    editor_client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    group = make_group()
    form_page = editor_client.get(f"/staff/listings/{group.uuid}/edit").get_data(as_text=True)
    assert 'value="Evening Grief Circle"' in form_page
    assert 'name="meetings-0-byday"' in form_page and 'value="TU"' in form_page
    assert 'name="meetings-2-byday"' in form_page  # spare rows for new rules
    data = listing_form_data(
        name="Evening Grief Circle",
        **{
            "meetings-0-freq": "monthly",
            "meetings-0-byday": "2TU, 4TU",
            "meetings-0-start": "19:00",
            "meetings-0-end": "20:30",
            "meetings-1-freq": "weekly",
            "meetings-1-byday": "SA",
            "meetings-1-start": "10:00",
            "meetings-1-end": "",
            "meetings-2-freq": "weekly",
            "meetings-2-byday": "",
        },
    )
    response = save_listing(editor_client, group, data)
    assert response.status_code == 302
    db.session.refresh(group)
    assert [(m.freq, m.byday) for m in group.meetings] == [
        ("monthly", ["2TU", "4TU"]),
        ("weekly", ["SA"]),
    ]
    page = editor_client.get(f"/staff/listings/{group.uuid}").get_data(as_text=True)
    assert "2nd and 4th Tuesdays of the month, 7:00–8:30 pm Central" in page
    assert "Saturdays, 10:00 am Central" in page
    history = page.split('id="history"', 1)[1]
    assert "Tuesdays, 7:00–8:30 pm Central</td>" in history  # before, in words
    assert "2nd and 4th Tuesdays of the month" in history  # after
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.group_uuid == group.uuid).order_by(AuditEvent.id)
    ).all()[-1]
    assert event.action == "update" and "meetings" in event.changes


def test_a_manual_pin_overrides_the_address_point(
    editor_client: FlaskClient,
) -> None:
    data = listing_form_data(pin_coordinates="y", location_lat="41.9", location_lon="-87.65")
    assert post(editor_client, "/staff/listings/new", data).status_code == 302
    group = only_group("Tuesday Grief Circle")
    assert group.location is not None
    assert (group.location.lat, group.location.lon) == (41.9, -87.65)
    assert group.location.approximate is False
    assert "approximate-location" not in group.flags


def test_bad_manual_coordinates_are_marked_on_the_field(editor_client: FlaskClient) -> None:
    data = listing_form_data(pin_coordinates="y", location_lat="95", location_lon="-87.65")
    page = post(editor_client, "/staff/listings/new", data).get_data(as_text=True)
    assert 'id="location_lat-error">&#39;95&#39; is out of range' in page


def test_geocode_preview_answers_label_point_and_approximate(editor_client: FlaskClient) -> None:
    found = editor_client.get(
        "/staff/listings/geocode?address=1150+W+Fullerton&city=Chicago&region=IL&postal_code=60614"
    ).get_json()
    assert found["found"] is True
    assert abs(found["lat"] - 41.92) < 0.1 and abs(found["lon"] + 87.65) < 0.1
    assert found["approximate"] is True
    assert "Chicago" in found["label"]
    assert found["timezone"] == "America/Chicago"
    missing = editor_client.get("/staff/listings/geocode?city=Nowhereville&region=ZZ").get_json()
    assert missing["found"] is False and missing["message"]
    empty = editor_client.get("/staff/listings/geocode").get_json()
    assert empty["found"] is False


def test_an_online_only_listing_needs_no_place(editor_client: FlaskClient) -> None:
    data = listing_form_data(
        name="Online Caregivers",
        attendance="online",
        online_url="https://meet.example.org/c",
        location_name="",
        location_address="",
        location_city="",
        location_region="",
        location_postal_code="",
        timezone="America/New_York",
        concerns="caregiving",
    )
    assert post(editor_client, "/staff/listings/new", data).status_code == 302
    group = only_group("Online Caregivers")
    assert group.location is None
    assert group.meetings[0].timezone == "America/New_York"


# -- the table ------------------------------------------------------------------------------


def test_the_table_filters_by_name_status_concern_region_format_and_attendance(
    editor_client: FlaskClient, make_group: Callable[..., Group], taxonomy: Any
) -> None:
    make_group(name="Chicago Grief Circle")
    make_group(name="Archived Circle", status="archived")
    make_group(
        name="Milwaukee Drinking Group",
        concerns=["alcohol"],
        format="professional-expert",
        location={"city": "Milwaukee", "region": "WI", "postal_code": "53202"},
    )
    make_group(
        name="Online Parents",
        concerns=["grief"],
        attendance="online",
        location=None,
        online={"url": "https://meet.example.org/x"},
    )

    def names(query: str) -> str:
        return table_names(editor_client.get(f"/staff/listings?{query}").get_data(as_text=True))

    assert "Chicago Grief Circle" in names("q=chicago") and "Milwaukee" not in names("q=chicago")
    assert "Archived Circle" in names("status=archived")
    assert "Chicago Grief Circle" not in names("status=archived")
    assert "Milwaukee Drinking Group" in names("concern=alcohol")
    assert "Milwaukee Drinking Group" in names(f"concern={taxonomy.get('alcohol').parent}")
    assert "Chicago Grief Circle" not in names("concern=alcohol")
    assert "Milwaukee" in names("region=WI") and "Chicago Grief" not in names("region=WI")
    assert "Milwaukee" in names("format=professional-expert")
    assert "Chicago Grief" not in names("format=professional-expert")
    assert "Online Parents" in names("attendance=online")
    assert "Chicago Grief" not in names("attendance=online")
    assert "No listings match" in names("q=%25%25%3Cscript%3E")


def test_a_parent_concern_filter_includes_its_children(
    editor_client: FlaskClient, make_group: Callable[..., Group], taxonomy: Any
) -> None:
    child = next(term for term in taxonomy if term.parent)
    make_group(name="Child Concern Group", concerns=[child.slug])
    page = editor_client.get(f"/staff/listings?concern={child.parent}").get_data(as_text=True)
    assert "Child Concern Group" in table_names(page)


def test_stale_and_flagged_filters(
    editor_client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    fresh = make_group(name="Fresh Group")
    fresh.verified_at = utcnow()
    make_group(name="Old Group", verified_at=(utcnow() - timedelta(days=800)).isoformat())
    make_group(name="Flagged Group", concerns=["grief", "made-up worry"])
    db.session.commit()
    stale = table_names(editor_client.get("/staff/listings?stale=1").get_data(as_text=True))
    assert "Old Group" in stale and "Fresh Group" not in stale
    flagged = table_names(editor_client.get("/staff/listings?flagged=any").get_data(as_text=True))
    assert "Flagged Group" in flagged and "Old Group" not in flagged
    unknown = editor_client.get("/staff/listings?flagged=unknown-concern").get_data(as_text=True)
    assert "Flagged Group" in table_names(unknown)


def test_the_table_pages_through_many_listings(
    editor_client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    for number in range(52):
        make_group(name=f"Group {number:02d}")
    first = editor_client.get("/staff/listings?sort=name").get_data(as_text=True)
    second = editor_client.get("/staff/listings?sort=name&page=2").get_data(as_text=True)
    assert "Page 1 of 2 (52 in all)" in first
    assert "Group 00" in first and "Group 51" not in table_names(first)
    assert "Group 51" in table_names(second) and "Group 00" not in table_names(second)
    assert editor_client.get("/staff/listings?page=abc").status_code == 200


def test_bulk_archive_restore_and_verify(
    editor_client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    one, two, three = (make_group(name=f"Bulk {n}") for n in range(3))
    ids = [one.uuid, two.uuid]
    response = post(editor_client, "/staff/listings/bulk", {"action": "archive", "ids": ids})
    assert response.status_code == 302
    db.session.expire_all()
    assert (one.status, two.status, three.status) == ("archived", "archived", "active")
    post(editor_client, "/staff/listings/bulk", {"action": "restore", "ids": [one.uuid]})
    post(editor_client, "/staff/listings/bulk", {"action": "verify", "ids": ids})
    db.session.expire_all()
    assert one.status == "active" and two.status == "archived"
    assert one.verified_at is not None and two.verified_at is not None
    assert three.verified_at is None
    nothing = post(editor_client, "/staff/listings/bulk", {"action": "archive"})
    assert nothing.status_code == 302


def test_archive_restore_and_verify_one_listing(
    editor_client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    group = make_group()
    post(editor_client, f"/staff/listings/{group.uuid}/archive")
    db.session.refresh(group)
    assert group.status == "archived"
    post(editor_client, f"/staff/listings/{group.uuid}/restore")
    post(editor_client, f"/staff/listings/{group.uuid}/verify")
    db.session.refresh(group)
    assert group.status == "active" and group.verified_at is not None
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.group_uuid == group.uuid)
    ).all()
    assert {"archive", "publish", "verify"} <= set(actions)


def test_purge_is_admin_only_and_needs_the_slug_typed(
    admin_client: FlaskClient, editor_client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    group = make_group()
    uuid, slug = group.uuid, group.slug
    assert (
        post(editor_client, f"/staff/listings/{uuid}/purge", {"confirm": slug}).status_code == 403
    )
    post(admin_client, f"/staff/listings/{uuid}/purge", {"confirm": "wrong"})
    assert db.session.scalar(select(Group).where(Group.uuid == uuid)) is not None
    post(admin_client, f"/staff/listings/{uuid}/purge", {"confirm": slug})
    db.session.expire_all()
    assert db.session.scalar(select(Group).where(Group.uuid == uuid)) is None
    assert db.session.scalar(
        select(AuditEvent).where(AuditEvent.group_uuid == uuid, AuditEvent.action == "purge")
    )


def test_merging_duplicates_fills_gaps_archives_the_other_and_keeps_history(
    editor_client: FlaskClient, make_group: Callable[..., Group], taxonomy: Any
) -> None:
    keep = make_group(name="Grief Circle", description="", concerns=["grief"])
    other = make_group(
        name="Grief Circle (copy)",
        description="Filled from the duplicate",
        concerns=["grief", "alcohol"],
        private_contact={"name": "Sam Leader"},
    )
    preview = editor_client.get(f"/staff/listings/{keep.uuid}/merge?other={other.slug}")
    assert "Filled from the duplicate" in preview.get_data(as_text=True)
    response = post(editor_client, f"/staff/listings/{keep.uuid}/merge", {"other": other.uuid})
    assert response.status_code == 302
    db.session.expire_all()
    assert keep.description == "Filled from the duplicate"
    assert {c.slug for c in keep.concerns} == {taxonomy.lookup("grief"), "alcohol"}
    assert keep.private_contact_name == "Sam Leader"
    assert keep.name == "Grief Circle"
    assert other.status == "archived"
    assert f"merged-into:{keep.uuid}" in other.flags
    note = db.session.scalar(
        select(AuditEvent).where(AuditEvent.group_uuid == other.uuid, AuditEvent.action == "merge")
    )
    assert note is not None and note.changes == {"merged_into": [None, keep.uuid]}
    page = editor_client.get(f"/staff/listings/{other.uuid}").get_data(as_text=True)
    assert "Merged into" in page and keep.uuid in page
    itself = post(editor_client, f"/staff/listings/{keep.uuid}/merge", {"other": keep.uuid})
    assert itself.status_code == 400


def test_each_listing_page_shows_its_own_history(
    editor_client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    group = make_group()
    other = make_group(name="Someone Else")
    save_listing(
        editor_client,
        group,
        listing_form_data(name="Renamed Circle"),
    )
    page = editor_client.get(f"/staff/listings/{group.uuid}").get_data(as_text=True)
    history = page.split('id="history"', 1)[1]
    assert "user:editor@example.org" in history
    assert "Renamed Circle" in history and "Evening Grief Circle" in history
    assert other.uuid not in history


# -- reaching search ------------------------------------------------------------------------


class BrokenBackend:
    name = "broken"

    def __getattr__(self, attribute: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise SearchUnavailable("the search engine is down (test)")

        return fail


def test_a_save_reaches_the_search_index_at_once(app: Flask, editor_client: FlaskClient) -> None:
    from clearinghouse.search import get_backend

    assert post(editor_client, "/staff/listings/new", listing_form_data()).status_code == 302
    status = index_status(db.session, get_backend(app))
    assert status["pending"] == 0
    assert status["indexed"] == 1


def test_a_save_succeeds_when_the_search_engine_is_down(
    app: Flask, editor_client: FlaskClient, caplog: Any
) -> None:
    app.extensions["search_backend"] = BrokenBackend()
    response = post(editor_client, "/staff/listings/new", listing_form_data())
    assert response.status_code == 302
    group = only_group("Tuesday Grief Circle")
    queued = db.session.scalar(select(Outbox).where(Outbox.group_uuid == group.uuid))
    assert queued is not None  # waits in the outbox for the next sync
    assert "event=index_refresh_failed error=SearchUnavailable" in caplog.text
    dashboard = editor_client.get("/staff/").get_data(as_text=True)
    assert dashboard.count("Dashboard") >= 1


# -- bad input ------------------------------------------------------------------------------


def test_odd_filter_and_report_arguments_never_fail(editor_client: FlaskClient) -> None:
    urls = [
        "/staff/listings?status=%3Cscript%3E&concern=zzz&region=zz&format=x&attendance=y"
        "&sort=nope&flagged=%22&stale=1&months=-4&page=99999",
        "/staff/audit?actor=%25_%5C&group=" + "x" * 80,
        "/staff/reports/stale?months=-1",
        "/staff/reports/stale.csv?months=99999",
        "/staff/reports/coverage?level=x&max_groups=-5&days=0&region=%3Cb%3E",
        "/staff/review?status=bogus&page=-2",
        "/staff/listings/geocode?postal_code=" + "9" * 400 + "&country=ZZ",
        "/staff/listings/geocode?city=x&region=%3Cb%3E",
    ]
    for url in urls:
        response = editor_client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    refused = [
        "/staff/audit?since=9999-99-99&until=2020-13-01",
        "/staff/reports/coverage?level=%00",
        "/staff/listings/geocode?city=%00%01",
    ]
    for url in refused:
        response = editor_client.get(url)
        assert response.status_code == 400, (url, response.status_code)


def test_tampered_listing_forms_are_refused_cleanly(editor_client: FlaskClient) -> None:
    tampered = listing_form_data(
        format="bogus",
        attendance="teleport",
        audience=["women", "martians"],
        location_region="ZZ",
        location_country="FR",
        timezone="Mars/Olympus",
        **{
            "meetings-0-freq": "yearly",
            "meetings-0-start": "25:99",
            "meetings-7000-byday": "MO",
            "name": "n" * 5000,
        },
    )
    response = post(editor_client, "/staff/listings/new", tampered)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Group)) == 0
    times = listing_form_data(**{"meetings-0-start": "25:99"})
    page = post(editor_client, "/staff/listings/new", times).get_data(as_text=True)
    assert "Rule 1:" in page and "is not a time" in page


def test_a_long_outbox_backlog_is_left_to_index_sync(
    app: Flask, editor_client: FlaskClient, caplog: Any, monkeypatch: Any
) -> None:
    from clearinghouse.search import get_backend
    from clearinghouse.staff import common

    monkeypatch.setattr(common, "INLINE_SYNC_LIMIT", 0)
    assert post(editor_client, "/staff/listings/new", listing_form_data()).status_code == 302
    assert "event=index_refresh_skipped pending=1" in caplog.text
    assert index_status(db.session, get_backend(app))["pending"] == 1


def test_return_addresses_never_leave_the_console(
    editor_client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    group = make_group()
    for back in ("https://evil.example/", "//evil.example/staff/", "/staff/\\\\evil.example"):
        response = post(editor_client, f"/staff/listings/{group.uuid}/verify", {"back": back})
        assert response.headers["Location"] == f"/staff/listings/{group.uuid}", back
        response = post(editor_client, "/staff/listings/bulk", {"action": "verify", "back": back})
        assert response.headers["Location"] == "/staff/listings", back
    kept = post(
        editor_client,
        f"/staff/listings/{group.uuid}/verify",
        {"back": "/staff/reports/stale?months=3"},
    )
    assert kept.headers["Location"] == "/staff/reports/stale?months=3"


def test_a_merged_duplicates_public_address_redirects_to_the_kept_listing(
    app: Flask, editor_client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    keep = make_group(name="Kept Circle")
    other = make_group(name="Duplicate Circle")
    old_slug = other.slug
    post(editor_client, f"/staff/listings/{keep.uuid}/merge", {"other": other.uuid})
    public = app.test_client()
    page = public.get(f"/groups/{old_slug}")
    assert page.status_code == 301
    assert page.headers["Location"].endswith(f"/groups/{keep.slug}")
    calendar = public.get(f"/groups/{old_slug}.ics")
    assert calendar.headers["Location"].endswith(f"/groups/{keep.slug}.ics")
    post(editor_client, f"/staff/listings/{keep.uuid}/archive")
    assert public.get(f"/groups/{old_slug}").status_code == 404


def test_editing_a_merged_duplicate_keeps_its_redirect_to_the_kept_listing(
    app: Flask, editor_client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    keep = make_group(name="Kept Circle")
    other = make_group(name="Duplicate Circle")
    post(editor_client, f"/staff/listings/{keep.uuid}/merge", {"other": other.uuid})
    response = save_listing(editor_client, other, listing_form_data(name="Duplicate Circle (old)"))
    assert response.status_code == 302
    db.session.refresh(other)
    assert other.name == "Duplicate Circle (old)"
    page = app.test_client().get(f"/groups/{other.slug}")
    assert page.status_code == 301 and page.headers["Location"].endswith(f"/groups/{keep.slug}")


def test_a_bad_contact_flag_stays_until_the_contact_address_changes(
    editor_client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    group = make_group(private_contact={"email": "gone@example.org", "name": "Pat"})
    group.flags = [flags.BAD_CONTACT]
    db.session.commit()
    same = {"private_contact_email": "gone@example.org", "private_contact_name": "Pat"}
    assert (
        save_listing(editor_client, group, listing_form_data(**same, name="Renamed")).status_code
        == 302
    )
    db.session.refresh(group)
    assert group.name == "Renamed" and flags.BAD_CONTACT in group.flags
    new = {**same, "private_contact_email": "pat@example.org"}
    assert (
        save_listing(editor_client, group, listing_form_data(**new, name="Renamed")).status_code
        == 302
    )
    db.session.refresh(group)
    assert flags.BAD_CONTACT not in group.flags
