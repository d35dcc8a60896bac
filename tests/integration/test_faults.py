"""Faults: the database or the search engine goes away for a while, and the site copes.

- PostgreSQL stopped (pg_ctl, fast shutdown): pages and APIs answer 503 with Retry-After
  (a page, or problem+json), never a 500; when it is back the same app answers again.
- Elasticsearch killed during a stream of staff edits and during a rebuild: every save goes
  through, the worker catches up, and the index holds exactly the database's active listings.
- A 3-node Elasticsearch cluster (one replica): a node killed during a search loop and a sync
  fails no search, and the index equals the database once the node is back.

Every wait is on a condition with a generous deadline; nothing asserts how long a thing took.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from clearinghouse import create_app
from clearinghouse.database import load_taxonomy, migrate
from clearinghouse.extensions import db
from clearinghouse.models import Group, GroupStatus
from clearinghouse.search import get_backend
from clearinghouse.search.base import ListingDoc, SearchUnavailable
from clearinghouse.search.elastic import ElasticBackend
from clearinghouse.store import mark_verified
from clearinghouse.taxonomy import default_taxonomy
from indexer.pipeline import ingest_records, load_sample_listings
from indexer.sync import rebuild
from indexer.worker import Worker, apply_outbox, start_in_thread
from tests.api_support import new_key
from tests.conftest import app_config
from tests.services.common import start_or_fail
from tests.services.elastic import ElasticsearchCluster, ElasticsearchServer
from tests.services.postgres import PostgresServer
from tests.staff_support import listing_form_data, post, signed_in_client
from tests.web.test_staff_concurrency import edit_form

DEADLINE_S = 240  # generous: two cores shared by many test runs; no duration is asserted
LISTINGS = 150


def wait_until(condition: Callable[[], bool], what: str, deadline_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {deadline_s} s: {what}"
        time.sleep(0.2)


def seed_listings(count: int = LISTINGS) -> None:
    ingest_records(
        db.session,
        islice(load_sample_listings(), count),
        taxonomy=default_taxonomy(),
        source="sample",
    )


def active_in_database() -> dict[int, str]:
    """What the index must hold: every active listing at its current version."""
    db.session.expire_all()
    rows = db.session.execute(
        select(Group.id, Group.updated_at).where(Group.status == GroupStatus.ACTIVE)
    )
    result = {id_: updated.isoformat(timespec="microseconds") for id_, updated in rows}
    db.session.rollback()
    return result


def index_matches_database(backend: ElasticBackend) -> bool:
    try:
        backend.client.indices.refresh(index=backend.alias)
        return backend.indexed() == active_in_database()
    except SearchUnavailable:
        return False


@pytest.fixture
def outbox_worker(app_on_elastic: Flask) -> Iterator[Worker]:
    """The real outbox job in a background loop, backing off at most 2 s (production: 60)."""
    worker = Worker(app_on_elastic)
    worker.add("outbox", apply_outbox, every=0.5, max_backoff=2.0)
    thread = start_in_thread(worker)
    yield worker
    worker.stop()
    thread.join(timeout=60)


# -- PostgreSQL --------------------------------------------------------------------------------


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own, so stopping it disturbs no other test."""
    server = start_or_fail("PostgreSQL", lambda: PostgresServer().start())
    yield server
    server.stop()


@pytest.mark.postgres
def test_postgresql_down_answers_503_then_the_same_app_recovers(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    app = create_app(app_config(own_postgres.url, tmp_path))
    migrate(app)
    with app.app_context():
        load_taxonomy(db.session(), default_taxonomy())
        db.session.commit()
        seed_listings(20)
        rebuild(db.session(), get_backend(), default_taxonomy())
        group = db.session.scalars(select(Group).order_by(Group.id)).first()
        assert group is not None
        pages = [f"/groups/{group.slug}", "/search?q=support", "/staff/listings"]
        headers = {"Authorization": f"Bearer {new_key()}"}
        editor = signed_in_client(app, "editor@example.org", "editor")
        form = edit_form(editor, group, name="Renamed While Down")
        form["csrf_token"] = _csrf_of(editor, f"/staff/listings/{group.uuid}/edit")
        for url in pages:
            assert editor.get(url).status_code == 200, url
        db.session.remove()

        own_postgres.halt()
        for url in pages:
            response = editor.get(url)
            assert response.status_code == 503, (url, response.get_data(as_text=True)[:300])
            assert response.headers["Retry-After"] == "5" and response.mimetype == "text/html"
        api = editor.get("/api/v1/groups?q=support", headers=headers)
        assert api.status_code == 503 and api.mimetype == "application/problem+json"
        save = editor.post(f"/staff/listings/{group.uuid}/edit", data=form)
        assert save.status_code == 503
        db.session.remove()

        own_postgres.start()
        wait_until(
            lambda: editor.get(pages[0]).status_code == 200, "pages answer again, no restart"
        )
        for url in pages:
            assert editor.get(url).status_code == 200, url
        assert editor.get("/api/v1/groups?q=support", headers=headers).status_code == 200
        again = edit_form(editor, group, name="Renamed After")
        assert post(editor, f"/staff/listings/{group.uuid}/edit", again).status_code == 302
        db.session.expire_all()
        assert db.session.get(Group, group.id).name == "Renamed After"  # type: ignore[union-attr]
        db.session.remove()
        db.engine.dispose()


def _csrf_of(client: FlaskClient, path: str) -> str:
    import re

    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match is not None
    return match[1]


# -- Elasticsearch, one node -------------------------------------------------------------------


def _app_on(es_url: str, template_database: Path, tmp_path: Path, **extra: Any) -> Iterator[Flask]:
    path = tmp_path / "clearinghouse.db"
    shutil.copy(template_database, path)
    config = app_config(
        f"sqlite:///{path}",
        tmp_path,
        SEARCH_ENGINE="elasticsearch",
        ES_URL=es_url,
        ES_INDEX=f"faults-{uuid.uuid4().hex[:10]}",
        # Saves, the worker and a rebuild write at once on a loaded machine; a writer that
        # waits longer than this answers 503, which is not what this test is about.
        SQLITE_BUSY_TIMEOUT_MS=60_000,
        **extra,
    )
    app = create_app(config)
    with app.app_context():
        yield app
        backend = get_backend(app)
        if isinstance(backend, ElasticBackend):
            names = list(backend.client.indices.get(index=f"{backend.alias}-*"))
            if names:  # deletes must name their indices (action.destructive_requires_name)
                backend.client.indices.delete(index=",".join(names))
            backend.close()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def es_node(elasticsearch_server: ElasticsearchServer | None) -> Iterator[ElasticsearchServer]:
    if elasticsearch_server is None:
        pytest.fail("the fault tests kill the managed node; unset CLEARINGHOUSE_ES_URL")
    yield elasticsearch_server
    elasticsearch_server.start()  # whatever happened, later tests need it


@pytest.fixture
def app_on_elastic(
    es_node: ElasticsearchServer, template_database: Path, tmp_path: Path
) -> Iterator[Flask]:
    yield from _app_on(es_node.url, template_database, tmp_path)


class PausedRebuild:
    """Runs a rebuild in a thread that stops half-way until told to go on."""

    def __init__(self, app: Flask, backend: ElasticBackend, after: int) -> None:
        self.reached = threading.Event()
        self.resume = threading.Event()
        self.error: BaseException | None = None
        real_rebuild = backend.rebuild

        def paused_rebuild(docs: Any) -> int:
            def pausing() -> Iterator[ListingDoc]:
                for number, doc in enumerate(docs):
                    if number == after:
                        self.reached.set()
                        self.resume.wait(DEADLINE_S)
                    yield doc

            return real_rebuild(pausing())

        self.backend = backend
        backend.rebuild = paused_rebuild  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self._run, args=(app,))

    def _run(self, app: Flask) -> None:
        with app.app_context():
            try:
                rebuild(db.session(), self.backend, default_taxonomy())
            except BaseException as error:
                self.error = error
            finally:
                db.session.remove()


@pytest.mark.elasticsearch
def test_elasticsearch_killed_during_edits_and_a_rebuild_loses_no_save(
    app_on_elastic: Flask, es_node: ElasticsearchServer, outbox_worker: Worker
) -> None:
    seed_listings()
    backend = get_backend(app_on_elastic)
    assert isinstance(backend, ElasticBackend)
    rebuild(db.session(), backend, default_taxonomy())
    editor = signed_in_client(app_on_elastic, "editor@example.org", "editor")
    groups = list(db.session.scalars(select(Group).order_by(Group.id)))
    db.session.remove()
    edits = iter(groups)

    def save_edits(count: int, label: str) -> None:
        for _ in range(count):
            group = next(edits)
            form = edit_form(editor, group, name=f"{group.name} ({label})")
            response = post(editor, f"/staff/listings/{group.uuid}/edit", form)
            assert response.status_code == 302, response.get_data(as_text=True)[:500]

    save_edits(5, "before")
    paused = PausedRebuild(app_on_elastic, backend, after=LISTINGS // 2)
    paused.thread.start()
    assert paused.reached.wait(DEADLINE_S), "the rebuild never got half-way"

    es_node.kill()
    paused.resume.set()
    save_edits(20, "while down")
    archived = next(edits)
    assert post(editor, f"/staff/listings/{archived.uuid}/archive").status_code == 302
    created = post(editor, "/staff/listings/new", listing_form_data(name="Made While Down"))
    assert created.status_code == 302
    paused.thread.join(DEADLINE_S)
    assert isinstance(paused.error, SearchUnavailable), paused.error

    es_node.start()
    save_edits(5, "after")
    wait_until(lambda: index_matches_database(backend), "the worker brings the index level")
    assert archived.id not in backend.indexed()
    made = db.session.scalar(select(Group.id).where(Group.name == "Made While Down"))
    assert made in backend.indexed()


# -- Elasticsearch, a cluster of three ---------------------------------------------------------


@pytest.fixture
def es_cluster() -> Iterator[ElasticsearchCluster]:
    cluster = start_or_fail(
        "a 3-node Elasticsearch cluster", lambda: ElasticsearchCluster(3).start()
    )
    yield cluster
    cluster.close()


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def _primary_node(cluster: ElasticsearchCluster, index: str) -> int:
    """Which node holds the index's primary shard (the one to kill)."""
    live = next(node for node in cluster.nodes if node.running)
    shards = _get_json(f"{live.url}/_cat/shards/{index}?format=json")
    name = next(shard["node"] for shard in shards if shard["prirep"] == "p")
    return next(number for number, node in enumerate(cluster.nodes) if node.node_name == name)


def _wait_green(cluster: ElasticsearchCluster, index: str) -> None:
    def green() -> bool:
        live = next(node for node in cluster.nodes if node.running)
        try:
            health = _get_json(f"{live.url}/_cluster/health/{index}?timeout=5s")
        except OSError:
            return False
        return health["status"] == "green"

    wait_until(green, f"{index} is green (its replica allocated)")


@pytest.mark.elasticsearch
def test_a_cluster_node_killed_during_searches_and_a_sync_fails_no_search(
    es_cluster: ElasticsearchCluster, template_database: Path, tmp_path: Path
) -> None:
    urls = ",".join(es_cluster.urls)
    for app in _app_on(urls, template_database, tmp_path, ES_REPLICAS=1):
        _kill_a_node_under_load(app, es_cluster)


def _kill_a_node_under_load(app: Flask, cluster: ElasticsearchCluster) -> None:
    seed_listings()
    backend = get_backend(app)
    assert isinstance(backend, ElasticBackend)
    rebuild(db.session(), backend, default_taxonomy())
    index = next(iter(backend.client.indices.get_alias(name=backend.alias)))
    _wait_green(cluster, index)
    active = len(active_in_database())
    headers = {"Authorization": f"Bearer {new_key()}"}

    stop = threading.Event()
    answers: list[tuple[int, int | None]] = []

    def search_loop() -> None:
        client = app.test_client()
        while not stop.is_set():
            response = client.get("/api/v1/groups?per_page=5", headers=headers)
            body = response.get_json(silent=True) or {}
            answers.append((response.status_code, body.get("meta", {}).get("total")))
            page = client.get("/search?q=support")
            answers.append((page.status_code, None))

    searcher = threading.Thread(target=search_loop)
    searcher.start()
    wait_until(lambda: len(answers) >= 10, "the search loop is running")

    def verify_loop() -> None:  # staff re-verifying listings: a steady stream of changes
        with app.app_context():
            ids = list(db.session.scalars(select(Group.id).order_by(Group.id)))
            number = 0
            while not stop.is_set():
                group = db.session.get(Group, ids[number % len(ids)])
                assert group is not None
                mark_verified(db.session, group, actor="test")
                db.session.commit()
                number += 1
                time.sleep(0.05)
            db.session.remove()

    worker = Worker(app)
    worker.add("outbox", apply_outbox, every=0.5, max_backoff=2.0)
    victim = _primary_node(cluster, index)
    threads = [threading.Thread(target=verify_loop), start_in_thread(worker)]
    threads[0].start()
    try:
        wait_until(lambda: len(answers) >= 20, "the loops are running")
        cluster.kill(victim)
        seen = len(answers)
        wait_until(lambda: len(answers) >= seen + 40, "searches go on without the node")
        cluster.revive(victim)
        seen = len(answers)
        wait_until(lambda: len(answers) >= seen + 10, "searches go on with the node back")
    finally:
        stop.set()
        searcher.join(DEADLINE_S)
        threads[0].join(DEADLINE_S)
    try:
        wait_until(lambda: index_matches_database(backend), "the index equals the database")
        _wait_green(cluster, index)
    finally:
        worker.stop()
        threads[1].join(60)
    failed = [answer for answer in answers if answer[0] != 200]
    assert not failed, f"{len(failed)} of {len(answers)} searches failed: {failed[:5]}"
    totals = {total for _status, total in answers if total is not None}
    assert totals == {active}, totals
