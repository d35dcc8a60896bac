"""The change feed on SQLite and PostgreSQL, including writers that commit out of order."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from clearinghouse.extensions import db
from clearinghouse.listings import validate_listing
from clearinghouse.models import Group, Outbox
from clearinghouse.store import apply_listing, delete_group, set_status
from clearinghouse.taxonomy import default_taxonomy
from tests.api_support import Partner, create, new_key, public_directory
from tests.conftest import sample_record

WAIT_SECONDS = 30  # a bound for waiting on another thread, never an assertion about speed


def test_replay_matches_the_directory_on_each_database(store_app: Flask) -> None:
    client = store_app.test_client()
    partner = Partner(client, {"Authorization": f"Bearer {new_key()}"}, limit=2)
    session = db.session()
    groups = [create(session, name=f"Circle {n}") for n in range(4)]
    partner.fetch_page()
    set_status(session, groups[0], "archived", actor="test")
    session.commit()
    partner.fetch_page()
    delete_group(session, groups[1], actor="test")
    session.commit()
    create(session, name="Circle late")
    partner.catch_up()
    assert partner.snapshot() == public_directory()
    assert partner.seen_seqs == sorted(partner.seen_seqs)


@pytest.mark.postgres
def test_a_later_commit_cannot_overtake_an_earlier_one(
    fresh_postgres_url: str, tmp_path: Any
) -> None:
    """Writer A takes a seq and stays open; writer B must wait, so a partner never skips A."""
    from clearinghouse import create_app
    from clearinghouse.database import load_taxonomy, migrate
    from tests.conftest import app_config

    app = create_app(app_config(fresh_postgres_url, tmp_path))
    migrate(app)
    with app.app_context():
        load_taxonomy(db.session(), default_taxonomy())
        db.session.commit()
        partner = Partner(app.test_client(), {"Authorization": f"Bearer {new_key()}"})
        release_a = threading.Event()
        a_written = threading.Event()
        errors: list[BaseException] = []

        def writer_a() -> None:
            try:
                with app.app_context(), Session(db.engine) as session:
                    validation = validate_listing(
                        sample_record(name="Writer A"), default_taxonomy()
                    )
                    assert validation.data is not None
                    apply_listing(session, validation.data, actor="a")
                    session.flush()
                    a_written.set()
                    release_a.wait(WAIT_SECONDS)
                    session.commit()
            except BaseException as error:  # reported by the main thread
                errors.append(error)
                a_written.set()

        def writer_b() -> None:
            try:
                with app.app_context(), Session(db.engine) as session:
                    create(session, name="Writer B")
            except BaseException as error:
                errors.append(error)

        thread_a = threading.Thread(target=writer_a)
        thread_b = threading.Thread(target=writer_b)
        try:
            thread_a.start()
            assert a_written.wait(WAIT_SECONDS)
            thread_b.start()
            _wait_for_blocked_advisory_lock()
            partner.catch_up()
            assert partner.groups == {}  # neither is visible: B waits behind A
            release_a.set()
            thread_a.join(WAIT_SECONDS)
            thread_b.join(WAIT_SECONDS)
            assert not errors, errors
            partner.catch_up()
            names = [group["name"] for group in partner.groups.values()]
            assert sorted(names) == ["Writer A", "Writer B"]
            assert partner.snapshot() == public_directory()
            a_uuid = db.session.scalar(select(Group.uuid).where(Group.name == "Writer A"))
            assert next(iter(partner.groups)) == a_uuid  # A's change came first
        finally:
            # Even after a failure: no writer left holding a transaction or a lock, no
            # connection left open on the database the fixture drops.
            release_a.set()
            for thread in (thread_a, thread_b):
                if thread.is_alive():
                    thread.join(WAIT_SECONDS)
            db.session.remove()
            db.engine.dispose()


def _wait_for_blocked_advisory_lock() -> None:
    """Until writer B is queued on the outbox lock (bounded; not a timing assertion)."""
    import time

    deadline = time.monotonic() + WAIT_SECONDS
    query = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    with db.engine.connect() as connection:
        while time.monotonic() < deadline:
            if connection.execute(query).scalar():
                return
            time.sleep(0.05)
    raise AssertionError("writer B never queued on the outbox lock")


def test_feed_and_export_keep_key_order_when_the_table_on_disk_does_not(
    store_app: Flask,
) -> None:
    """On PostgreSQL a row rewritten (an update, a vacuum's reuse of space) is read back out of
    key order by a scan without ORDER BY: the keyset pages of the feed and the export must
    not depend on the order rows lie on disk."""
    client = store_app.test_client()
    headers = {"Authorization": f"Bearer {new_key()}"}
    session = db.session()
    groups = [create(session, name=f"Circle {n}") for n in range(6)]
    seqs = list(session.scalars(select(Outbox.seq).order_by(Outbox.seq)))
    assert len(seqs) == 6
    # A no-op rewrite of the first three outbox rows and groups: new row versions, at the end.
    session.execute(text("UPDATE outbox SET seq = seq WHERE seq <= :seq"), {"seq": seqs[2]})
    session.execute(
        text("UPDATE groups SET name = name WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"ids": [group.id for group in groups[:3]]},
    )
    session.commit()

    partner = Partner(client, headers, limit=2)
    partner.catch_up()
    assert partner.seen_seqs == seqs

    export = client.get("/api/v1/export.ndjson", headers=headers)
    uuids = [json.loads(line)["id"] for line in export.get_data(as_text=True).splitlines()]
    assert uuids == [group.uuid for group in sorted(groups, key=lambda group: group.id)]
