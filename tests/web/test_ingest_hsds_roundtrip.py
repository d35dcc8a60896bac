"""Our own HSDS API output, imported by another clearinghouse with `--format hsds`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import select

from clearinghouse.extensions import db
from clearinghouse.models import Group
from clearinghouse.store import snapshot
from clearinghouse.taxonomy import Taxonomy
from indexer.pipeline import ingest_files
from tests.api_support import api_headers, get_json

__all__ = ["api_headers"]

KEPT = (
    "name", "organization", "concerns", "format", "attendance", "cost", "cost_note", "languages",
    "audience", "accessibility", "service_area", "online_url", "meetings",
)  # fmt: skip
PLACE = ("name", "address", "city", "region", "postal_code", "country", "lat", "lon", "timezone")


def test_hsds_services_we_publish_import_as_the_same_listings(
    client: FlaskClient,
    api_headers: dict[str, str],
    make_group: Callable[..., Group],
    taxonomy: Taxonomy,
    tmp_path: Path,
) -> None:
    originals = [
        make_group(
            organization="Chicago Grief Network",
            audience=["women", "seniors"],
            accessibility=["wheelchair", "asl"],
            languages=["en", "es"],
            cost="donation",
            cost_note="Pass the hat",
        ),
        make_group(
            name="Monthly Sober Circle",
            concerns=["alcohol"],
            meetings=[
                {"freq": "monthly", "byday": ["2TU", "-1FR"], "start": "18:30", "end": "20:00"},
                {"freq": "arrangement", "note": "Call to set up"},
            ],
        ),
        make_group(
            name="Online Caregivers",
            concerns=["caregiving", "dementia-caregivers"],
            location=None,
            attendance="online",
            online={"url": "https://meet.example.org/care"},
            meetings=[
                {
                    "byday": ["MO", "TH"],
                    "start": "12:00",
                    "end": "13:00",
                    "timezone": "America/New_York",
                },
            ],
            service_area=["IL", "WI"],
            format="professional-expert",
            cost="fee",
            cost_note="$10 a session",
        ),
        make_group(name="Hybrid Circle", online={"url": "https://meet.example.org/hybrid"}),
    ]
    body = get_json(client, "/hsds/services?full=true", api_headers)
    path = tmp_path / "services.json"
    # As a deployed site would write it (the test client's host has no domain).
    path.write_text(json.dumps(body).replace("http://localhost/", "https://groups.example.org/"))

    report = ingest_files(db.session, [path], fmt="hsds", source="partner", taxonomy=taxonomy)

    assert not report.rejects, [str(reject) for reject in report.rejects]
    assert report.summary() == "read 4 rows → 4 groups: 4 added, 0 updated, 0 unchanged, 0 rejected"
    assert report.flagged_duplicates == 4
    for original in originals:
        copy = db.session.scalar(
            select(Group).where(Group.source == "partner", Group.external_id == original.uuid)
        )
        assert copy is not None, original.name
        before, after = snapshot(original), snapshot(copy)
        assert {k: after[k] for k in KEPT} == {k: before[k] for k in KEPT}, original.name
        if before["location"] is None:
            assert after["location"] is None
        else:
            assert {k: after["location"][k] for k in PLACE} == {
                k: before["location"][k] for k in PLACE
            }
    again = ingest_files(db.session, [path], fmt="hsds", source="partner", taxonomy=taxonomy)
    assert again.unchanged == 4
