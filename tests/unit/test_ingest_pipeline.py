"""The ingest pipeline against a real store (SQLite, and PostgreSQL where marked)."""

from __future__ import annotations

import gzip
import json
import logging
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, event, func, select

from clearinghouse import create_app
from clearinghouse.database import load_taxonomy, migrate
from clearinghouse.extensions import db
from clearinghouse.listings import ListingData
from clearinghouse.models import AuditEvent, Group, GroupStatus, Outbox
from clearinghouse.store import snapshot
from clearinghouse.taxonomy import Taxonomy, default_taxonomy
from indexer import pipeline
from indexer.pipeline import (
    IngestReport,
    Reject,
    ingest_files,
    ingest_records,
    listing_key,
    load_sample_listings,
)
from indexer.readers import FormatError
from tests.conftest import app_config, sample_record

DATA = Path(__file__).resolve().parents[1] / "data"
TSML_TEMPLATE = (
    Path(__file__).resolve().parents[3] / "shared/standards/meeting-guide/tsml-template.csv"
)
FEED = DATA / "meeting-guide-feed.json"


def count(model: Any = Group) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def ingest(paths: list[Path], fmt: str, **options: Any) -> IngestReport:
    options.setdefault("taxonomy", default_taxonomy())
    options.setdefault("source", "partner")
    return ingest_files(db.session, paths, fmt=fmt, **options)


def adds_up(report: IngestReport) -> bool:
    parts = report.added + report.updated + report.unchanged + report.rejected
    return report.read == parts


def feed_with_a_huge_row(tmp_path: Path) -> Path:
    """The test feed plus a 10 MB notes field (row 14), too big to keep in tests/data."""
    items = json.loads(FEED.read_text())
    items.append(
        {"name": "Endless Notes", "slug": "endless-notes", "day": 2, "time": "19:00",
         "timezone": "America/Chicago", "formatted_address": "500 W Madison St, Chicago, IL 60661",
         "notes": "x" * (10 * 1024 * 1024)}
    )  # fmt: skip
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(items))
    return path


def test_the_tsml_template_lands_and_a_second_run_is_unchanged(store_app: Flask) -> None:
    first = ingest([TSML_TEMPLATE], "csv", default_concerns=["alcohol"])
    data_rows = len(TSML_TEMPLATE.read_text().strip().splitlines()) - 1
    assert (first.read, first.added, first.rejected) == (data_rows - 1, data_rows - 1, 0)
    assert count() == data_rows - 1
    second = ingest([TSML_TEMPLATE], "csv", default_concerns=["alcohol"])
    assert (
        second.summary() == f"read {data_rows} rows → {data_rows - 1} groups: 0 added, 0 updated, "
        f"{data_rows - 1} unchanged, 0 rejected"
    )
    assert count(Outbox) == data_rows - 1


def test_a_meeting_guide_feed_keeps_good_rows_and_reports_bad_ones(
    store_app: Flask, tmp_path: Path
) -> None:
    path = feed_with_a_huge_row(tmp_path)
    report = ingest([path], "meeting-guide", default_concerns=["alcohol"], source="aa-chicago")
    assert adds_up(report)
    # Rows 11 (latitude 123) and 12 (ZIP ABCDE) still have a street, city and state: the
    # unusable field is left out with a warning and the meeting lands.
    assert (report.rows, report.read, report.added, report.rejected) == (14, 13, 8, 5)
    reasons = {(reject.row, reject.field): reject.reason for reject in report.rejects}
    assert reasons[(8, "name")] == "is required"
    assert "'25:70' is not a time" in reasons[(9, "meetings[0]")]
    assert reasons[(10, "day")].startswith("9 is not a day")
    notes = {(w.row, w.field): w.reason for w in report.warnings}
    assert "123 is out of range" in notes[(11, "location.lat")]
    assert "'ABCDE' is not a US ZIP" in notes[(12, "location.postal_code")]
    assert reasons[(13, "slug")] == "duplicate of row 3"
    assert "10,485,760 characters" in reasons[(14, "description")]
    assert [reject.row for reject in report.rejects] == sorted(r.row for r in report.rejects)
    repaired = [str(w) for w in report.warnings if w.row == 7]
    assert "feed.json row 7: description: HTML was removed" in repaired
    sunrise = db.session.scalar(select(Group).where(Group.external_id == "sunrise-serenity"))
    assert sunrise is not None and sunrise.name == "Sunrise Serenity"
    assert "<" not in sunrise.description and "alert" not in sunrise.description
    again = ingest([path], "meeting-guide", default_concerns=["alcohol"], source="aa-chicago")
    assert (again.added, again.updated, again.unchanged, again.rejected) == (0, 0, 8, 5)


def test_feed_groups_are_stored_with_their_meetings_and_status(store_app: Flask) -> None:
    ingest([FEED], "meeting-guide", default_concerns=["alcohol"])
    groups = {group.external_id: group for group in db.session.scalars(select(Group))}
    seekers = groups["serenity-seekers"]
    assert [meeting.byday for meeting in seekers.meetings] == [["MO"], ["TH"]]
    assert [concern.slug for concern in seekers.concerns] == ["alcohol"]
    assert seekers.location is not None and seekers.location.city == "Chicago"
    closed = groups["downtown-noon"]  # Meeting Guide TC without a link
    assert closed.status == "active" and closed.temporarily_closed
    assert (closed.closed_until, closed.closed_reason) == (None, "Location Temporarily Closed")
    assert groups["lunch-bunch-online"].attendance == "online"
    assert groups["lunch-bunch-online"].location is None


def test_a_dry_run_reports_the_same_numbers_and_writes_nothing(store_app: Flask) -> None:
    dry = ingest([DATA / "listings.csv"], "csv", dry_run=True)
    assert count() == 0 and count(Outbox) == 0 and count(AuditEvent) == 0
    real = ingest([DATA / "listings.csv"], "csv")
    assert (
        dry.summary()
        == real.summary()
        == "read 9 rows → 9 groups: 6 added, 0 updated, 0 unchanged, 3 rejected"
    )
    assert dry.rejects == real.rejects
    again_dry = ingest([DATA / "listings.csv"], "csv", dry_run=True)
    assert again_dry.unchanged == 6


def test_a_wrong_format_file_changes_nothing_even_after_a_good_one(app: Flask) -> None:
    with pytest.raises(FormatError) as error:
        ingest([DATA / "groups.json", DATA / "listings.csv"], "json")
    assert str(error.value).startswith("listings.csv: not JSON")
    assert count() == 0


def test_a_meeting_list_needs_a_concern(app: Flask) -> None:
    with pytest.raises(FormatError, match="--concern"):
        ingest([FEED], "meeting-guide")
    assert count() == 0


def test_a_changed_row_updates_the_same_listing_in_place(store_app: Flask, tmp_path: Path) -> None:
    ingest([DATA / "listings.csv"], "csv", source="partner")
    before = db.session.scalar(select(Group).where(Group.external_id == "CH-1002"))
    assert before is not None
    uuid = before.uuid
    changed = tmp_path / "listings.csv"
    text = (DATA / "listings.csv").read_text(encoding="utf-8-sig")
    changed.write_text(text.replace("Caregivers Coffee Hour", "Caregivers Tea Hour"))
    report = ingest([changed], "csv", source="partner")
    assert (report.added, report.updated, report.unchanged) == (0, 1, 5)
    after = db.session.scalar(select(Group).where(Group.external_id == "CH-1002"))
    assert after is not None and after.uuid == uuid and after.name == "Caregivers Tea Hour"


def test_unknown_concerns_are_kept_and_flagged(app: Flask) -> None:
    ingest([DATA / "listings.csv"], "csv")
    group = db.session.scalar(select(Group).where(Group.external_id == "CH-1002"))
    assert group is not None
    assert group.unknown_concerns == ["Lewy body caregivers"]
    assert "unknown-concern" in group.flags
    assert [concern.slug for concern in group.concerns] == ["dementia-caregivers"]


def test_the_same_group_from_another_source_is_flagged_on_both(store_app: Flask) -> None:
    ingest([DATA / "listings.csv"], "csv", source="county-list")
    report = ingest([DATA / "groups.json"], "json", source="state-export")
    assert report.flagged_duplicates == 1
    ours = db.session.scalar(select(Group).where(Group.external_id == "CH-1001"))
    theirs = db.session.scalar(
        select(Group).where(Group.external_id == "5f0c9a51-3b1e-4d7e-9c55-1a2b3c4d5e01")
    )
    assert ours is not None and theirs is not None and ours.id != theirs.id
    assert f"possible-duplicate:{ours.uuid}" in theirs.flags
    assert f"possible-duplicate:{theirs.uuid}" in ours.flags
    again = ingest([DATA / "groups.json"], "json", source="state-export")
    assert again.flagged_duplicates == 0 and again.unchanged == 2


def test_the_same_group_in_two_files_of_one_run_is_flagged_on_both(
    app: Flask, tmp_path: Path
) -> None:
    paths = [tmp_path / "county.json", tmp_path / "state.json"]
    for path in paths:  # without ids and without --source: each file is its own source
        path.write_text(json.dumps([sample_record(name="Harbor Grief Circle")]))
    report = ingest(paths, "json", source=None)

    assert (report.added, report.flagged_duplicates) == (2, 1)
    county, state = db.session.scalars(
        select(Group).where(Group.source.in_(["county.json", "state.json"])).order_by(Group.source)
    )
    assert f"possible-duplicate:{state.uuid}" in county.flags
    assert f"possible-duplicate:{county.uuid}" in state.flags


def test_two_listings_of_one_source_are_not_flagged_as_duplicates_of_each_other(
    app: Flask, taxonomy: Taxonomy
) -> None:
    first = sample_record(name="Harbor Grief Circle", external_id="harbor-1")
    second = sample_record(name="Harbor Grief Circle", external_id="harbor-2")
    ingest_records(db.session, [first], taxonomy=taxonomy, source="p")
    report = ingest_records(db.session, [second], taxonomy=taxonomy, source="p")

    assert (report.added, report.flagged_duplicates) == (1, 0)
    flags = db.session.scalars(select(Group.flags).where(Group.source == "p"))
    assert not any("possible-duplicate" in flag for group_flags in flags for flag in group_flags)


def test_records_without_ids_get_a_stable_key(app: Flask, taxonomy: Taxonomy) -> None:
    records = [sample_record(), sample_record(name="Morning Grief Circle")]
    first = ingest_records(db.session, records, taxonomy=taxonomy, source="hand")
    second = ingest_records(db.session, records, taxonomy=taxonomy, source="hand")
    assert (first.added, second.unchanged) == (2, 2)
    keys = set(db.session.scalars(select(Group.external_id)))
    assert len(keys) == 2 and all(key and key.startswith("auto:") for key in keys)


def test_the_same_record_twice_in_one_run_is_rejected(app: Flask, taxonomy: Taxonomy) -> None:
    report = ingest_records(
        db.session, [sample_record(), sample_record()], taxonomy=taxonomy, source="x"
    )
    assert report.summary() == "read 2 rows → 2 groups: 1 added, 0 updated, 0 unchanged, 1 rejected"
    assert [str(reject) for reject in report.rejects] == [
        "x row 2: external_id: duplicate of row 1"
    ]


def test_ingest_records_takes_a_status(app: Flask, taxonomy: Taxonomy) -> None:
    ingest_records(db.session, [sample_record()], taxonomy=taxonomy, source="x", status="pending")
    assert db.session.scalars(select(Group.status)).all() == ["pending"]


def test_listing_key_ignores_case_and_spacing_but_not_the_schedule(taxonomy: Taxonomy) -> None:
    from clearinghouse.listings import validate_listing

    def key(**overrides: Any) -> str:
        data = validate_listing(sample_record(**overrides), taxonomy).data
        assert data is not None
        return listing_key(data)

    assert key() == key(name="evening  grief CIRCLE")
    assert key() != key(meetings=[{"byday": ["WE"], "start": "19:00"}])


def test_a_reject_reads_as_file_row_field_reason() -> None:
    reject = Reject("file.csv", 7, "meetings[0]", "'25:70' is not a time")
    assert str(reject) == "file.csv row 7: meetings[0]: '25:70' is not a time"


def test_sample_listings_load_from_json_or_gzip(tmp_path: Path) -> None:
    listings = [sample_record(), sample_record(name="Another")]
    (tmp_path / "sample_listings.json.gz").write_bytes(gzip.compress(json.dumps(listings).encode()))
    assert list(load_sample_listings(tmp_path)) == listings
    with pytest.raises(FileNotFoundError):
        list(load_sample_listings(tmp_path / "missing"))


# -- the same file into SQLite and PostgreSQL -------------------------------------------


def stored_listings() -> dict[str, dict[str, Any]]:
    """Every group as comparable values, keyed by source + external id (database ids differ)."""
    listings = {}
    for group in db.session.scalars(select(Group)):
        values = snapshot(group)
        values.update(slug=group.slug, source=group.source)
        values["flags"] = sorted(flag.split(":")[0] for flag in group.flags)
        listings[f"{group.source}/{group.external_id}"] = values
    return listings


def load_everything() -> dict[str, dict[str, Any]]:
    ingest([TSML_TEMPLATE], "csv", default_concerns=["alcohol"], source="tsml")
    ingest([FEED], "meeting-guide", default_concerns=["alcohol"], source="feed")
    ingest([DATA / "listings.csv"], "csv", source="county")
    ingest([DATA / "groups.json"], "json", source="state")
    ingest([DATA / "hsds-services.json"], "hsds", source="hsds")
    return stored_listings()


@pytest.mark.postgres
def test_sqlite_and_postgresql_hold_the_same_listings(
    tmp_path: Path, fresh_postgres_url: str, template_database: Path
) -> None:
    snapshots = []
    sqlite_path = tmp_path / "sqlite.db"
    shutil.copy(template_database, sqlite_path)
    for url in (f"sqlite:///{sqlite_path}", fresh_postgres_url):
        app = create_app(app_config(url, tmp_path))
        migrate(app)
        with app.app_context():
            load_taxonomy(db.session(), default_taxonomy())
            db.session.commit()
            snapshots.append(load_everything())
            db.session.remove()
            db.engine.dispose()
    on_sqlite, on_postgres = snapshots
    assert len(on_sqlite) >= 45
    assert on_sqlite == on_postgres


def test_the_default_concern_is_only_for_records_that_name_none(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(
        "external_id,name,concerns,city,state\n1,Named,grief,Chicago,IL\n2,Unnamed,,Chicago,IL\n"
    )
    report = ingest([path], "csv", default_concerns=["alcohol"])
    assert report.added == 2
    concerns = {
        group.name: [concern.slug for concern in group.concerns]
        for group in db.session.scalars(select(Group))
    }
    assert concerns == {"Named": ["grief-loss"], "Unnamed": ["alcohol"]}


def test_a_progress_bar_goes_to_stderr_naming_the_file_and_counting_records(
    app: Flask, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "a-partner-file-with-a-long-name.json"
    shutil.copy(DATA / "groups.json", path)
    ingest([path], "json", source="partner", progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{path.name[:30]}: " in captured.err  # the name, cut to 30 characters
    assert path.name[:31] not in captured.err
    assert "3/3" in captured.err and " records/s" in captured.err
    ingest([path], "json", source="partner", progress=False)
    assert capsys.readouterr().err == ""  # no bar unless asked for


def test_a_huge_bad_value_is_not_echoed_in_full(app: Flask, taxonomy: Taxonomy) -> None:
    record = sample_record(languages=["x" * 1_000_000])
    report = ingest_records(db.session, [record], taxonomy=taxonomy, source="x")
    [reject] = report.rejects
    assert reject.field == "languages" and len(reject.reason) <= 500


def test_a_legacy_encoded_file_lands_with_a_warning(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "legacy.csv"
    path.write_bytes(
        "name,concerns,city,state\nDuelo en Español,grief,Chicago,IL\n".encode("cp1252")
    )
    report = ingest([path], "csv")
    assert report.added == 1
    [warning] = [str(w) for w in report.warnings if "Windows-1252" in w.reason]
    assert warning.startswith("legacy.csv: not UTF-8; read as Windows-1252")
    assert db.session.scalars(select(Group.name)).all() == ["Duelo en Español"]


def test_two_partners_files_with_the_same_ids_need_their_sources(
    app: Flask, tmp_path: Path
) -> None:
    files = []
    for partner, name in (("north", "North Grief Circle"), ("south", "South Grief Circle")):
        (tmp_path / partner).mkdir()
        files.append(tmp_path / partner / "listings.csv")
        files[-1].write_text(f"external_id,name,concerns,city,state\n1,{name},grief,Chicago,IL\n")
    for path in files:
        with pytest.raises(FormatError, match=r"carry their own ids \(external_id\).*--source"):
            ingest_files(db.session, [path], fmt="csv", taxonomy=default_taxonomy())
    assert count() == 0
    for partner, path in zip(("north", "south"), files, strict=True):
        assert ingest([path], "csv", source=partner).added == 1
    assert sorted(db.session.scalars(select(Group.name))) == [
        "North Grief Circle",
        "South Grief Circle",
    ]


def test_a_file_without_ids_is_its_own_source(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("name,concerns,city,state\nGrief Circle,grief,Chicago,IL\n")
    ingest_files(db.session, [path], fmt="csv", taxonomy=default_taxonomy())
    assert db.session.scalars(select(Group.source)).all() == ["plain.csv"]


def test_each_batch_is_committed_before_the_next_records_are_read(
    app: Flask, taxonomy: Taxonomy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "BATCH", 2)
    other = create_engine(db.engine.url)  # another connection sees only what is committed
    committed: list[int] = []

    def records() -> Iterator[dict[str, Any]]:
        for row in range(1, 6):
            with other.connect() as connection:
                query = select(func.count()).select_from(Group).where(Group.source == "batches")
                committed.append(connection.scalar(query) or 0)
            yield sample_record(name=f"Batch Circle {row}", external_id=f"batch-{row}")

    report = ingest_records(db.session, records(), taxonomy=taxonomy, source="batches")
    other.dispose()

    assert report.added == 5
    assert committed == [0, 0, 2, 2, 4]
    assert sorted(
        db.session.scalars(select(Group.external_id).where(Group.source == "batches"))
    ) == [f"batch-{row}" for row in range(1, 6)]


def test_an_import_logs_the_run_once_not_each_listing_and_leaves_store_logging_as_it_was(
    app: Flask, taxonomy: Taxonomy, caplog: pytest.LogCaptureFixture
) -> None:
    store_log = logging.getLogger("clearinghouse.store")
    level = store_log.level
    caplog.set_level(logging.INFO)
    records = [
        sample_record(name="Quiet Circle", external_id="quiet-1"),
        sample_record(name="Quiet Circle Two", external_id="quiet-2", format="no-such-format"),
    ]
    before = time.monotonic()
    ingest_records(db.session, records, taxonomy=taxonomy, source="quiet")
    took_ms = (time.monotonic() - before) * 1000

    assert [r.getMessage() for r in caplog.records if r.name == "clearinghouse.store"] == []
    [finished] = [
        r.getMessage() for r in caplog.records if "event=ingest_finished" in r.getMessage()
    ]
    assert re.fullmatch(
        r"event=ingest_finished dry_run=False rows=2 read=2 added=1 updated=0 unchanged=0 "
        r"rejected=1 warnings=0 duplicates=0 took_ms=\d+",
        finished,
    ), finished
    assert int(finished.rpartition("=")[2]) <= took_ms  # the run's own time, in milliseconds
    assert store_log.level == level  # the store's own lines are logged again after the run


def circles(*names: str) -> list[dict[str, Any]]:
    return [
        sample_record(name=name, external_id=f"circle-{row}")
        for row, name in enumerate(names, start=1)
    ]


def test_a_batch_reads_only_the_stored_groups_its_records_name(
    app: Flask, taxonomy: Taxonomy
) -> None:
    names = [f"Stored Circle {row}" for row in range(1, 6)]
    for source in ("p", "another"):  # the same groups from another source: duplicate candidates
        ingest_records(db.session, circles(*names), taxonomy=taxonomy, source=source)
    db.session.remove()  # a new session: every group read from here on is loaded from the database
    loaded: list[tuple[str | None, str | None]] = []

    def on_load(group: Group, _context: Any) -> None:
        loaded.append((group.source, group.external_id))

    event.listen(Group, "load", on_load)
    try:
        again = circles(*names)[1:2]  # circle-2 alone, unchanged
        report = ingest_records(db.session, again, taxonomy=taxonomy, source="p")
    finally:
        event.remove(Group, "load", on_load)

    assert report.unchanged == 1
    # Not the source's other groups, and no duplicate search for a listing already stored.
    assert loaded == [("p", "circle-2")]


def test_a_held_listing_is_counted_unchanged_and_left_as_it_was(
    app: Flask, taxonomy: Taxonomy, tmp_path: Path
) -> None:
    ingest_records(
        db.session, circles("Kept Circle", "Moved Circle"), taxonomy=taxonomy, source="p"
    )
    renamed = circles("Kept Circle (renamed)", "Moved Circle (renamed)")
    asked: list[tuple[str, str]] = []

    def hold(data: ListingData, group: Group) -> bool:
        asked.append((data.name, group.name))
        return group.name == "Kept Circle"

    path = tmp_path / "renamed.json"
    path.write_text(json.dumps(renamed))
    report = ingest([path], "json", source="p", hold=hold)

    assert asked == [
        ("Kept Circle (renamed)", "Kept Circle"),
        ("Moved Circle (renamed)", "Moved Circle"),
    ]
    assert (report.unchanged, report.held, report.updated) == (1, 1, 1)
    stored = db.session.scalars(select(Group.name).where(Group.source == "p"))
    assert sorted(stored) == ["Kept Circle", "Moved Circle (renamed)"]


def test_every_batch_is_stored_with_the_status_asked_for(
    app: Flask, taxonomy: Taxonomy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "BATCH", 2)  # full batches and a last, partial one
    records = [sample_record(name=f"Held Circle {n}", external_id=f"held-{n}") for n in range(5)]
    report = ingest_records(
        db.session, records, taxonomy=taxonomy, source="held", status=GroupStatus.PENDING
    )
    assert report.added == 5
    statuses = db.session.scalars(select(Group.status).where(Group.source == "held")).all()
    assert statuses == [GroupStatus.PENDING] * 5
