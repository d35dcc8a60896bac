"""The Meeting Guide feed: spec-shaped entries, and our own importer reads it back."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from clearinghouse import create_app
from clearinghouse.extensions import db
from clearinghouse.meeting_guide_vocab import (
    ACCESSIBILITY_TYPES,
    AUDIENCE_TYPES,
    LANGUAGE_TYPES,
)
from clearinghouse.models import Group
from clearinghouse.schedule import weekday_codes
from clearinghouse.taxonomy import Taxonomy
from indexer.pipeline import ingest_files
from tests.api_support import MEETING_GUIDE_TYPES, api_headers, get_json, load_json
from tests.conftest import app_config

__all__ = ["api_headers"]

DAY_CODES = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@pytest.fixture
def meetings(make_group: Callable[..., Group]) -> dict[str, Group]:
    return {
        "weekly": make_group(
            name="Tuesday Thursday Grief Circle",
            meetings=[{"freq": "weekly", "byday": ["TU", "TH"], "start": "19:00", "end": "20:30"}],
            audience=["women"],
            accessibility=["wheelchair"],
            languages=["en", "es"],
            private_contact={"name": "Private Leader", "email": "leader@example.org"},
        ),
        "monthly": make_group(
            name="Monthly Loss Circle",
            open=False,
            location={
                "name": "Community Room",
                "address": "1 Main St",
                "city": "Denver",
                "region": "CO",
                "postal_code": "80202",
                "lat": 39.7525,
                "lon": -104.9995,
            },
            meetings=[{"freq": "monthly", "byday": ["2SA", "-1SA"], "start": "10:00"}],
        ),
        "online": make_group(
            name="Online Evening Circle",
            location=None,
            online={"url": "https://meet.example.org/evening", "phone": "800-555-0101"},
            meetings=[
                {
                    "freq": "weekly",
                    "byday": ["MO"],
                    "start": "20:00",
                    "end": "21:00",
                    "timezone": "America/New_York",
                }
            ],
        ),
        "arrangement": make_group(name="By Arrangement Circle", meetings=[{"freq": "arrangement"}]),
        "archived": make_group(name="Archived Circle", status="archived"),
    }


def test_every_type_code_we_emit_exists_in_types_json() -> None:
    codes = set(load_json(MEETING_GUIDE_TYPES))
    ours = {"O", "C"} | set(LANGUAGE_TYPES.values()) | set(AUDIENCE_TYPES.values())
    ours |= set(ACCESSIBILITY_TYPES.values())
    assert ours <= codes, ours - codes


def test_feed_has_one_entry_per_meeting_day(
    client: FlaskClient, api_headers: dict[str, str], meetings: dict[str, Group]
) -> None:
    feed = get_json(client, "/api/v1/meeting-guide.json", api_headers)
    types = set(load_json(MEETING_GUIDE_TYPES))
    by_name: dict[str, list[dict[str, Any]]] = {}
    for entry in feed:
        by_name.setdefault(entry["name"], []).append(entry)
        assert 0 <= entry["day"] <= 6
        assert HHMM.match(entry["time"])
        assert "end_time" not in entry or HHMM.match(entry["end_time"])
        assert set(entry["types"]) <= types
        assert re.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$", entry["updated"])
        assert entry["timezone"] in ("America/Chicago", "America/Denver", "America/New_York")
    assert set(by_name) == {
        "Tuesday Thursday Grief Circle",
        "Monthly Loss Circle",
        "Online Evening Circle",
    }
    weekly = by_name["Tuesday Thursday Grief Circle"]
    assert sorted(entry["day"] for entry in weekly) == [2, 4]
    assert set(weekly[0]["types"]) == {"O", "EN", "S", "W", "X"}
    monthly = by_name["Monthly Loss Circle"]
    assert [entry["day"] for entry in monthly] == [6, 6]
    assert {"2nd Saturday", "last Saturday"} == {
        m for entry in monthly for m in ("2nd Saturday", "last Saturday") if m in entry["notes"]
    }
    assert monthly[0]["types"] == ["C"]
    (online,) = by_name["Online Evening Circle"]
    assert online["conference_url"] == "https://meet.example.org/evening"
    assert "address" not in online and online["timezone"] == "America/New_York"
    slugs = [entry["slug"] for entry in feed]
    assert len(slugs) == len(set(slugs))
    text = json.dumps(feed)
    assert "Private Leader" not in text and "leader@example.org" not in text
    again = get_json(client, "/api/v1/meeting-guide.json", api_headers)
    assert [entry["slug"] for entry in again] == slugs


def test_filters_by_concern_and_region(
    client: FlaskClient,
    api_headers: dict[str, str],
    meetings: dict[str, Group],
    make_group: Callable[..., Group],
) -> None:
    make_group(name="Sober Tuesdays", concerns=["alcohol"])
    colorado = get_json(client, "/api/v1/meeting-guide.json?region=co", api_headers)
    assert {entry["name"] for entry in colorado} == {"Monthly Loss Circle"}
    addiction = get_json(
        client, "/api/v1/meeting-guide.json?concern=addiction-recovery", api_headers
    )
    assert {entry["name"] for entry in addiction} == {"Sober Tuesdays"}


def _schedule(group: Group) -> set[tuple[str, str, str | None, str | None]]:
    """(weekday, start, end, zone) of every meeting day: what the format can carry."""
    days = set()
    for meeting in group.meetings:
        if meeting.freq == "arrangement" or meeting.start is None:
            continue
        for day in weekday_codes(meeting.byday):
            end = meeting.end.strftime("%H:%M") if meeting.end else None
            days.add((day, meeting.start.strftime("%H:%M"), end, meeting.timezone))
    return days


def test_round_trip_through_our_importer_reproduces_the_meetings(
    client: FlaskClient,
    api_headers: dict[str, str],
    meetings: dict[str, Group],
    template_database: Path,
    tmp_path: Path,
    taxonomy: Taxonomy,
) -> None:
    response = client.get(
        "/api/v1/meeting-guide.json",
        headers=api_headers,
        base_url="https://directory.example.org",  # the importer wants a real web address
    )
    feed_path = tmp_path / "feed.json"
    feed_path.write_bytes(response.get_data())
    expected = {
        group.name: (_schedule(group), group.open, sorted(group.audience), group.languages)
        for key, group in meetings.items()
        if key not in ("archived", "arrangement")
    }
    online_url = meetings["online"].online_url

    fresh_db = tmp_path / "fresh" / "fresh.db"
    fresh_db.parent.mkdir()
    shutil.copy(template_database, fresh_db)
    fresh = create_app(app_config(f"sqlite:///{fresh_db}", fresh_db.parent))
    with fresh.app_context():
        report = ingest_files(
            db.session(),
            [feed_path],
            fmt="meeting-guide",
            source="round-trip",
            default_concerns=["grief-loss"],
            taxonomy=taxonomy,
        )
        db.session.commit()
        assert not report.rejects, report.rejects
        imported = {group.name: group for group in db.session.scalars(select(Group))}
        assert set(imported) == set(expected)
        for name, (schedule, is_open, audience, languages) in expected.items():
            group = imported[name]
            assert _schedule(group) == schedule, name
            assert group.open == is_open, name
            assert sorted(group.audience) == audience, name
            assert set(group.languages) == set(languages), name
        assert imported["Online Evening Circle"].online_url == online_url
        assert imported["Online Evening Circle"].location is None
        db.session.remove()
        db.engine.dispose()
