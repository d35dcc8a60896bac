"""The search contract's fixtures: one hand-built corpus, indexed into each engine in turn.

`engine` is parametrized over the engines; `corpus` (one per engine per module) stores the
corpus below through the same validate → geocode → store path as `make_group`, syncs it into
a fresh index through the outbox, and offers `search(*pairs)` / `page(*pairs)` helpers plus
`expected(...)`, a plain-Python reference of the search semantics (docs/architecture.md) over
the corpus records (read from the raw records here, never from the search documents under test).
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
from werkzeug.datastructures import MultiDict

from clearinghouse import create_app
from clearinghouse.extensions import db
from clearinghouse.geocoding import geocode_listing
from clearinghouse.listings import validate_listing
from clearinghouse.models import Group
from clearinghouse.search.base import SearchBackend, SearchQuery, SearchResult
from clearinghouse.search.query import parse_search_args
from clearinghouse.search.service import SearchPage, run_search
from clearinghouse.store import apply_listing
from clearinghouse.taxonomy import Taxonomy, default_taxonomy
from indexer.sync import sync
from tests.conftest import app_config
from tests.contract.search_corpus import CHICAGO, CORPUS
from tests.services.elastic import ES_MAJORS

# Every engine runs the whole suite; Elasticsearch is a real node of each major, 8 and 9
# (tests/services/elastic.py), as `elasticsearch-8` and `elasticsearch-9`; the database engine
# a table in a real PostgreSQL (tests/services/postgres.py).  Where engines truly differ a
# test says so in a table keyed by engine (CORRECTS_TO_INDEX_WORDS: which ones correct
# misspellings to words only the index holds); order is asserted by tiers (a concern match
# above a mention, a name above a description), never among equally good matches, which bm25
# (embedded, Elasticsearch) and ts_rank (database) may order differently.
ENGINES = [
    "embedded",
    *(
        pytest.param(f"elasticsearch-{major}", marks=pytest.mark.elasticsearch)
        for major in ES_MAJORS
    ),
    pytest.param("database", marks=pytest.mark.postgres),
]


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

    major = int(engine.removeprefix("elasticsearch-"))
    url = request.getfixturevalue("elasticsearch_servers").url(major)
    elastic = ElasticBackend(url, f"contract-{uuid.uuid4().hex[:12]}", refresh=True)
    client_package = type(elastic.client).__module__.split(".")[0]
    assert (elastic.major, client_package) == (major, f"elasticsearch{major}"), "majors matched"
    return elastic


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


# The parts of the day (docs/api.md) by start hour (the rest is night), and weekday codes.
TIMES_OF_DAY = (("morning", 5, 12), ("afternoon", 12, 17), ("evening", 17, 21))
WEEKDAYS = {"MO": "mon", "TU": "tue", "WE": "wed", "TH": "thu", "FR": "fri", "SA": "sat"}
WEEKDAYS["SU"] = "sun"
# The search semantics: attendance=in-person also matches hybrid, and so does online.
ATTENDANCE = {"hybrid": ("hybrid", "in-person", "online")}


@dataclass(frozen=True)
class Reference:
    """What the contract says one corpus listing matches, read from its raw record."""

    id: int
    name_sort: str
    updated_at: str
    lat: float | None
    lon: float | None
    service_area: tuple[str, ...]
    values: dict[str, tuple[str, ...]]

    @property
    def has_place(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def attendance(self) -> tuple[str, ...]:
        return self.values["attendance"]

    def facet_values(self, facet: str) -> tuple[str, ...]:
        return self.values.get(facet, ())


def reference(record: dict[str, Any], group: Group, taxonomy: Taxonomy) -> Reference:
    """The facet values, place and service area of a raw corpus record, by the contract."""
    concerns: list[str] = []
    for slug in record["concerns"]:
        term = taxonomy.get(slug)
        assert term is not None, slug
        concerns += [value for value in (slug, term.parent) if value and value not in concerns]
    days: set[str] = set()
    times: set[str] = set()
    for meeting in record["meetings"]:
        if meeting["freq"] == "arrangement":
            continue
        days.update(WEEKDAYS[code[-2:]] for code in meeting["byday"])
        hour = int(meeting["start"].split(":")[0])
        times.add(next((t for t, start, end in TIMES_OF_DAY if start <= hour < end), "night"))
    attendance = record.get("attendance", "in-person")
    location = record.get("location") or {}
    placed = attendance in ("in-person", "hybrid") and location.get("lat") is not None
    return Reference(
        id=group.id,
        name_sort=record["name"].casefold(),
        updated_at=group.updated_at.isoformat(timespec="microseconds"),
        lat=location["lat"] if placed else None,
        lon=location["lon"] if placed else None,
        service_area=tuple(record.get("service_area", ())),
        values={
            "concern": tuple(concerns),
            "format": (record.get("format", "peer-led"),),
            "attendance": ATTENDANCE.get(attendance, (attendance,)),
            "day": tuple(sorted(days)),
            "time": tuple(sorted(times)),
            "language": tuple(record.get("languages", ["en"])),
            "cost": (record.get("cost", "free"),),
            "audience": tuple(record.get("audience", ())),
            "accessibility": tuple(record.get("accessibility", ())),
        },
    )


@dataclass
class Corpus:
    """The corpus stored, indexed in one engine, with its documents for reference answers."""

    engine: str
    app: Flask
    backend: SearchBackend
    ids: dict[str, int] = field(default_factory=dict)  # corpus key -> group id
    docs: dict[int, Reference] = field(default_factory=dict)  # group id -> reference (active)

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


def reference_filters(doc: Reference, query: SearchQuery, skip: str | None = None) -> bool:
    for facet, values in query.filters.items():
        if facet == skip:
            continue
        wanted = query.concern_filter if facet == "concern" else set(values)
        if not wanted & set(doc.facet_values(facet)):
            return False
    return True


def reference_match(doc: Reference, query: SearchQuery, skip: str | None = None) -> bool:
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
        for key, (status, record) in CORPUS.items():
            group = db.session.get(Group, built.ids[key])
            if status == "active" and group is not None:
                built.docs[group.id] = reference(record, group, taxonomy)
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
