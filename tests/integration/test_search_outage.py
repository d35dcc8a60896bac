"""A real Elasticsearch node killed during a loop of public, API and HSDS searches.

Production settings (Elasticsearch primary, the database's own engine as fallback): no request
fails while the node is dead; every search answered meanwhile is marked degraded (banner,
`meta.degraded`, `X-Search-Degraded`) and still finds the groups, an edit made during the
outage included; after the node is back the marks go away.  On SQLite the fallback is the
embedded engine, on PostgreSQL the `database` engine.  Every wait is a condition with a
deadline, never a timed assertion.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from clearinghouse import create_app
from clearinghouse.database import load_taxonomy, migrate
from clearinghouse.extensions import db
from clearinghouse.geocoding import geocode_listing
from clearinghouse.listings import validate_listing
from clearinghouse.search import DEGRADED_HEADER, get_backend, get_fallback
from clearinghouse.search.base import SearchUnavailable
from clearinghouse.store import apply_listing
from clearinghouse.taxonomy import default_taxonomy
from indexer.sync import rebuild, sync_fallback
from indexer.worker import apply_outbox, apply_outbox_to_fallback
from tests.api_support import new_key
from tests.conftest import app_config, sample_record
from tests.contract.test_elastic_ops import outage  # noqa: F401  (the node-killing fixture)

pytestmark = [pytest.mark.elasticsearch]

NAMES = ("Evening Grief Circle", "Tuesday Grief Group", "Widowed Friends Grief Support")
ADDED = "Bereaved Parents Grief Night"
URLS = ("/search?q=grief", "/api/v1/groups?q=grief&near=60614", "/hsds/services?search=grief")


@dataclass(frozen=True)
class Answer:
    url: str
    started: float
    status: int
    degraded: bool
    names: frozenset[str]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def outage_app(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    outage: tuple[str, Any],  # noqa: F811
) -> Iterator[tuple[Flask, Any]]:
    es_url, node = outage
    if request.param == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'clearinghouse.db'}"
    else:
        database_url = request.getfixturevalue("fresh_postgres_url")
    app = create_app(
        app_config(
            database_url,
            tmp_path,
            SEARCH_ENGINE="elasticsearch",
            ES_URL=es_url,
            ES_INDEX=f"outage-{uuid.uuid4().hex[:12]}",
            SEARCH_TIMEOUT=5.0,  # generous on a loaded test machine; a dead node refuses at once
            SEARCH_BREAKER_FAILURES=2,
            SEARCH_BREAKER_COOL_DOWN=0.5,
        )
    )
    migrate(app)
    with app.app_context():
        load_taxonomy(db.session(), default_taxonomy())
        db.session.commit()
        for name in NAMES:
            _store(name)
        rebuild(db.session(), get_backend(), default_taxonomy())
        fallback = get_fallback()
        assert fallback is not None
        assert fallback.name == ("embedded" if request.param == "sqlite" else "database")
        sync_fallback(db.session(), fallback, default_taxonomy())
        yield app, node
        db.session.remove()
        close = getattr(fallback, "close", None)
        if callable(close):
            close()
        db.engine.dispose()


def _store(name: str) -> None:
    validation = validate_listing(sample_record(name=name), default_taxonomy())
    assert validation.data is not None, validation.errors
    data, _notes = geocode_listing(validation.data)
    apply_listing(db.session, data, actor="test")
    db.session.commit()


class SearchLoop:
    """Public, API and HSDS searches one after another in a thread, until stopped."""

    def __init__(self, app: Flask, key: str) -> None:
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {key}"}
        self.answers: list[Answer] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SearchLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(120)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for url in URLS:
                    started = time.monotonic()
                    response = self.client.get(url, headers=self.headers)
                    body = response.get_data(as_text=True)
                    self.answers.append(
                        Answer(
                            url=url,
                            started=started,
                            status=response.status_code,
                            degraded=response.headers.get(DEGRADED_HEADER) == "1",
                            names=frozenset(n for n in (*NAMES, ADDED) if n in body),
                        )
                    )
        except BaseException as error:  # reported by the test
            self.errors.append(error)

    def searches_since(self, moment: float) -> list[Answer]:
        """Answers (page, API and HSDS: all search through the engine) started after `moment`."""
        return [a for a in list(self.answers) if a.started > moment]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def test_killing_elasticsearch_never_takes_search_down(
    outage_app: tuple[Flask, Any],
) -> None:
    app, node = outage_app
    client = app.test_client()
    with app.app_context(), SearchLoop(app, new_key()) as loop:
        began = time.monotonic()
        wait_for(lambda: len(loop.searches_since(began)) >= 6, "searches before the outage")
        before = loop.searches_since(began)
        assert not any(a.degraded for a in before)
        assert all(a.names == set(NAMES) for a in before)

        node.kill()
        killed = time.monotonic()
        wait_for(
            lambda: sum(a.degraded for a in loop.searches_since(killed)) >= 6,
            "degraded answers during the outage",
        )
        # A staff edit while the node is dead: the primary's outbox job fails as it always
        # has (the change waits), the fallback's job applies it, and searches find it.
        _store(ADDED)
        with pytest.raises(SearchUnavailable):
            apply_outbox(app)
        apply_outbox_to_fallback(app)
        edited = time.monotonic()
        wait_for(
            lambda: any(ADDED in a.names for a in loop.searches_since(edited)),
            "the edit made during the outage in the degraded answers",
        )
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.get_json()["status"] == "degraded"

        restarting = time.monotonic()  # the node may answer before start() returns
        node.start()
        wait_for(lambda: not apply_outbox(app), "the outbox applied to the restarted node")
        caught_up = time.monotonic()

        def from_elasticsearch_with_the_edit() -> list[Answer]:
            return [
                a for a in loop.searches_since(caught_up) if not a.degraded and ADDED in a.names
            ]

        wait_for(lambda: bool(from_elasticsearch_with_the_edit()), "answers from Elasticsearch")
        recovered = from_elasticsearch_with_the_edit()[0].started
        wait_for(lambda: len(loop.searches_since(recovered)) >= 9, "more answers after recovery")
        after = loop.searches_since(recovered)
        ready = client.get("/readyz")

    assert not loop.errors
    assert [a for a in loop.answers if a.status != 200] == []  # zero failed requests
    during = [a for a in loop.answers if killed < a.started < restarting]
    assert during and [a for a in during if not a.degraded] == []
    assert all(set(NAMES) <= a.names for a in during)
    assert not any(a.degraded for a in after)
    assert all(a.names == {*NAMES, ADDED} for a in after), [
        a for a in after if a.names != {*NAMES, ADDED}
    ]
    assert {a.url for a in during} == set(URLS)  # HSDS's search is served by the fallback too
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"
