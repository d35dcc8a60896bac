"""Our partner feeds, imported back: the NDJSON export as `json`, the Meeting Guide feed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import select

from clearinghouse.extensions import db
from clearinghouse.models import Group
from clearinghouse.store import snapshot
from clearinghouse.taxonomy import Taxonomy
from indexer.pipeline import ingest_files
from tests.api_support import api_headers

__all__ = ["api_headers"]

PUBLIC = (
    "name", "description", "organization", "concerns", "format", "attendance", "open", "cost",
    "cost_note", "languages", "audience", "accessibility", "contact_phone", "contact_email",
    "online_url", "online_phone", "online_notes", "location", "meetings",
)  # fmt: skip


def directory(make_group: Callable[..., Group]) -> list[Group]:
    return [
        make_group(
            organization="Chicago Grief Network",
            audience=["women"],
            accessibility=["wheelchair"],
            languages=["en", "es"],
            contact={"email": "circle@example.org", "phone": "312-555-0100"},
            meetings=[{"byday": ["MO", "TH"], "start": "19:00", "end": "20:30"}],
        ),
        make_group(
            name="Monthly Sober Circle",
            concerns=["alcohol"],
            open="no",
            cost="donation",
            cost_note="Pass the hat",
            meetings=[{"freq": "monthly", "byday": ["2TU"], "start": "18:30", "end": "20:00"}],
        ),
        make_group(
            name="Online Caregivers",
            concerns=["caregiving"],
            location=None,
            attendance="online",
            online={"url": "https://meet.example.org/care", "notes": "Register first"},
            meetings=[
                {"byday": ["WE"], "start": "12:00", "end": "13:00", "timezone": "America/New_York"}
            ],
        ),
    ]


def download(client: FlaskClient, url: str, headers: dict[str, str], path: Path) -> Path:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    path.write_bytes(response.get_data().replace(b"http://localhost/", b"https://example.org/"))
    return path


def imported(source: str, external_id: str) -> Group:
    group = db.session.scalar(
        select(Group).where(Group.source == source, Group.external_id == external_id)
    )
    assert group is not None, external_id
    return group


def test_the_ndjson_export_imports_as_the_same_listings(
    client: FlaskClient,
    api_headers: dict[str, str],
    make_group: Callable[..., Group],
    taxonomy: Taxonomy,
    tmp_path: Path,
) -> None:
    originals = directory(make_group)
    path = download(client, "/api/v1/export.ndjson", api_headers, tmp_path / "export.ndjson")

    report = ingest_files(db.session, [path], fmt="json", source="mirror", taxonomy=taxonomy)

    assert report.summary() == "read 3 rows → 3 groups: 3 added, 0 updated, 0 unchanged, 0 rejected"
    for original in originals:
        before, after = snapshot(original), snapshot(imported("mirror", original.uuid))
        assert {k: after[k] for k in PUBLIC} == {k: before[k] for k in PUBLIC}, original.name
    again = ingest_files(db.session, [path], fmt="json", source="mirror", taxonomy=taxonomy)
    assert again.unchanged == 3


def test_the_meeting_guide_feed_imports_one_listing_per_group(
    client: FlaskClient,
    api_headers: dict[str, str],
    make_group: Callable[..., Group],
    taxonomy: Taxonomy,
    tmp_path: Path,
) -> None:
    originals = directory(make_group)
    path = download(client, "/api/v1/meeting-guide.json", api_headers, tmp_path / "feed.json")

    report = ingest_files(
        db.session, [path], fmt="meeting-guide", source="mg", default_concerns=["alcohol"],
        taxonomy=taxonomy,
    )  # fmt: skip

    assert not report.rejects, [str(reject) for reject in report.rejects]
    assert report.added == len(originals)
    copies = {
        group.name: group for group in db.session.scalars(select(Group).where(Group.source == "mg"))
    }
    grief = copies["Evening Grief Circle"]
    assert sorted(day for meeting in grief.meetings for day in meeting.byday) == ["MO", "TH"]
    assert grief.audience == ["women"] and grief.accessibility == ["wheelchair"]
    assert grief.languages == ["en", "es"]
    assert copies["Monthly Sober Circle"].open is False
    assert copies["Online Caregivers"].attendance == "online"
