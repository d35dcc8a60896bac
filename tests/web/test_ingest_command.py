"""`clearinghouse ingest`: the command people run, its summary and its rejects file."""

from __future__ import annotations

import csv
from pathlib import Path

from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from clearinghouse.extensions import db
from clearinghouse.models import Group

DATA = Path(__file__).resolve().parents[1] / "data"
FEED = DATA / "meeting-guide-feed.json"
TSML_TEMPLATE = (
    Path(__file__).resolve().parents[3] / "shared/standards/meeting-guide/tsml-template.csv"
)


SOURCE = ("--source", "partner")


def groups() -> int:
    return db.session.scalar(select(func.count()).select_from(Group)) or 0


def test_ingest_prints_the_summary_and_writes_the_rejects(
    runner: FlaskCliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "rejects.csv"
    args = ["ingest", str(FEED), "--format", "meeting-guide", "--concern", "alcohol", *SOURCE]
    result = runner.invoke(args=[*args, "--rejects", str(out)])
    assert result.exit_code == 0, result.output
    assert "read 13 rows → 12 groups: 8 added, 0 updated, 0 unchanged, 4 rejected" in result.output
    assert "rejected meeting-guide-feed.json row 8: name: is required" in result.output
    assert "warning meeting-guide-feed.json row 7: description: HTML was removed" in result.output
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["file", "row", "field", "reason"]
    assert [
        "meeting-guide-feed.json",
        "10",
        "day",
        "9 is not a day (0 = Sunday … 6 = Saturday)",
    ] in rows
    assert [row[1] for row in rows[1:]] == ["8", "9", "10", "13"]
    assert groups() == 8
    again = runner.invoke(args=args)
    assert "read 13 rows → 12 groups: 0 added, 0 updated, 8 unchanged, 4 rejected" in again.output


def test_ingest_the_tsml_template(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["ingest", str(TSML_TEMPLATE), "--format", "csv", "--concern", "alcohol", *SOURCE]
    )
    assert result.exit_code == 0, result.output
    assert "0 rejected" in result.output and "rejected tsml" not in result.output
    assert groups() == len(TSML_TEMPLATE.read_text().strip().splitlines()) - 2


def test_a_dry_run_says_so_and_writes_nothing(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["ingest", str(DATA / "listings.csv"), "--format", "csv", "--dry-run", *SOURCE]
    )
    assert result.exit_code == 0, result.output
    assert "Dry run: read 9 rows → 9 groups: 6 added, 0 updated, 0 unchanged, 3 rejected" in (
        result.output
    )
    assert groups() == 0


def test_a_wrong_format_fails_with_one_message(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["ingest", str(DATA / "listings.csv"), "--format", "json"])
    assert result.exit_code != 0
    assert "Error: listings.csv: not JSON" in result.output
    assert "Traceback" not in result.output
    assert groups() == 0


def test_a_meeting_feed_without_a_concern_is_refused(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["ingest", str(FEED), "--format", "meeting-guide"])
    assert result.exit_code != 0 and "--concern" in result.output
    assert groups() == 0


def test_an_unknown_concern_slug_is_refused(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["ingest", str(FEED), "--format", "meeting-guide", "--concern", "booze"]
    )
    assert result.exit_code != 0 and "'booze' is not a concern slug" in result.output


def test_a_file_with_ids_needs_a_source(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["ingest", str(DATA / "listings.csv"), "--format", "csv"])
    assert result.exit_code != 0
    assert "Error: listings.csv: its records carry their own ids (external_id)" in result.output
    assert "--source NAME" in result.output and "Traceback" not in result.output
    assert groups() == 0
