"""The read layer (clearinghouse.groups): loading groups, and one shape for their parts."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

from flask import Flask

from clearinghouse import flags, groups, store, vocab
from clearinghouse.extensions import db
from clearinghouse.listings import LocationData
from clearinghouse.models import Group, GroupStatus, Location
from clearinghouse.serialize import group_body
from clearinghouse.staff.records import group_record

PRIVATE = {
    "name": "Pat Organizer",
    "phone": "312-555-0199",
    "email": "pat.private@example.org",
    "notes": "Key is under the mat",
}


def test_a_place_has_one_shape_for_stored_and_validated_data() -> None:
    stored = {column.key for column in Location.__table__.columns} - {"id", "group_id"}
    validated = [field.name for field in dataclasses.fields(LocationData)]
    assert set(groups.LOCATION_FIELDS) == stored
    assert list(groups.LOCATION_FIELDS) == validated


def test_public_json_staff_record_and_audit_snapshot_share_place_and_schedule(
    make_group: Callable[..., Group],
) -> None:
    group = make_group(private_contact=PRIVATE)
    public, record, audited = group_body(group), group_record(group), store.snapshot(group)
    assert public["location"] == record["location"] == audited["location"]
    assert public["location"]["city"] == "Chicago" and public["location"]["timezone"]
    assert record["meetings"] == audited["meetings"]
    assert [{k: v for k, v in m.items() if k != "text"} for m in public["meetings"]] == [
        {k: v for k, v in m.items() if k != "note"} for m in record["meetings"]
    ]
    assert public["meetings"][0]["start"] == "19:00" and public["meetings"][0]["text"]
    assert public["contact"] == record["contact"]
    assert record["private_contact"] == PRIVATE


def test_public_json_carries_no_private_field(make_group: Callable[..., Group]) -> None:
    group = make_group(private_contact=PRIVATE)
    assert group.private_contact_email == PRIVATE["email"]  # stored, so leaving it out counts
    text = json.dumps(group_body(group))
    for value in PRIVATE.values():
        assert value not in text
    assert "private" not in text


def test_groups_by_id_leaves_out_groups_that_are_not_public(
    make_group: Callable[..., Group],
) -> None:
    active = make_group(name="Open Circle")
    pending = make_group(status=GroupStatus.PENDING, name="Waiting Circle")
    ids = {active.id, pending.id, 999_999}
    assert set(groups.groups_by_id(db.session, ids)) == {active.id}
    assert set(groups.groups_by_id(db.session, ids, active_only=False)) == {active.id, pending.id}
    assert groups.groups_by_id(db.session, set()) == {}


def test_active_group_by_slug_or_uuid(make_group: Callable[..., Group]) -> None:
    active = make_group(name="Open Circle")
    archived = make_group(status=GroupStatus.ARCHIVED, name="Old Circle")
    assert groups.active_group(db.session, slug=active.slug) is active
    assert groups.active_group(db.session, uuid=active.uuid) is active
    assert groups.active_group(db.session, slug=archived.slug) is None
    assert groups.active_group(db.session, uuid=archived.uuid) is None


def test_merged_into_slug_follows_a_merge_to_the_active_group(
    make_group: Callable[..., Group],
) -> None:
    keep = make_group(name="Kept Circle")
    merged = make_group(status=GroupStatus.ARCHIVED, name="Merged Circle")
    merged.flags = [flags.pointing(flags.MERGED_INTO, keep.uuid)]
    db.session.commit()
    assert groups.merged_into_slug(db.session, merged.slug) == keep.slug
    assert groups.merged_into_slug(db.session, keep.slug) is None
    keep.status = GroupStatus.ARCHIVED
    db.session.commit()
    assert groups.merged_into_slug(db.session, merged.slug) is None  # nowhere public to go


def test_public_url_is_the_group_page_route(app: Flask) -> None:
    with app.test_request_context("/", base_url="https://groups.example.org/directory/"):
        assert groups.public_url("grief-circle") == (
            "https://groups.example.org/directory/groups/grief-circle"
        )


def test_flag_helpers_read_and_build_pointing_flags() -> None:
    uuid = "0b7c6f0e-8f1e-4d6a-9a53-5d1f7f6b2c11"
    duplicate = flags.pointing(flags.POSSIBLE_DUPLICATE, uuid)
    assert duplicate == f"possible-duplicate:{uuid}"
    stored = [flags.UNKNOWN_CONCERN, duplicate, flags.pointing(flags.MERGED_INTO, "x")]
    assert flags.kind_of(duplicate) == flags.POSSIBLE_DUPLICATE
    assert flags.target(duplicate, flags.POSSIBLE_DUPLICATE) == uuid
    assert flags.target(duplicate, flags.MERGED_INTO) is None
    assert flags.target(flags.UNKNOWN_CONCERN, flags.UNKNOWN_CONCERN) is None
    assert flags.targets(stored, flags.POSSIBLE_DUPLICATE) == [uuid]
    assert flags.merged_into(stored) == "x" and flags.merged_into(None) is None
    assert flags.of_kind(stored, flags.POSSIBLE_DUPLICATE) == [duplicate]
    assert flags.without_kind(stored, flags.MERGED_INTO) == [flags.UNKNOWN_CONCERN, duplicate]


def test_the_status_vocabulary_is_the_enum() -> None:
    assert vocab.STATUSES == ("pending", "active", "inactive", "archived")
    assert tuple(GroupStatus) == vocab.STATUSES
    assert Group.__table__.c.status.default.arg == GroupStatus.ACTIVE
