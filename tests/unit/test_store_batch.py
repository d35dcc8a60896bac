"""apply_listings: a batch of new listings is written exactly as one by one would write it."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from clearinghouse.extensions import db
from clearinghouse.geocoding import geocode_listing
from clearinghouse.listings import ListingData, validate_listing
from clearinghouse.models import AuditEvent, Group, Organization, Outbox
from clearinghouse.store import apply_listing, apply_listings, snapshot
from clearinghouse.taxonomy import default_taxonomy
from tests.conftest import sample_record


def listing(**overrides: Any) -> ListingData:
    validation = validate_listing(sample_record(**overrides), default_taxonomy())
    assert validation.data is not None, validation.errors
    data, _notes = geocode_listing(validation.data)
    return data


def test_a_batch_gets_one_audit_event_and_one_outbox_row_per_new_group(store_app: Flask) -> None:
    batch = [
        listing(name="Evening Grief Circle", organization="Hope House"),
        listing(name="Evening Grief Circle", organization="Hope House"),
        listing(name="Morning Grief Circle", concerns=["grief", "no-such-concern"]),
        listing(name="Evening Grief Circle", slug="evening-grief-circle-chicago-2"),
    ]
    changes = apply_listings(
        db.session(), [(data, None) for data in batch], actor="test", source="unit"
    )
    db.session.commit()

    assert [change.action for change in changes] == ["added"] * 4
    slugs = [change.group.slug for change in changes]
    assert len(set(slugs)) == 4, slugs
    assert slugs[0] == "evening-grief-circle-chicago"
    assert changes[3].group.slug.startswith("evening-grief-circle-chicago-2")
    assert len(db.session.scalars(select(Organization)).all()) == 1
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(event.group_uuid, event.action) for event in events] == [
        (change.group.uuid, "create") for change in changes
    ]
    rows = db.session.scalars(select(Outbox).order_by(Outbox.seq)).all()
    assert sorted(row.group_uuid for row in rows) == sorted(c.group.uuid for c in changes)
    assert all(row.action == "upsert" for row in rows)
    for change, event in zip(changes, events, strict=True):
        assert event.changes == change.changes
        assert change.changes["name"] == [None, change.group.name]


def test_a_batch_stores_what_one_by_one_would(store_app: Flask) -> None:
    one = apply_listing(db.session(), listing(name="Alone"), actor="test", source="a").group
    [batched] = apply_listings(
        db.session(), [(listing(name="Alone"), None)], actor="test", source="b"
    )
    db.session.commit()
    expected, got = snapshot(one), snapshot(batched.group)
    assert got == expected
    assert batched.group.flags == one.flags
    stored = db.session.scalars(select(Group.slug).order_by(Group.id)).all()
    assert stored == ["alone-chicago", "alone-chicago-2"]


def test_a_batch_mixes_updates_unchanged_and_new(store_app: Flask) -> None:
    first = apply_listing(db.session(), listing(name="Kept"), actor="test", source="unit").group
    second = apply_listing(db.session(), listing(name="Edited"), actor="test", source="unit")
    db.session.commit()
    changes = apply_listings(
        db.session(),
        [
            (listing(name="Kept"), first),
            (listing(name="Edited", description="Now weekly."), second.group),
            (listing(name="Fresh"), None),
        ],
        actor="test",
        source="unit",
    )
    db.session.commit()
    assert [change.action for change in changes] == ["unchanged", "updated", "added"]
    old_description = sample_record()["description"]
    assert changes[1].changes == {"description": [old_description, "Now weekly."]}
    assert len(db.session.scalars(select(Outbox)).all()) == 4
