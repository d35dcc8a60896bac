"""The background worker: the outbox reaches the search index without anyone running a command."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from clearinghouse.extensions import db
from clearinghouse.models import Group, Outbox, SyncState
from clearinghouse.search import get_backend
from clearinghouse.search.base import ListingDoc, SearchBackend, SearchUnavailable
from clearinghouse.staff.common import INLINE_SYNC_LIMIT
from clearinghouse.taxonomy import default_taxonomy
from indexer import sync as index_sync
from indexer.sync import rebuild
from indexer.sync import status as index_status
from indexer.worker import Worker, default_worker, start_in_thread
from tests.staff_support import editor_client, listing_form_data, post
from tests.web.test_serve_command import free_port, get

__all__ = ["editor_client"]  # fixtures
DEADLINE_S = 90  # generous: the machine is shared; nothing here asserts a duration


def wait_until(condition: Callable[[], bool], what: str, deadline_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {deadline_s} s: {what}"
        time.sleep(0.05)


@pytest.fixture
def running_worker(app: Flask) -> Iterator[Callable[[], Worker]]:
    """Start the app's default worker in a thread (when the test says so); stop it after."""
    started: list[tuple[Worker, threading.Thread]] = []

    def start() -> Worker:
        worker = default_worker(app)
        started.append((worker, start_in_thread(worker)))
        return worker

    yield start
    for worker, thread in started:
        worker.stop()
        thread.join(timeout=60)
        assert not thread.is_alive()


def indexed_ids(app: Flask) -> set[int]:
    return set(get_backend(app).indexed())


def pending(app: Flask) -> int:
    with app.app_context():
        count = index_status(db.session(), get_backend(app))["pending"]
        db.session.remove()
    return int(str(count))


def test_a_save_after_a_large_import_becomes_searchable_through_the_worker(
    app: Flask,
    editor_client: FlaskClient,
    make_group: Callable[..., Group],
    running_worker: Callable[[], Worker],
    caplog: Any,
) -> None:
    old = make_group(name="Morning Grief Circle")
    rebuild(db.session(), get_backend(app), default_taxonomy())
    # A large import left more changes in the outbox than a save may push inline.
    db.session.add_all(
        Outbox(group_uuid=old.uuid, group_id=old.id, action="upsert")
        for _ in range(INLINE_SYNC_LIMIT + 1)
    )
    db.session.commit()

    assert post(editor_client, "/staff/listings/new", listing_form_data()).status_code == 302
    new = db.session.scalar(select(Group).where(Group.name == "Tuesday Grief Circle"))
    assert new is not None
    assert post(editor_client, f"/staff/listings/{old.uuid}/archive").status_code == 302
    assert "event=index_refresh_skipped" in caplog.text  # the save left it to the worker
    assert new.id not in indexed_ids(app) and old.id in indexed_ids(app)

    running_worker()
    wait_until(lambda: pending(app) == 0, "the worker applies the whole backlog")
    assert indexed_ids(app) == {new.id}  # the new listing in, the archived one out


class OutageBackend:
    """The real embedded engine behind a switch: while `down`, every write fails like an outage."""

    def __init__(self, backend: SearchBackend) -> None:
        self.backend = backend
        self.down = True
        self.failed_writes = 0
        self.name = backend.name

    def _check(self) -> None:
        if self.down:
            self.failed_writes += 1
            raise SearchUnavailable("the search engine is down (test)")

    def upsert(self, docs: Iterable[ListingDoc]) -> None:
        self._check()
        self.backend.upsert(docs)

    def remove(self, ids: Iterable[int]) -> None:
        self._check()
        self.backend.remove(ids)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)


def test_the_worker_backs_off_while_the_engine_is_down_then_catches_up(
    app: Flask,
    make_group: Callable[..., Group],
    running_worker: Callable[[], Worker],
    caplog: Any,
) -> None:
    caplog.set_level(logging.INFO, logger="indexer.worker")
    outage = OutageBackend(get_backend(app))
    app.extensions["search_backend"] = outage
    worker = running_worker()
    job = worker.jobs[0]
    job.max_backoff = 0.5  # the real default is a minute; the growth is what is checked
    groups = [make_group(name=f"Grief Circle {n}") for n in range(3)]

    wait_until(lambda: job.failures >= 3, "three failed tries while the engine is down")
    assert job.backoff() > 0  # it waits between tries instead of spinning
    assert outage.failed_writes == job.failures or outage.failed_writes >= 3
    assert pending(app) == 3  # nothing lost: the changes wait in the outbox
    assert "event=worker_job_failed job=outbox" in caplog.text

    outage.down = False
    wait_until(lambda: pending(app) == 0, "the worker catches up once the engine is back")
    assert indexed_ids(app) == {group.id for group in groups}
    wait_until(lambda: job.failures == 0, "the job's failure count resets")
    assert "event=worker_job_recovered job=outbox" in caplog.text


def test_a_failing_job_does_not_stop_the_others(app: Flask) -> None:
    worker = Worker(app)
    runs: list[str] = []

    def broken(_app: Flask) -> bool:
        runs.append("broken")
        raise RuntimeError("always fails")

    def healthy(_app: Flask) -> bool:
        runs.append("healthy")
        if runs.count("healthy") >= 3:
            worker.stop()
        return False

    worker.add("broken", broken, every=0.01, max_backoff=0.01)
    worker.add("healthy", healthy, every=0.01)
    thread = start_in_thread(worker)
    thread.join(timeout=DEADLINE_S)
    assert not thread.is_alive()
    assert runs.count("healthy") == 3 and runs.count("broken") >= 1


def test_a_long_job_in_a_lane_of_its_own_holds_up_no_other_job(app: Flask) -> None:
    """A fallback's first rebuild (minutes at national scale) must not keep edits out of the
    primary index: the outbox goes on while it runs."""
    worker = Worker(app)
    long_job_started, long_job_may_end = threading.Event(), threading.Event()
    outbox_runs: list[bool] = []

    def long_rebuild(_app: Flask) -> bool:
        long_job_started.set()
        long_job_may_end.wait(DEADLINE_S)
        return False

    def outbox(_app: Flask) -> bool:
        if long_job_started.is_set() and not long_job_may_end.is_set():
            outbox_runs.append(True)
        return False

    worker.add("slow-fallback", long_rebuild, every=60, lane="fallback")
    worker.add("outbox", outbox, every=0.01)
    thread = start_in_thread(worker)
    try:
        assert long_job_started.wait(DEADLINE_S)
        wait_until(lambda: len(outbox_runs) >= 3, "the outbox runs while the long job runs")
    finally:
        long_job_may_end.set()
        worker.stop()
        thread.join(timeout=DEADLINE_S)
    assert not thread.is_alive()


def server_env(app: Flask) -> dict[str, str]:
    return {
        **os.environ,
        "CLEARINGHOUSE_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "CLEARINGHOUSE_INDEX_PATH": app.config["INDEX_PATH"],
        "CLEARINGHOUSE_SEARCH": "embedded",
        "CLEARINGHOUSE_SECRET_KEY": "worker-test",
    }


CLI = [sys.executable, "-c", "from clearinghouse.cli import main; main()"]


def test_the_worker_command_applies_the_outbox_and_stops_cleanly_on_sigterm(
    app: Flask, make_group: Callable[..., Group]
) -> None:
    get_backend(app)  # the index file exists, empty
    group = make_group(name="Evening Grief Circle")  # committed, never synced
    process = subprocess.Popen(
        [*CLI, "worker"], env=server_env(app), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_until(
            lambda: process.poll() is not None or group.id in indexed_ids(app),
            "the worker process indexes the committed listing",
        )
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 0, output
    assert "Worker stopped." in output


def test_serve_runs_the_worker_in_process_on_the_embedded_engine(
    app: Flask, make_group: Callable[..., Group]
) -> None:
    get_backend(app)
    port = free_port()
    command = [*CLI, "serve", "--port", str(port), "--workers", "2", "--threads", "2"]
    server = subprocess.Popen(
        command, env=server_env(app), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            assert server.poll() is None, server.communicate()[0]
            try:
                return get(f"{base}/healthz")[0] == 200
            except OSError:
                return False

        wait_until(answers, "serve answers")
        group = make_group(name="Evening Grief Circle")  # committed here, never synced here
        wait_until(lambda: group.id in indexed_ids(app), "serve's own loop indexes the listing")
        assert "Evening Grief Circle" in get(f"{base}/search?q=grief")[1]
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=60)[0].decode()
    assert server.returncode == 0, output
    assert output.count("event=worker_in_process") == 1  # one process of the two runs it


def test_an_engine_position_another_process_made_meanwhile_is_used_not_refused(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild looks for its position, the worker makes it, then the rebuild makes it too:
    the second maker takes the row the first made (it was an IntegrityError)."""
    with app.app_context():
        with Session(db.engine) as worker_session:
            worker_session.add(SyncState(name="race", last_seq=7))
            worker_session.commit()
        session = db.session()
        looked = session.get

        def before_the_worker_committed(model: Any, key: Any, **kw: Any) -> Any:
            monkeypatch.setattr(session, "get", looked)  # only the first look is too early
            return None

        monkeypatch.setattr(session, "get", before_the_worker_committed)
        state = index_sync._state(session, "race")
        assert (state.name, state.last_seq) == ("race", 7)
        session.rollback()
