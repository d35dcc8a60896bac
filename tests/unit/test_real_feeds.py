"""Real meeting feeds written by others land as their authors meant them (dry runs).

The files are read where CI has them (../shared/external, see its SOURCES.md) and never
copied.  Some carry group e-mails and Zoom passcodes, so assertions compare counts and
reasons with every quoted value and number blanked out: a failure never prints a record.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from flask import Flask

from clearinghouse.extensions import db
from clearinghouse.taxonomy import default_taxonomy
from indexer.pipeline import IngestReport, ingest_files
from indexer.readers import FormatError

EXTERNAL = Path(__file__).resolve().parents[3] / "shared/external"
# Each feed's concern: what the intergroup is for.
CONCERNS = {"tsml-ui_eda.json": "eating-disorders", "tsml-ui_al-anon.json": "families-of-addicts"}

# file: (rows read, groups, added, rejected, warnings).  Every row lands: rows with a
# usable place or a way to join are never rejected, and these feeds have no other kind.
# Groups are fewer than rows where one group's meetings merge (rows differing only in day
# and time); warnings are unknown type codes (ONL, ASBI, AC…), HTML removed from notes,
# unusable fields left out (0,0 coordinates, a lone longitude, a "+1" phone), online
# meetings whose city could not be placed, and the merges themselves.
EXPECTED = {
    "meeting-guide/spec_kansas-city_data-sample.json": (45, 40, 40, 0, 2),
    "meeting-guide/tsml-ui_aasepia.json": (2038, 2038, 2038, 0, 26),
    "meeting-guide/tsml-ui_aasfmarin.test.json": (658, 658, 658, 0, 219),
    "meeting-guide/tsml-ui_al-anon.json": (360, 360, 360, 0, 52),
    "meeting-guide/tsml-ui_eda.json": (185, 185, 185, 0, 0),
    "meeting-guide/tsml-ui_edmonton.json": (315, 315, 315, 0, 0),
    "meeting-guide/tsml-ui_kc.test.json": (206, 206, 206, 0, 20),
    "meeting-guide/tsml-ui_nwta.test.json": (613, 130, 130, 0, 96),
    "meeting-guide/tsml-ui_sussexaa.json": (123, 123, 123, 0, 0),
    "meeting-guide/tsml-ui_times.json": (9, 9, 9, 0, 1),
    "meeting-guide/tsml-ui_timezones.test.json": (2, 2, 2, 0, 0),
    "meeting-csv/tsml-template_2016-07-01.csv": (34, 34, 34, 0, 0),
    "meeting-csv/tsml-template_2017-04-23.csv": (36, 35, 35, 0, 1),
}
# Rejections a person would agree with, values blanked: none in these feeds.
EXPECTED_REASONS: dict[str, set[tuple[str, str]]] = {}


def blanked(text: str) -> str:
    """A reason without the values it quotes (they may be e-mails or passcodes)."""
    return re.sub(r"\d+", "<n>", re.sub(r"'[^']*'|\"[^\"]*\"", "<value>", text))


def file_rows(path: Path) -> int:
    if path.suffix == ".json":
        return len(json.loads(path.read_text(encoding="utf-8")))
    with path.open(encoding="utf-8", newline="") as handle:
        return sum(1 for row in list(csv.reader(handle))[1:] if any(cell.strip() for cell in row))


def dry_run(path: Path) -> IngestReport:
    fmt = "csv" if path.suffix == ".csv" else "meeting-guide"
    return ingest_files(
        db.session, [path], fmt=fmt, source="partner", dry_run=True,
        default_concerns=[CONCERNS.get(path.name, "alcohol")], taxonomy=default_taxonomy(),
    )  # fmt: skip


def test_every_real_meeting_file_is_covered() -> None:
    files = {
        f"{path.parent.name}/{path.name}"
        for folder in ("meeting-guide", "meeting-csv")
        for path in (EXTERNAL / folder).iterdir()
    }
    assert files == set(EXPECTED) | set(UNREADABLE)


@pytest.mark.parametrize("name", EXPECTED)
def test_a_real_feed_lands_as_meant(app: Flask, name: str) -> None:
    path = EXTERNAL / name
    report = dry_run(path)
    counts = (report.rows, report.read, report.added, report.rejected, report.warning_count)
    assert counts == EXPECTED[name]
    assert report.rows == file_rows(path)  # every row of the file is accounted for
    assert report.added + report.updated + report.unchanged + report.rejected == report.read
    reasons = {(reject.field, blanked(reject.reason)) for reject in report.rejects}
    assert reasons == EXPECTED_REASONS.get(name, set())


# Files that are not a feed we can read, refused whole with one message naming why.
UNREADABLE = {
    "meeting-guide/tsml-ui_invalid.json": "not JSON",
    # Other programs' layouts (Baltimore's mName/mAdd1/mSpecial…, a scraped Al-Anon list
    # with Time and AMPM apart and no meeting name): a mapping for each is future work.
    "meeting-csv/twelvestepintergroup_baltimoreaa.csv": "no recognisable CSV header",
    "meeting-csv/digital-recovery_afg_meetings.csv": "no recognisable CSV header",
}


@pytest.mark.parametrize("name", UNREADABLE)
def test_a_file_that_is_not_a_feed_is_refused_whole(app: Flask, name: str) -> None:
    with pytest.raises(FormatError) as refused:
        dry_run(EXTERNAL / name)
    assert UNREADABLE[name] in str(refused.value)
