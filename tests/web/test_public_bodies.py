"""Search results read from stored public bodies answer exactly what the ORM path answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask, current_app
from flask.testing import FlaskClient
from sqlalchemy import select, update

from clearinghouse import bodies
from clearinghouse.database import load_taxonomy
from clearinghouse.extensions import db
from clearinghouse.geocoding import geocode_listing
from clearinghouse.groups import public_url, rule_of
from clearinghouse.listings import validate_listing
from clearinghouse.models import Group, GroupStatus, PublicBody
from clearinghouse.public import present
from clearinghouse.public.printing import printed, printed_group, printed_of_body
from clearinghouse.public.results import card_facts, card_facts_of_body
from clearinghouse.serialize import group_body, group_json
from clearinghouse.store import apply_listing, set_status
from clearinghouse.taxonomy import Taxonomy
from tests.api_support import api_headers, get_json, index_all
from tests.conftest import sample_record

__all__ = ["api_headers"]

CHICAGO = "America/Chicago"
SOON = (datetime.now(UTC) + timedelta(days=3)).date()


def tuesday(**fields: object) -> dict[str, object]:
    return {"freq": "weekly", "byday": ["TU"], "start": "19:00", "end": "20:30", **fields}


VARIED: dict[str, dict[str, Any]] = {
    "plain": {},
    "closed until a day, with cancellations": {
        "closure": {"until": (SOON + timedelta(days=20)).isoformat(), "reason": "Renovation"},
        "cancellations": f"{(SOON + timedelta(days=40)).isoformat()} Election",
        "meetings": [
            tuesday(
                timezone=CHICAGO,
                cancellations=[{"date": (SOON + timedelta(days=30)).isoformat(), "reason": "Fog"}],
            )
        ],
    },
    "closed until further notice": {"closure": {"until": None, "reason": "Flooded"}},
    "every other week": {
        "meetings": [tuesday(timezone=CHICAGO, interval="2", anchor="2026-01-06")],
    },
    "online only": {
        "name": "Online Recovery Circle",
        "attendance": "online",
        "location": None,
        "online": {"url": "https://meet.example.org/circle", "phone": "+13125550100,,123#"},
        "meetings": [tuesday(timezone="America/New_York"), {"freq": "monthly", "byday": ["1SA"]}],
    },
    "hybrid, placed by ZIP only, every way to reach it": {
        "attendance": "hybrid",
        "location": {"city": "Evanston", "region": "IL", "postal_code": "60201"},
        "online": {"url": "https://meet.example.org/h", "phone": "+13125550111", "notes": "Ask"},
        "contact": {"phone": "312-555-0123", "email": "h@example.org", "website": "https://h.org"},
        "cost": "fee",
        "cost_note": "$5, waived on request",
    },
    "Spanish, with an organisation": {
        "name": "Grupo de duelo",
        "description": "Un grupo de apoyo para personas en duelo.",
        "languages": ["es"],
        "organization": "Red de Apoyo",
        "cost": "donation",
        "meetings": [{"freq": "arrangement", "byday": []}],
    },
}


@pytest.fixture
def varied(make_group: Callable[..., Group]) -> dict[str, Group]:
    groups = {label: make_group(**fields) for label, fields in VARIED.items()}
    index_all()
    return groups


def orm_json(group: Group, viewer_tz: str | None = None) -> dict[str, object]:
    """What the API answered before bodies were stored: the ORM's group JSON and next meeting."""
    rules = [rule_of(meeting) for meeting in group.meetings]
    joinable = present.joinable_anywhere(group.attendance)
    with current_app.test_request_context():  # the page URL as the test client's requests see it
        url = public_url(group.slug)
    return group_json(group, url=url) | {
        "next_meeting": present.next_meeting_json(rules, joinable, viewer_tz=viewer_tz)
    }


def searched(client: FlaskClient, headers: dict[str, str], query: str = "") -> dict[str, dict]:
    answer = get_json(client, f"/api/v1/groups?per_page=50{query}", headers)
    return {item["id"]: item for item in [*answer["data"], *answer["online"]]}


def test_search_results_are_the_orm_json_for_varied_groups(
    client: FlaskClient, api_headers: dict[str, str], varied: dict[str, Group]
) -> None:
    found = searched(client, api_headers, "&tz=Europe/Madrid")
    assert len(found) == len(VARIED)
    for label, group in varied.items():
        db.session.refresh(group)
        assert found[group.uuid] == orm_json(group, "Europe/Madrid"), label
    stored = db.session.scalars(select(PublicBody)).all()
    assert {body.group_id for body in stored} == {group.id for group in varied.values()}
    assert {body.format for body in stored} == {bodies.BODY_FORMAT}


@pytest.mark.parametrize("label", list(VARIED))
def test_rules_read_back_from_a_body_give_the_same_next_meetings(
    app: Flask, make_group: Callable[..., Group], label: str
) -> None:
    group = make_group(**VARIED[label])
    from_rows = [replace(rule_of(meeting), note="") for meeting in group.meetings]
    from_body = bodies.rules_of_body(json.loads(bodies.encode(group_body(group))))
    assert from_body == from_rows
    joinable = present.joinable_anywhere(group.attendance)
    for days in range(0, 70, 3):
        now = datetime.now(UTC) + timedelta(days=days, hours=days)
        assert present.next_meeting_json(
            from_body, joinable, now, "Asia/Tokyo"
        ) == present.next_meeting_json(from_rows, joinable, now, "Asia/Tokyo")


def test_an_edit_is_in_the_next_search_result_at_once(
    client: FlaskClient,
    api_headers: dict[str, str],
    varied: dict[str, Group],
    taxonomy: Taxonomy,
) -> None:
    group = varied["plain"]
    assert searched(client, api_headers)[group.uuid]["name"] == "Evening Grief Circle"
    # Renamed, and nothing else: no index sync, no cache cleared.
    validation = validate_listing(sample_record(name="Evening Grief Circle (Tuesdays)"), taxonomy)
    assert validation.data is not None
    data, _notes = geocode_listing(validation.data)
    apply_listing(db.session, data, actor="test", group=group)
    db.session.commit()
    assert searched(client, api_headers)[group.uuid]["name"] == "Evening Grief Circle (Tuesdays)"


def test_a_body_of_another_version_or_format_is_made_again_and_stored(
    client: FlaskClient, api_headers: dict[str, str], varied: dict[str, Group]
) -> None:
    plain, closed = varied["plain"], varied["closed until further notice"]
    db.session.execute(
        update(PublicBody)
        .where(PublicBody.group_id == plain.id)
        .values(body=json.dumps({"name": "an old shape"}), format=bodies.BODY_FORMAT - 1)
    )
    db.session.execute(
        update(PublicBody)
        .where(PublicBody.group_id == closed.id)
        .values(body=json.dumps({"name": "an old version"}), version=datetime(2001, 1, 1))
    )
    db.session.commit()
    found = searched(client, api_headers)
    for group in (plain, closed):
        db.session.refresh(group)
        assert found[group.uuid] == orm_json(group)
        stored = db.session.get(PublicBody, group.id)
        assert stored is not None
        assert (stored.version, stored.format) == (group.updated_at, bodies.BODY_FORMAT)
        assert json.loads(stored.body) == group_body(group)


def test_missing_bodies_are_made_on_read(
    client: FlaskClient, api_headers: dict[str, str], varied: dict[str, Group]
) -> None:
    bodies.forget_bodies(db.session)
    db.session.commit()
    found = searched(client, api_headers)
    for group in varied.values():
        db.session.refresh(group)
        assert found[group.uuid] == orm_json(group)
    assert len(db.session.scalars(select(PublicBody)).all()) == len(VARIED)


def test_index_rebuild_stores_every_missing_or_stale_body_and_only_those(
    app: Flask, varied: dict[str, Group]
) -> None:
    plain, closed = varied["plain"], varied["closed until further notice"]
    ids = {label: group.id for label, group in varied.items()}
    bodies.forget_bodies(db.session, [plain.id])
    db.session.execute(
        update(PublicBody)
        .where(PublicBody.group_id == closed.id)
        .values(body=json.dumps({"name": "an old shape"}), format=bodies.BODY_FORMAT - 1)
    )
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["index", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "Stored the public body of 2 listings that had none or an old one." in result.output
    db.session.remove()  # the command ran in a session of its own
    for label, group_id in ids.items():
        group = db.session.get(Group, group_id)
        stored = db.session.get(PublicBody, group_id)
        assert group is not None and stored is not None, label
        assert (stored.version, stored.format) == (group.updated_at, bodies.BODY_FORMAT)
        assert json.loads(stored.body) == group_body(group), label
    again = app.test_cli_runner().invoke(args=["index", "rebuild"])
    assert again.exit_code == 0, again.output
    assert "Stored the public body" not in again.output


def test_an_archived_group_is_not_answered_from_its_stored_body(
    client: FlaskClient, api_headers: dict[str, str], varied: dict[str, Group]
) -> None:
    group = varied["plain"]
    set_status(db.session, group, GroupStatus.ARCHIVED, actor="test")
    db.session.commit()  # the index is not synced: the engine still finds it
    assert group.uuid not in searched(client, api_headers)


def test_a_renamed_concern_is_in_search_results_at_once(
    client: FlaskClient, api_headers: dict[str, str], varied: dict[str, Group], taxonomy: Taxonomy
) -> None:
    (slug,) = [concern.slug for concern in varied["plain"].concerns]
    renamed = [
        replace(term, label="Grief and loss (renamed)") if term.slug == slug else term
        for term in taxonomy
    ]
    load_taxonomy(db.session(), Taxonomy(renamed))
    db.session.commit()
    concerns = searched(client, api_headers)[varied["plain"].uuid]["concerns"]
    assert concerns == [{"slug": slug, "label": "Grief and loss (renamed)"}]


def test_a_stored_body_has_no_private_contact_details(
    app: Flask, make_group: Callable[..., Group]
) -> None:
    group = make_group(
        name="Private Details Group",
        private_contact={
            "name": "Pat Secret",
            "phone": "312-555-0199",
            "email": "pat@secret.org",
            "notes": "Knock twice: zzprivatenote",
        },
    )
    stored = db.session.get(PublicBody, group.id)
    assert stored is not None and "Private Details Group" in stored.body
    for private in ("Pat Secret", "555-0199", "pat@secret.org", "zzprivatenote"):
        assert private not in stored.body


def test_bodies_are_stored_on_write_and_written_back_on_read_on_each_database(
    store_app: Flask, taxonomy: Taxonomy
) -> None:
    validation = validate_listing(sample_record(), taxonomy)
    assert validation.data is not None
    data, _notes = geocode_listing(validation.data)
    group = apply_listing(db.session, data, actor="test").group
    db.session.commit()
    stored = db.session.get(PublicBody, group.id)
    assert stored is not None and json.loads(stored.body) == group_body(group)
    bodies.forget_bodies(db.session)
    db.session.commit()
    assert bodies.public_bodies(db.session, [group.id]) == {group.id: group_body(group)}
    db.session.rollback()  # the write-back is its own transaction: it is there for everyone
    written = db.session.get(PublicBody, group.id)
    assert written is not None and written.version == group.updated_at
    assert bodies.public_bodies(db.session, [group.id]) == {group.id: group_body(group)}


@pytest.mark.parametrize("lang", ["en", "es"])
def test_cards_and_printed_facts_from_bodies_are_what_the_orm_shows(
    app: Flask, varied: dict[str, Group], lang: str
) -> None:
    for label, group in varied.items():
        db.session.refresh(group)
        with app.test_request_context(f"/search?lang={lang}"):
            body = json.loads(bodies.encode(group_body(group)))
            card_from_rows, printed_from_rows = card_facts(group), printed_group(group)
            card_from_body = card_facts_of_body(body)
            assert printed_of_body(group.id, group.updated_at, body) == printed_from_rows, label
            assert printed([group.id]) == {group.id: printed_from_rows}, label
        notes_left_out = tuple(replace(rule, note="") for rule in card_from_rows.rules)
        assert card_from_body == replace(card_from_rows, rules=notes_left_out), label
