"""On PostgreSQL, a row the database alone refuses is rejected alone; its batch is kept.

Validation passes every row here; a CHECK constraint added to this test's database refuses one
name, as a constraint, trigger or column limit in production would.  The pipeline must write
the batch again row by row, keep the rows around the refused one, and report that row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from clearinghouse import create_app
from clearinghouse.database import load_taxonomy, migrate
from clearinghouse.extensions import db
from clearinghouse.models import AuditEvent, Group, GroupStatus, Outbox
from clearinghouse.taxonomy import default_taxonomy
from indexer import pipeline
from indexer.pipeline import ingest_records
from tests.conftest import app_config, sample_record

pytestmark = pytest.mark.postgres

REFUSED = "Refused By The Database"


@pytest.fixture
def refusing_app(fresh_postgres_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(app_config(fresh_postgres_url, tmp_path))
    migrate(app)
    with app.app_context():
        load_taxonomy(db.session(), default_taxonomy())
        db.session.execute(
            text(f"ALTER TABLE groups ADD CONSTRAINT test_refuses_one CHECK (name <> '{REFUSED}')")
        )
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


def records(names: list[str]) -> list[dict[str, Any]]:
    return [
        sample_record(name=name, external_id=f"row-{row}", contact={"email": f"g{row}@example.org"})
        for row, name in enumerate(names, start=1)
    ]


def stored_names() -> list[str]:
    return sorted(db.session.scalars(select(Group.name)))


def test_a_row_refused_mid_batch_is_rejected_alone(refusing_app: Flask) -> None:
    names = ["Alpha Grief Circle", "Beta Grief Circle", REFUSED, "Delta Grief Circle", "Echo"]
    report = ingest_records(
        db.session, records(names), taxonomy=default_taxonomy(), source="partner"
    )

    assert (report.read, report.added, report.rejected) == (5, 4, 1)
    assert stored_names() == sorted(name for name in names if name != REFUSED)
    [reject] = report.rejects
    assert reject.row == 3
    assert "the database refused it" in reject.reason and "test_refuses_one" in reject.reason
    # Each kept row reached the search outbox, so it will be indexed.
    kept = set(db.session.scalars(select(Group.id)))
    assert kept <= set(db.session.scalars(select(Outbox.group_id)))


def test_an_update_refused_mid_batch_keeps_the_other_updates(refusing_app: Flask) -> None:
    first = ["Alpha Grief Circle", "Beta Grief Circle", "Gamma Grief Circle"]
    assert (
        ingest_records(
            db.session, records(first), taxonomy=default_taxonomy(), source="partner"
        ).added
        == 3
    )
    renamed = ["Alpha Grief Circle (renamed)", REFUSED, "Gamma Grief Circle (renamed)"]
    report = ingest_records(
        db.session, records(renamed), taxonomy=default_taxonomy(), source="partner"
    )

    assert (report.updated, report.rejected) == (2, 1)
    assert [reject.row for reject in report.rejects] == [2]
    assert stored_names() == [
        "Alpha Grief Circle (renamed)",
        "Beta Grief Circle",  # the refused update left the stored row as it was
        "Gamma Grief Circle (renamed)",
    ]


def test_rows_written_again_one_by_one_are_stored_as_a_whole_batch_is(
    refusing_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="indexer.pipeline")
    taxonomy, pending = default_taxonomy(), GroupStatus.PENDING
    whole = ingest_records(
        db.session,
        records(["Zeta Grief Circle"]),
        taxonomy=taxonomy,
        source="clean",
        status=pending,
    )
    assert [r.getMessage() for r in caplog.records if "retry" in r.getMessage()] == []
    names = ["Alpha Grief Circle", REFUSED, "Gamma Grief Circle"]
    report = ingest_records(
        db.session, records(names), taxonomy=taxonomy, source="partner", status=pending
    )

    assert (whole.added, report.added, report.rejected) == (1, 2, 1)
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert retries == ["event=ingest_batch_retry_by_row reason=IntegrityError"]
    stored = db.session.execute(
        select(Group.name, Group.external_id, Group.source, Group.status, AuditEvent.actor)
        .join(AuditEvent, AuditEvent.group_uuid == Group.uuid)
        .order_by(Group.name)
    ).all()
    assert [tuple(row) for row in stored] == [
        ("Alpha Grief Circle", "row-1", "partner", pending, "import:partner"),
        ("Gamma Grief Circle", "row-3", "partner", pending, "import:partner"),
        ("Zeta Grief Circle", "row-1", "clean", pending, "import:clean"),
    ]


def test_a_refused_row_is_reported_in_row_order_with_the_database_s_own_words(
    refusing_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batches of 3: rows 1, 2 and 4 are written together (row 3 is rejected by validation
    # before), then row 5; the database refuses row 2 after row 3 was already reported.
    monkeypatch.setattr(pipeline, "BATCH", 3)
    names = ["Alpha Grief Circle", REFUSED, "Gamma Grief Circle", "Delta Grief Circle", "Echo"]
    rows = records(names)
    rows[2]["format"] = "no-such-format"
    report = ingest_records(db.session, rows, taxonomy=default_taxonomy(), source="partner")

    assert (report.added, report.rejected) == (3, 2)
    assert [(reject.path, reject.row, reject.field) for reject in report.rejects] == [
        ("partner", 2, "record"),  # records fed without a file are placed by their source
        ("partner", 3, "format"),
    ]
    assert report.rejects[0].reason == (
        'the database refused it (new row for relation "groups" violates check constraint '
        '"test_refuses_one")'
    )


def test_a_row_refused_in_the_last_partial_batch_is_reported_with_its_place(
    refusing_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "BATCH", 3)  # rows 1–3 a full batch, rows 4 and 5 the last
    names = ["Alpha Grief Circle", "Beta Grief Circle", "Gamma Grief Circle", "Delta", REFUSED]
    report = ingest_records(
        db.session, records(names), taxonomy=default_taxonomy(), source="partner"
    )

    assert (report.added, report.rejected) == (4, 1)
    assert [(reject.path, reject.row, reject.field) for reject in report.rejects] == [
        ("partner", 5, "record")
    ]
    assert db.session.scalar(select(func.count()).select_from(Group)) == 4
