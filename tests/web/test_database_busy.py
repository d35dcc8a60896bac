"""A busy database: readers never wait on SQLite, writers get a 503 to retry, never a 500."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from clearinghouse import create_app
from clearinghouse.accounts import create_api_key
from clearinghouse.extensions import db
from clearinghouse.models import Group
from clearinghouse.search import get_backend
from clearinghouse.taxonomy import default_taxonomy
from indexer import pipeline
from indexer.pipeline import ingest_records
from indexer.sync import rebuild
from tests.conftest import app_config, sample_record
from tests.staff_support import editor_client, listing_form_data, post, signed_in_client, version_in

__all__ = ["editor_client"]  # fixtures


def database_path(app: Flask) -> str:
    path = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    assert path
    return path


@pytest.fixture
def other_writer(app: Flask) -> Iterator[sqlite3.Connection]:
    """A second program with its own connection to the same file (autocommit unless told)."""
    connection = sqlite3.connect(database_path(app), timeout=0, isolation_level=None)
    yield connection
    if connection.in_transaction:
        connection.execute("ROLLBACK")
    connection.close()


@pytest.fixture
def grief_group(app: Flask, make_group: Callable[..., Group]) -> Group:
    group = make_group(name="Evening Grief Circle")
    rebuild(db.session(), get_backend(app), default_taxonomy())
    db.session.remove()
    db.engine.dispose()  # the next connections are opened with the app's settings
    return group


def test_the_main_database_is_in_wal_mode_with_a_busy_timeout(app: Flask) -> None:
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_pages_search_and_api_answer_while_another_program_holds_the_write_lock(
    app: Flask, client: FlaskClient, grief_group: Group, other_writer: sqlite3.Connection
) -> None:
    _key_row, key = create_api_key(db.session(), "partner")
    db.session.commit()
    auth = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/groups", headers=auth).status_code == 200  # its last use noted
    other_writer.execute("BEGIN EXCLUSIVE")  # what a long import held for minutes
    other_writer.execute("UPDATE sync_state SET last_seq = last_seq")
    assert client.get("/search?q=grief").status_code == 200
    assert client.get(f"/groups/{grief_group.slug}").status_code == 200
    api = client.get("/api/v1/groups?q=grief", headers=auth)
    assert api.status_code == 200, api.get_data(as_text=True)


def test_a_save_while_the_database_is_busy_is_a_503_to_retry_and_changes_nothing(
    app: Flask,
    editor_client: FlaskClient,
    grief_group: Group,
    other_writer: sqlite3.Connection,
) -> None:
    app.config["SQLITE_BUSY_TIMEOUT_MS"] = 50  # read at connect: waits 50 ms, not 5 s
    db.session.remove()
    db.engine.dispose()
    form = listing_form_data(name="Renamed Circle")
    token_page = editor_client.get(f"/staff/listings/{grief_group.uuid}/edit")
    assert token_page.status_code == 200
    form["version"] = version_in(token_page.get_data(as_text=True)) or ""
    other_writer.execute("BEGIN IMMEDIATE")
    response = post(editor_client, f"/staff/listings/{grief_group.uuid}/edit", form)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "busy for a moment" in response.get_data(as_text=True)
    other_writer.execute("ROLLBACK")
    assert db.session.get(Group, grief_group.id).name == "Evening Grief Circle"  # type: ignore[union-attr]
    # The same save goes through once the other writer is done.
    assert post(editor_client, f"/staff/listings/{grief_group.uuid}/edit", form).status_code == 302


def test_an_api_request_that_must_write_while_busy_is_a_problem_json_503(
    app: Flask, client: FlaskClient, grief_group: Group, other_writer: sqlite3.Connection
) -> None:
    _key_row, key = create_api_key(db.session(), "partner")  # never used: the first use writes
    db.session.commit()
    app.config["SQLITE_BUSY_TIMEOUT_MS"] = 50
    db.session.remove()
    db.engine.dispose()
    other_writer.execute("BEGIN IMMEDIATE")
    response = client.get("/api/v1/groups", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["type"] == "urn:clearinghouse:problem:database-busy"


def test_an_unreachable_postgresql_is_a_503_page_not_a_500(tmp_path: Path) -> None:
    broken = create_app(app_config("postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path))
    with broken.app_context():
        client = broken.test_client()
        page = client.get("/groups/evening-grief-circle")
        api = client.get("/api/v1/groups", headers={"Authorization": "Bearer chk_abc_def"})
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert api.status_code == 503 and api.mimetype == "application/problem+json"


def test_a_dry_run_never_holds_the_write_lock_between_batches(
    app: Flask, taxonomy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "BATCH", 2)
    probes: list[str] = []

    def records() -> Iterator[dict[str, Any]]:
        for n in range(1, 7):
            if n > 2:  # batches already checked: can another program write now?
                probe = sqlite3.connect(database_path(app), timeout=0, isolation_level=None)
                try:
                    probe.execute("BEGIN IMMEDIATE")
                    probe.execute("ROLLBACK")
                    probes.append("wrote")
                except sqlite3.OperationalError as error:
                    probes.append(str(error))
                finally:
                    probe.close()
            yield sample_record(name=f"Grief Circle {n}", external_id=str(n))

    report = ingest_records(
        db.session, records(), taxonomy=taxonomy, source="partner", dry_run=True
    )
    assert report.added == 6  # the counts of a real run
    assert probes == ["wrote"] * 4
    assert db.session.query(Group).count() == 0  # and nothing was written


def test_the_error_page_survives_a_failed_flush_for_a_signed_in_user(
    app: Flask, make_group: Callable[..., Group]
) -> None:
    """A view whose flush fails leaves the session needing a rollback; the 500 page still shows."""
    taken = make_group(name="Evening Grief Circle")

    def duplicate_slug() -> str:
        db.session.add(Group(slug=taken.slug, name="Copy", status="active"))
        db.session.flush()  # IntegrityError: the slug is taken
        return "unreachable"

    app.add_url_rule("/staff/duplicate-slug", view_func=duplicate_slug)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as production does, not re-raise
    client = signed_in_client(app, "editor@example.org", "editor")
    response = client.get("/staff/duplicate-slug")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
