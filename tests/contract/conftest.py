"""The search contract's fixtures: one hand-built corpus, indexed into each engine in turn.

`engine` is parametrized over the engines; `corpus` (one per engine per module) stores the
corpus below through the same validate → geocode → store path as `make_group`, syncs it into
a fresh index through the outbox, and offers `search(*pairs)` / `page(*pairs)` helpers plus
`expected(...)`, a plain-Python reference of the search semantics (docs/architecture.md)
over the same documents.
`fresh_backend` is an empty index of the current engine for tests that change listings.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from geopy.distance import great_circle
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from clearinghouse import create_app
from clearinghouse.extensions import db
from clearinghouse.geocoding import geocode_listing
from clearinghouse.listings import validate_listing
from clearinghouse.models import Group
from clearinghouse.search.base import SearchBackend, SearchQuery, SearchResult
from clearinghouse.search.documents import build_document
from clearinghouse.search.query import parse_search_args
from clearinghouse.search.service import SearchPage, run_search
from clearinghouse.store import apply_listing
from clearinghouse.taxonomy import Taxonomy, default_taxonomy
from indexer.sync import sync
from tests.conftest import app_config
from tests.contract.search_corpus import CHICAGO, CORPUS

# Every engine runs the whole suite; Elasticsearch is a real node (tests/services/elastic.py).
# The database engine is PostgreSQL's own search (tsvector), the fallback while Elasticsearch
# is down; on SQLite the embedded engine plays that part.
ENGINES = [
    "embedded",
    pytest.param("elasticsearch", marks=pytest.mark.elasticsearch),
    pytest.param("database", marks=pytest.mark.postgres),
]
# What an engine can do beyond the shared contract; tests that depend on it say so.
# fuzzy: misspelt words still find groups.  The order of equally good text matches (ranking
# scores themselves) is engine-specific everywhere: bm25, Lucene's BM25, ts_rank.
CAPABILITIES = {
    "embedded": {"fuzzy": False},
    "elasticsearch": {"fuzzy": True},
    "database": {"fuzzy": False},
}


def make_backend(engine: str, request: pytest.FixtureRequest, folder: Path) -> SearchBackend:
    """An empty index of the engine under test."""
    if engine == "embedded":
        from clearinghouse.search.embedded import EmbeddedBackend

        return EmbeddedBackend(str(folder / f"index-{uuid.uuid4().hex[:8]}.db"))
    if engine == "database":
        from clearinghouse.search.database import DatabaseBackend

        database = DatabaseBackend(
            request.getfixturevalue("postgres_url"), f"contract_{uuid.uuid4().hex[:12]}"
        )
        request.addfinalizer(database.drop)
        return database
    from clearinghouse.search.elastic import ElasticBackend

    url = request.getfixturevalue("elasticsearch_url")
    backend: SearchBackend = ElasticBackend(url, f"contract-{uuid.uuid4().hex[:12]}", refresh=True)
    return backend


def store_listing(record: dict[str, Any], taxonomy: Taxonomy, status: str = "active") -> Group:
    """What `make_group` does: validate, geocode and store one listing (with its outbox row)."""
    validation = validate_listing(record, taxonomy)
    assert validation.data is not None, validation.errors
    data, _notes = geocode_listing(validation.data)
    change = apply_listing(db.session, data, actor="test", status=status)
    db.session.commit()
    return change.group


def parse(*pairs: tuple[str, str]) -> SearchQuery:
    return parse_search_args(MultiDict(list(pairs)), default_taxonomy())


@dataclass
class Corpus:
    """The corpus stored, indexed in one engine, with its documents for reference answers."""

    engine: str
    app: Flask
    backend: SearchBackend
    ids: dict[str, int] = field(default_factory=dict)  # corpus key -> group id
    docs: dict[int, Any] = field(default_factory=dict)  # group id -> ListingDoc (active only)

    def key(self, group_id: int) -> str:
        return next(key for key, value in self.ids.items() if value == group_id)

    def keys(self, ids: Any) -> set[str]:
        return {self.key(i) for i in ids}

    def search(self, *pairs: tuple[str, str]) -> SearchResult:
        with self.app.app_context():
            return self.backend.search(parse(*pairs))

    def page(self, *pairs: tuple[str, str]) -> SearchPage:
        with self.app.app_context():
            return run_search(parse(*pairs))

    def expected(self, *pairs: tuple[str, str]) -> set[str]:
        """Keys the search semantics say match (text aside): the reference answer."""
        query = parse(*pairs)
        assert not query.q, "the reference does not do text"
        return {self.key(d.id) for d in self.docs.values() if reference_match(d, query)}

    def expected_online(self, *pairs: tuple[str, str]) -> set[str]:
        query = parse(*pairs)
        assert query.near is not None
        region = query.near.region
        return {
            self.key(d.id)
            for d in self.docs.values()
            if not d.has_place
            and ("online" in d.attendance or "phone" in d.attendance)
            and (not d.service_area or region in d.service_area)
            and reference_filters(d, query)
        }


def reference_filters(doc: Any, query: SearchQuery, skip: str | None = None) -> bool:
    for facet, values in query.filters.items():
        if facet == skip:
            continue
        wanted = query.concern_filter if facet == "concern" else set(values)
        if not wanted & set(doc.facet_values(facet)):
            return False
    return True


def reference_match(doc: Any, query: SearchQuery, skip: str | None = None) -> bool:
    if query.near is not None:
        if not doc.has_place:
            return False
        miles = great_circle(query.near.point, (doc.lat, doc.lon)).miles
        if miles > query.radius_mi:
            return False
    return reference_filters(doc, query, skip)


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def corpus(
    engine: str,
    request: pytest.FixtureRequest,
    template_database: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Corpus]:
    folder = tmp_path_factory.mktemp(f"corpus-{engine}")
    path = folder / "clearinghouse.db"
    shutil.copy(template_database, path)
    app = create_app(app_config(f"sqlite:///{path}", folder))
    taxonomy = default_taxonomy()
    backend = make_backend(engine, request, folder)
    app.extensions["search_backend"] = backend
    with app.app_context():
        built = Corpus(engine=engine, app=app, backend=backend)
        for key, (status, record) in CORPUS.items():
            built.ids[key] = store_listing(record, taxonomy, status).id
        sync(db.session, backend, taxonomy)
        groups = db.session.scalars(select(Group).where(Group.status == "active")).all()
        built.docs = {group.id: build_document(group, taxonomy) for group in groups}
        db.session.remove()
    try:
        yield built
    finally:
        close = getattr(backend, "close", None)
        if callable(close):
            close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def fresh_backend(
    engine: str, request: pytest.FixtureRequest, app: Flask, tmp_path: Path
) -> Iterator[SearchBackend]:
    """An empty index of the engine under test, installed as the app's backend."""
    backend = make_backend(engine, request, tmp_path)
    app.extensions["search_backend"] = backend
    yield backend
    close: Callable[[], None] | None = getattr(backend, "close", None)
    if close is not None:
        close()


# -- helpers for the contract tests ---------------------------------------------------------

HERE = (("lat", str(CHICAGO[0])), ("lon", str(CHICAGO[1])))  # Chicago by coordinates
ALL = (("per_page", "100"),)
ACTIVE = {key for key, (status, _) in CORPUS.items() if status == "active"}


def keys_of(corpus: Corpus, *pairs: tuple[str, str]) -> set[str]:
    result = corpus.search(*pairs, *ALL)
    assert result.total == len(result.hits), "the corpus fits on one page of 100"
    return corpus.keys(hit.id for hit in result.hits)


def ordered_keys(corpus: Corpus, *pairs: tuple[str, str]) -> list[str]:
    return [corpus.key(hit.id) for hit in corpus.search(*pairs, *ALL).hits]
