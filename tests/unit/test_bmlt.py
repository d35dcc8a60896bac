"""BMLT semantic JSON: the real responses in shared/external/bmlt, and the mapping rules."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from clearinghouse.extensions import db
from clearinghouse.models import Group
from clearinghouse.taxonomy import default_taxonomy
from indexer import bmlt
from indexer.pipeline import IngestReport, ingest_files, validate
from indexer.readers import FormatError, RawRecord, open_source, open_sources

BMLT = Path(__file__).resolve().parents[3] / "shared/external/bmlt"
BERLIN = BMLT / "bread_berlin_GetSearchResults.json"
BERLIN_FORMATS = BMLT / "bread_berlin-formats-de_GetFormats.json"
YAP = BMLT / "yap_meeting-search-42.867970-day2.json"


def ingest(paths: list[Path], **options: Any) -> IngestReport:
    return ingest_files(db.session, paths, fmt="bmlt", taxonomy=default_taxonomy(), **options)


def pipeline_check(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The row check the pipeline gives readers (validation with the NA default concern)."""
    found = validate(record, default_taxonomy(), ("drugs",))
    return [(error.field, error.message) for error in found.errors]


def rows_of(record: RawRecord) -> list[int]:
    """The file rows a listing was made of (merged rows are named in a warning)."""
    for warning in record.warnings:
        if match := re.match(r"rows ([\d, ]+) are one group", warning):
            return [int(row) for row in match[1].split(", ")]
    return [record.row]


def test_berlin_every_row_is_a_group_member_or_a_reject(app: Flask) -> None:
    rows = len(json.loads(BERLIN.read_text(encoding="utf-8")))
    sources = open_sources([BERLIN, BERLIN_FORMATS], "bmlt", check=pipeline_check)
    records = [record for source in sources for record in source.records()]
    report = ingest([BERLIN, BERLIN_FORMATS])

    assert rows == 108
    # 23 virtual rows make 17 online groups, the 85 in-person rows 83 groups in Germany
    # (any country is taken when the row has coordinates).
    assert (report.rows, report.read, report.added, report.rejected) == (108, 100, 100, 0)
    # rows 1, 19, 34, 48, 65, 83, 99 are one daily meeting; three in-person meetings carry a
    # format key (Aussen) the server's own format list lacks.
    assert report.warning_count == 4
    assert report.rejects == []
    grouped = [row for record in records if record.record for row in rows_of(record)]
    rejected = [record.row for record in records if not record.record]
    assert sorted(rejected) == sorted(reject.row for reject in report.rejects)
    assert sorted([*grouped, *rejected]) == list(range(1, rows + 1))


def test_berlin_online_meetings_drop_placeholder_coordinates(app: Flask) -> None:
    ingest([BERLIN, BERLIN_FORMATS])
    groups = db.session.scalars(select(Group)).all()

    assert Counter(group.attendance for group in groups) == {"online": 17, "in-person": 83}
    online = [group for group in groups if group.attendance == "online"]
    assert all(group.online_url and group.location is None for group in online)
    assert {concern.slug for group in groups for concern in group.concerns} == {"drugs"}
    # LANG formats (en) where given, else the server's language (lang_enum de).
    assert Counter(lang for group in online for lang in group.languages) == {"de": 14, "en": 3}


def test_yap_combined_shape_imports_every_meeting(app: Flask) -> None:
    rows = len(json.loads(YAP.read_text(encoding="utf-8"))["meetings"])
    report = ingest([YAP], default_concerns=("drugs",))

    assert rows == 53
    assert (report.read, report.added, report.rejected, report.warning_count) == (53, 53, 0, 0)
    groups = db.session.scalars(select(Group)).all()
    assert {group.location.region for group in groups if group.location} == {"NY", "PA"}
    assert sum(group.accessibility == ["wheelchair"] for group in groups) == 12
    assert Counter(group.open for group in groups)[True] == 53


def test_an_explicit_concern_replaces_the_na_default(app: Flask) -> None:
    ingest([YAP], default_concerns=("opioids",))
    slugs = {c.slug for group in db.session.scalars(select(Group)) for c in group.concerns}
    assert slugs == {"opioids"}


def test_a_second_run_changes_nothing(app: Flask) -> None:
    ingest([YAP])
    again = ingest([YAP])
    assert (again.added, again.updated, again.unchanged) == (0, 0, 53)


def test_formats_map_by_world_id_and_values_split_on_the_separator() -> None:
    formats = bmlt.catalogue(
        [
            {"key_string": "F", "name_string": "Frauen", "world_id": "W"},
            {"key_string": "Beh", "name_string": "barrierefrei", "world_id": "WCHR"},
            {"key_string": "ru", "name_string": "Russisch", "world_id": "LANG"},
            {"key_string": "T", "name_string": "Themenmeeting", "world_id": "TOP"},
            {"key_string": "C", "name_string": "Closed", "world_id": "CLOSED"},
        ]
    )
    record, warnings = bmlt.meeting_record(
        {
            "id_bigint": "7", "meeting_name": "Hoffnung", "weekday_tinyint": "1",
            "start_time": "23:30:00", "duration_time": "01:00:00", "time_zone": "Europe/Berlin",
            "formats": "F,Beh,ru,T,C,XX", "venue_type": "1", "latitude": "52.5",
            "longitude": "13.4", "location_street": "Weg 1", "location_nation": "Deutschland",
            "location_province": "Berlin", "public_transport": "ÖPNV#@-@#U1, U8",
            "location_info": "Hinterhaus<br>2. Stock",
        },
        formats,
    )  # fmt: skip

    assert record["audience"] == ["women"] and record["accessibility"] == ["wheelchair"]
    assert record["languages"] == ["ru"] and record["open"] is False
    assert record["meetings"] == [
        {"freq": "weekly", "byday": ["SU"], "start": "23:30", "end": "00:30",
         "timezone": "Europe/Berlin"}
    ]  # fmt: skip
    assert record["location"]["notes"] == "Hinterhaus\n2. Stock\nÖPNV: U1, U8"
    assert record["location"]["country"] == "DE" and record["location"]["region"] == ""
    assert record["description"] == "Meeting types: Themenmeeting."
    assert warnings == ["formats: 'XX' is not in the server's formats and was ignored"]


def test_a_virtual_meeting_keeps_its_link_and_phone_not_its_place() -> None:
    record, _ = bmlt.meeting_record(
        {
            "id_bigint": "8", "meeting_name": "Online", "weekday_tinyint": "7",
            "start_time": "19:00:00", "venue_type": "2", "latitude": "34.2", "longitude": "-118.5",
            "virtual_meeting_link": "https://zoom.us/j/1", "phone_meeting_number": "+1 555 0100",
        },
        None,
    )  # fmt: skip
    assert record["location"] is None and record["attendance"] == "online"
    assert record["online"]["url"] == "https://zoom.us/j/1"
    assert record["online"]["phone"] == "+1 555 0100"
    assert record["meetings"][0]["byday"] == ["SA"]


def test_temporarily_closed_without_a_link_stays_listed_as_closed() -> None:
    formats = bmlt.catalogue([{"key_string": "TC", "name_string": "Closed", "world_id": "TC"}])
    meeting = {
        "id_bigint": "9", "meeting_name": "Paused", "weekday_tinyint": "2",
        "start_time": "19:00:00", "formats": "TC", "location_street": "Weg 1",
        "location_municipality": "Berlin", "latitude": "52.5", "longitude": "13.4",
    }  # fmt: skip
    closed, _ = bmlt.meeting_record(meeting, formats)
    assert closed["status"] is None
    assert closed["closure"] == {"until": None, "reason": "Temporarily closed"}
    online, _ = bmlt.meeting_record(
        {**meeting, "virtual_meeting_link": "https://zoom.us/j/1"}, formats
    )
    assert online["closure"] is None  # it can still be joined


@pytest.mark.parametrize(
    ("day", "reason"),
    [("0", "'0' is not a day (1 = Sunday … 7 = Saturday)"), ("", "'' is not a day (1 = Sunday …")],
)
def test_a_row_without_a_weekday_is_rejected_alone(tmp_path: Path, day: str, reason: str) -> None:
    meetings = [
        {"id_bigint": "1", "meeting_name": "A", "weekday_tinyint": day, "start_time": "19:00"},
        {"id_bigint": "2", "meeting_name": "B", "weekday_tinyint": "2", "start_time": "19:00"},
    ]
    path = tmp_path / "search.json"
    path.write_text(json.dumps(meetings), encoding="utf-8")
    source = open_source(path, "bmlt")
    records = list(source.records())
    assert [(r.row, r.field, (r.error or "")[: len(reason)]) for r in records if not r.record] == [
        (1, "weekday_tinyint", reason)
    ]
    assert [r.row for r in records if r.record] == [2]
    assert source.warnings == [
        "search.json: no GetFormats catalogue (add the server's GetFormats response to the "
        "import); format keys were read as NAWS world ids"
    ]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"name": "x"}, "expected BMLT semantic JSON"),
        ([{"day": 1, "time": "19:00", "types": ["O"]}], "not BMLT meetings"),
        ({"meetings": {}}, '"meetings" and "formats" must be arrays'),
    ],
)
def test_other_json_is_refused_with_a_reason(tmp_path: Path, document: Any, message: str) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(FormatError, match=re.escape(message)):
        open_source(path, "bmlt")
