"""One malformed value rejects its own row, with the field and why; the good rows still land."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from clearinghouse.extensions import db
from clearinghouse.listings import validate_listing
from clearinghouse.taxonomy import Taxonomy, default_taxonomy
from indexer.pipeline import ingest_files
from indexer.readers import read_records
from tests.conftest import sample_record

DEEP = "[" * 100_000 + "]" * 100_000


def project_rows(*bad: dict[str, Any]) -> list[dict[str, Any]]:
    good = sample_record(external_id="good")
    return [good, *({**sample_record(external_id=f"bad-{n}"), **row} for n, row in enumerate(bad))]


BAD_PROJECT_VALUES = {
    "byday holding 1": {"meetings": [{"freq": "weekly", "byday": [1], "start": "19:00"}]},
    "byday holding null": {"meetings": [{"freq": "weekly", "byday": [None], "start": "19:00"}]},
    "a tzdata folder": {"location": {"city": "Chicago", "region": "IL", "timezone": "America"}},
    "a 300-character zone": {
        "meetings": [{"freq": "weekly", "byday": ["TU"], "timezone": "America/" + "x" * 300}]
    },
    "a date past year 9999 in UTC": {"verified_at": "9999-12-31T23:59:59-01:00"},
    "a 400-digit latitude": {"location": {"lat": int("4" * 400), "lon": 1}},
    "a list for a name": {"name": ["Evening", "Grief"]},
}


@pytest.mark.parametrize("bad", BAD_PROJECT_VALUES.values(), ids=BAD_PROJECT_VALUES.keys())
def test_a_malformed_value_is_a_field_error(bad: dict[str, Any], taxonomy: Taxonomy) -> None:
    validation = validate_listing({**sample_record(), **bad}, taxonomy)
    assert validation.data is None
    assert validation.errors
    assert all(error.field and error.message for error in validation.errors)


def test_a_project_file_keeps_its_good_row_beside_every_malformed_one(
    app: Flask, tmp_path: Path
) -> None:
    rows = project_rows(*BAD_PROJECT_VALUES.values())
    text = json.dumps(rows)[:-1] + ', {"name": ' + DEEP + "}]"
    path = tmp_path / "listings.json"
    path.write_text(text)
    report = ingest_files(
        db.session, [path], fmt="json", source="partner", taxonomy=default_taxonomy()
    )
    assert (report.read, report.added, report.rejected) == (len(rows) + 1, 1, len(rows))
    deep = [reject for reject in report.rejects if reject.row == len(rows) + 1]
    assert [reject.field for reject in deep] == ["record"]
    assert "nested" in deep[0].reason


def test_a_meeting_guide_day_of_5000_digits_rejects_only_its_row(tmp_path: Path) -> None:
    good = {"name": "Noon Group", "slug": "noon", "day": 1, "time": "12:00", "city": "Tulsa"}
    text = json.dumps([good])[:-1] + ', {"name": "Big", "slug": "big", "day": ' + "9" * 5000 + "}]"
    path = tmp_path / "feed.json"
    path.write_text(text)
    raws = list(read_records(path, "meeting-guide"))
    assert [(raw.row, raw.field) for raw in raws if raw.record is None] == [(2, "day")]
    assert [raw.row for raw in raws if raw.record is not None] == [1]


def test_a_deeply_nested_meeting_is_rejected_by_row(tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    path.write_text(
        '[{"name": "A", "day": 1, "city": "Tulsa"}, {"name": "B", "day": ' + DEEP + "}]"
    )
    raws = list(read_records(path, "meeting-guide"))
    assert [(raw.row, raw.field) for raw in raws if raw.record is None] == [(2, "record")]


NOWHERE = "has no place and no way to join"


def test_a_listing_with_no_place_and_no_way_to_join_is_rejected(taxonomy: Taxonomy) -> None:
    validation = validate_listing(sample_record(location=None), taxonomy)
    assert validation.data is None
    assert [(e.field, e.message.split(":")[0]) for e in validation.errors] == [
        ("location", NOWHERE)
    ]
    online = sample_record(location=None, online={"phone": "+1 312 555 0100"})
    assert validate_listing(online, taxonomy).ok
    venue_only = sample_record(location={"name": "St. Paul's"})
    assert not validate_listing(venue_only, taxonomy).ok


def test_a_meeting_with_only_name_day_and_time_is_not_published(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    path.write_text(
        json.dumps(
            [
                {"name": "Somewhere Group", "slug": "a", "day": 1, "time": "19:00"},
                {"name": "Tulsa Group", "slug": "b", "day": 1, "time": "19:00", "city": "Tulsa",
                 "state": "OK"},
            ]
        )
    )  # fmt: skip
    report = ingest_files(
        db.session, [path], fmt="meeting-guide", source="feed", default_concerns=["alcohol"],
        taxonomy=default_taxonomy(),
    )  # fmt: skip
    assert (report.added, report.rejected) == (1, 1)
    [reject] = report.rejects
    assert (reject.row, reject.field) == (1, "location")
    assert reject.reason.startswith(NOWHERE)
