"""The write path: every change audited and queued in the outbox, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from clearinghouse.extensions import db
from clearinghouse.geocoding import geocode_listing
from clearinghouse.listings import validate_listing
from clearinghouse.models import AuditEvent, Group, Outbox
from clearinghouse.store import Change, apply_listing, delete_group, set_status, snapshot
from clearinghouse.taxonomy import default_taxonomy
from tests.conftest import sample_record


def save(group: Group | None = None, **overrides: Any) -> Change:
    validation = validate_listing(sample_record(**overrides), default_taxonomy())
    assert validation.data is not None, validation.errors
    data, _notes = geocode_listing(validation.data)
    change = apply_listing(db.session(), data, actor="test", group=group, source="unit")
    db.session.commit()
    return change


def outbox() -> list[tuple[str, str]]:
    rows = db.session.scalars(select(Outbox).order_by(Outbox.seq))
    return [(row.group_uuid, row.action) for row in rows]


def test_create_writes_audit_and_outbox_in_one_go(store_app: Flask) -> None:
    change = save()
    assert change.action == "added"
    assert outbox() == [(change.group.uuid, "upsert")]
    event = db.session.scalar(select(AuditEvent))
    assert event is not None and event.action == "create" and event.changes["name"][1]


def test_saving_the_same_data_again_changes_nothing(store_app: Flask) -> None:
    group = save().group
    again = save(group=group)
    assert again.action == "unchanged"
    assert len(outbox()) == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 1


def test_an_update_records_only_the_fields_that_changed(store_app: Flask) -> None:
    group = save().group
    change = save(group=group, name="Morning Grief Circle", private_contact={"name": "Ana"})
    assert change.action == "updated"
    assert set(change.changes) == {"name", "private_contact_name"}
    assert change.changes["private_contact_name"] == ["(private)", "(private)"]
    assert [action for _uuid, action in outbox()] == ["upsert", "upsert"]


def test_archive_queues_a_removal_and_purge_leaves_a_tombstone(store_app: Flask) -> None:
    group = save().group
    uuid = group.uuid
    assert set_status(db.session(), group, "archived", actor="test")
    db.session.commit()
    delete_group(db.session(), group, actor="test")
    db.session.commit()
    assert outbox() == [(uuid, "upsert"), (uuid, "remove"), (uuid, "remove")]
    assert db.session.scalar(select(func.count()).select_from(Group)) == 0
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["create", "archive", "purge"]


def test_slugs_stay_unique(store_app: Flask) -> None:
    first = save().group
    second = save(external_id="other").group
    assert first.slug == "evening-grief-circle-chicago"
    assert second.slug == "evening-grief-circle-chicago-2"


def test_an_address_without_coordinates_gets_an_approximate_place(store_app: Flask) -> None:
    location = {
        "address": "2430 N Cannon Dr",
        "city": "Chicago",
        "region": "IL",
        "postal_code": "60614",
    }
    group = save(location=location).group
    assert group.location is not None
    assert group.location.approximate
    assert abs(group.location.lat - 41.92) < 0.05 and abs(group.location.lon + 87.65) < 0.05
    assert group.location.timezone == "America/Chicago"
    assert group.meetings[0].timezone == "America/Chicago"
    assert "approximate-location" in group.flags


def test_the_store_holds_what_was_given(store_app: Flask) -> None:
    record = sample_record(
        concerns=["alcohol", "grief"],
        meetings=[
            {"freq": "monthly", "byday": ["2TU", "-1FR"], "start": "18:30", "end": "20:00"},
            {"freq": "arrangement"},
        ],
        audience=["women", "veterans"],
        online={"url": "https://meet.example.org/abc", "notes": "Ask for the code"},
    )
    group = save(**{k: v for k, v in record.items()})
    values = snapshot(db.session.get(Group, group.group.id))  # type: ignore[arg-type]
    assert values["concerns"] == ["alcohol", "grief-loss"]
    assert values["meetings"][0]["byday"] == ["2TU", "-1FR"]
    assert values["meetings"][0]["start"] == "18:30"
    assert values["meetings"][1]["freq"] == "arrangement"
    assert values["attendance"] == "hybrid"
    assert values["audience"] == ["women", "veterans"]
