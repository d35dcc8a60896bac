"""Property: any JSON value in any field of any importer either lands or rejects its own row.

Every field of a good record (found by walking its structure, so a field added to the
fixture is covered too) is replaced by an arbitrary JSON value — plus the values that once
took whole imports down — and the file is run through the real pipeline (a dry run on
SQLite).  The only outcomes allowed: the row accepted, or the row rejected with a field and
a reason; the good row beside it always lands.  Examples are few and derandomized
(the `importers` profile) so CI stays quick and repeatable.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearinghouse.extensions import db
from clearinghouse.listings import validate_listing
from clearinghouse.taxonomy import default_taxonomy
from indexer import csv_layout
from indexer.pipeline import IngestReport, ingest_files
from tests.conftest import sample_record

settings.register_profile(
    "importers",
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PROFILE = settings.get_profile("importers")
DATA = Path(__file__).resolve().parents[1] / "data"

# Values that each aborted a whole import once (issue 11, defect 2), and their cousins.
HOSTILE = [
    1, None, "America", "America/" + "x" * 300, "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00", int("4" * 400), "9" * 5000, math.nan, math.inf, -0.0,
    [[[[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]]], {"": {}}, [], "", " ", "&lt;b&gt;",
    "<script>alert(1)</script>", "²", "٣", "7", "-1", "2TU", True, False, 10**30, "\u202e",
    "a\x00b",
]  # fmt: skip
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
VALUES = st.sampled_from(HOSTILE) | JSON_VALUES


def mutations(paths: list[Any]) -> st.SearchStrategy[list[tuple[Any, Any]]]:
    """Up to eight (field, value) changes, each made on its own copy of the record: one row each."""
    return st.lists(st.tuples(st.sampled_from(paths), VALUES), min_size=1, max_size=8)


def every_hostile_change(paths: list[Any]) -> list[tuple[Any, Any]]:
    return [(path, value) for path in paths for value in HOSTILE]


def field_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key and list position in a record, parents before children."""
    if prefix:
        yield prefix
    if isinstance(value, dict | list):
        children = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in children:
            yield from field_paths(child, (*prefix, key))


def replaced(record: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(record))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def as_json(value: Any) -> str:
    return json.dumps(value)


def only_row_outcomes(report: IngestReport, rows: int | None = None) -> None:
    """Every row added or rejected with a field and a reason; the good row (row 1) landed."""
    if rows is not None:
        assert report.read == rows
    assert report.added + report.rejected == report.read
    assert report.added >= 1, "the good row did not land"
    assert 1 not in {reject.row for reject in report.rejects}
    for reject in report.rejects:
        assert reject.field and reject.reason


def run(app: Flask, path: Path, fmt: str, **options: Any) -> IngestReport:
    return ingest_files(
        db.session, [path], fmt=fmt, source="partner", dry_run=True,
        taxonomy=default_taxonomy(), **options,
    )  # fmt: skip


# -- the project's JSON -------------------------------------------------------------------

PROJECT = sample_record(
    external_id="mutated",
    name="Mutated Circle",
    organization={"name": "Lakeside Hospice"},
    attendance="hybrid",
    open="yes",
    time_limited="no",
    cost_note="",
    audience=["women"],
    accessibility=["wheelchair"],
    contact={"phone": "312-555-0101", "email": "circle@example.org", "website": "example.org"},
    online={"url": "https://zoom.us/j/1", "phone": "+1 312 555 0100", "notes": "ID 1"},
    service_area=["IL"],
    private_contact={"name": "Pat", "phone": "312-555-0102", "email": "p@example.org", "notes": ""},
    status="active",
    verified_at="2024-04-02",
    slug="mutated-circle",
)
PROJECT["location"] |= {"country": "US", "approximate": False, "timezone": "America/Chicago"}
PROJECT["meetings"][0] |= {"timezone": "America/Chicago", "note": "Lower level"}
PROJECT_PATHS = list(field_paths(PROJECT))


@settings(PROFILE)
@given(path=st.sampled_from(PROJECT_PATHS), value=VALUES, from_feed=st.booleans())
def test_validate_listing_accepts_or_names_the_field(
    path: tuple[Any, ...], value: Any, from_feed: bool
) -> None:
    record = replaced(PROJECT, path, value)
    validation = validate_listing(record, default_taxonomy(), from_feed=from_feed)
    assert (validation.data is None) == bool(validation.errors)
    assert all(error.field and error.message for error in validation.errors)


def test_validate_listing_takes_every_hostile_value_in_every_field() -> None:
    for path, value in every_hostile_change(PROJECT_PATHS):
        for from_feed in (False, True):
            record = replaced(PROJECT, path, value)
            validation = validate_listing(record, default_taxonomy(), from_feed=from_feed)
            assert (validation.data is None) == bool(validation.errors), path
            assert all(error.field and error.message for error in validation.errors), path


def project_file(folder: Path, changes: list[tuple[Any, Any]]) -> Path:
    rows = [sample_record(external_id="good", name="Anchor Circle")]
    for number, (path, value) in enumerate(changes):
        row = replaced(PROJECT, path, value)
        if path != ("external_id",):
            row["external_id"] = f"mutated-{number}"
        rows.append(row)
    file = folder / "listings.json"
    file.write_text(json.dumps(rows))
    return file


@settings(PROFILE)
@given(changes=mutations(PROJECT_PATHS))
def test_project_json_rows_land_or_are_rejected_alone(
    app: Flask, tmp_path_factory: Any, changes: list[tuple[Any, Any]]
) -> None:
    file = project_file(tmp_path_factory.mktemp("json"), changes)
    only_row_outcomes(run(app, file, "json"), len(changes) + 1)


def test_project_json_takes_every_hostile_value_in_every_field(app: Flask, tmp_path: Path) -> None:
    changes = every_hostile_change(PROJECT_PATHS)
    only_row_outcomes(run(app, project_file(tmp_path, changes), "json"), len(changes) + 1)


# -- Meeting Guide JSON -------------------------------------------------------------------

MEETING = {
    "name": "Mutated Group", "slug": "mutated", "day": 2, "time": "19:00", "end_time": "20:00",
    "timezone": "America/Chicago", "types": ["O", "D", "X"], "location": "St. Paul's",
    "formatted_address": "2215 N Clark St, Chicago, IL 60614, USA", "address": "2215 N Clark St",
    "city": "Chicago", "state": "IL", "postal_code": "60614", "country": "US",
    "latitude": 41.9218, "longitude": -87.6393, "approximate": "no",
    "conference_url": "https://zoom.us/j/1", "conference_phone": "+13125550100,,123#",
    "conference_url_notes": "ID 1", "conference_phone_notes": "", "notes": "Side door",
    "location_notes": "", "group_notes": "", "url": "https://example.org/m", "email": "",
    "phone": "", "attendance_option": "hybrid", "contact_1_name": "", "contact_1_phone": "",
    "contact_1_email": "", "updated": "2024-05-01 10:00:00", "group": "G", "regions": ["Cook"],
}  # fmt: skip
ANCHOR_MEETING = {"name": "Anchor Group", "slug": "anchor", "day": 1, "time": "12:00",
                  "formatted_address": "500 W Madison St, Chicago, IL 60661"}  # fmt: skip


MEETING_PATHS = list(field_paths(MEETING))


def meeting_file(folder: Path, changes: list[tuple[Any, Any]]) -> Path:
    rows = [ANCHOR_MEETING]
    for number, (path, value) in enumerate(changes):
        row = replaced(MEETING, path, value)
        if path != ("slug",):
            row["slug"] = f"mutated-{number}"
        rows.append(row)
    file = folder / "feed.json"
    file.write_text(json.dumps(rows))
    return file


@settings(PROFILE)
@given(changes=mutations(MEETING_PATHS))
def test_meeting_guide_rows_land_or_are_rejected_alone(
    app: Flask, tmp_path_factory: Any, changes: list[tuple[Any, Any]]
) -> None:
    file = meeting_file(tmp_path_factory.mktemp("mg"), changes)
    only_row_outcomes(run(app, file, "meeting-guide", default_concerns=("alcohol",)))


def test_meeting_guide_takes_every_hostile_value_in_every_field(app: Flask, tmp_path: Path) -> None:
    file = meeting_file(tmp_path, every_hostile_change(MEETING_PATHS))
    only_row_outcomes(run(app, file, "meeting-guide", default_concerns=("alcohol",)))


# -- HSDS ----------------------------------------------------------------------------------

SERVICES = json.loads((DATA / "hsds-services.json").read_text())["contents"]
SERVICE, ANCHOR_SERVICE = SERVICES[0], {**SERVICES[1], "id": "anchor"}


SERVICE_PATHS = list(field_paths(SERVICE))


def services_file(folder: Path, changes: list[tuple[Any, Any]]) -> Path:
    rows = [ANCHOR_SERVICE]
    for number, (path, value) in enumerate(changes):
        row = replaced(SERVICE, path, value)
        if path != ("id",):
            row["id"] = f"mutated-{number}"
        rows.append(row)
    file = folder / "services.json"
    file.write_text(json.dumps(rows))
    return file


# A service offered at several places is several listings, so rows are not counted here.
@settings(PROFILE)
@given(changes=mutations(SERVICE_PATHS))
def test_hsds_services_land_or_are_rejected_alone(
    app: Flask, tmp_path_factory: Any, changes: list[tuple[Any, Any]]
) -> None:
    only_row_outcomes(run(app, services_file(tmp_path_factory.mktemp("hsds"), changes), "hsds"))


def test_hsds_takes_every_hostile_value_in_every_field(app: Flask, tmp_path: Path) -> None:
    file = services_file(tmp_path, every_hostile_change(SERVICE_PATHS))
    only_row_outcomes(run(app, file, "hsds"))


# -- CSV (the project's layout and the 12 Step Meeting List template) -----------------------

CSV_ROW = {column: "" for column in csv_layout.COLUMNS} | {
    "external_id": "mutated", "name": "Mutated Circle", "concerns": "grief", "city": "Chicago",
    "state": "IL", "postal_code": "60614", "days": "TU", "start": "19:00", "end": "20:30",
    "timezone": "America/Chicago", "lat": "41.9", "lon": "-87.6", "online_url": "zoom.us/j/1",
}  # fmt: skip
TSML_ROW = {column: "" for column in sorted(csv_layout.TSML_COLUMNS)} | {
    "name": "Mutated Group", "day": "Tuesday", "time": "7:00 PM", "slug": "mutated",
    "address": "2634 Union Ave, San Jose, CA 95124, USA", "types": "Open, Wheelchair Access",
    "conference_phone": "+14085550100,,123#",
}  # fmt: skip


def csv_text(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def cell(value: Any) -> str:
    return value if isinstance(value, str) else as_json(value)


def csv_file(folder: Path, template: dict[str, str], changes: list[tuple[str, Any]]) -> Path:
    key = "external_id" if "external_id" in template else "slug"
    rows = [template | {key: "anchor", "name": "Anchor", "day": "Monday"}]
    rows[0] = {column: rows[0][column] for column in template}
    for number, (column, value) in enumerate(changes):
        row = template | {key: f"mutated-{number}"}
        rows.append(row | {column: cell(value)})
    file = folder / "listings.csv"
    file.write_text(csv_text(rows), encoding="utf-8")
    return file


@settings(PROFILE)
@given(changes=mutations(list(CSV_ROW)))
def test_csv_rows_land_or_are_rejected_alone(
    app: Flask, tmp_path_factory: Any, changes: list[tuple[str, Any]]
) -> None:
    file = csv_file(tmp_path_factory.mktemp("csv"), CSV_ROW, changes)
    only_row_outcomes(run(app, file, "csv"), len(changes) + 1)


@settings(PROFILE)
@given(changes=mutations(list(TSML_ROW)))
def test_meeting_csv_rows_land_or_are_rejected_alone(
    app: Flask, tmp_path_factory: Any, changes: list[tuple[str, Any]]
) -> None:
    file = csv_file(tmp_path_factory.mktemp("tsml"), TSML_ROW, changes)
    only_row_outcomes(run(app, file, "csv", default_concerns=("alcohol",)))


def test_csv_takes_every_hostile_value_in_every_column(app: Flask, tmp_path: Path) -> None:
    changes = every_hostile_change(list(CSV_ROW))
    file = csv_file(tmp_path, CSV_ROW, changes)
    only_row_outcomes(run(app, file, "csv"), len(changes) + 1)
    file = csv_file(tmp_path, TSML_ROW, every_hostile_change(list(TSML_ROW)))
    only_row_outcomes(run(app, file, "csv", default_concerns=("alcohol",)))
