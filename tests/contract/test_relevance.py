"""Relevance on every engine: lay queries find a right group in the first three.

The sample directory (`clearinghouse seed`) is indexed into each engine; every query of the
issue's set (`../shared/relevance/queries.json`) and of our own (`tests/data/
relevance_queries.json`) is searched through the service, as the page and the API search,
with no place and again near a city.  A query succeeds when one of the first three groups
(nearby, then online) carries one of its concerns.  Success@3 must stay at 95% or more, and
no answerable query may come back empty: near a place, a query is answerable when a search
for its concerns finds a group within the radius or online.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from clearinghouse import create_app
from clearinghouse.extensions import db
from clearinghouse.search.query import parse_search_args
from clearinghouse.search.relevance import LayQuery, evaluate, load_queries, page_concerns
from clearinghouse.search.service import run_search
from clearinghouse.taxonomy import default_taxonomy
from indexer.sync import rebuild
from tests.conftest import app_config
from tests.contract.conftest import make_backend

ROOT = Path(__file__).resolve().parents[2]
QUERY_SETS = {
    "issue": ROOT.parent / "shared" / "relevance" / "queries.json",
    "own": ROOT / "tests" / "data" / "relevance_queries.json",
}
PLACES = ["", "New York, NY"]
REQUIRED = 0.95


@pytest.fixture(scope="module")
def seeded_database(template_database: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample directory, stored once for the module (every engine indexes a copy)."""
    folder = tmp_path_factory.mktemp("seeded")
    path = folder / "clearinghouse.db"
    shutil.copy(template_database, path)
    app = create_app(app_config(f"sqlite:///{path}", folder))
    result = app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()
    return path


@pytest.fixture(scope="module")
def directory(
    engine: str,
    seeded_database: Path,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp(f"directory-{engine}")
    path = folder / "clearinghouse.db"
    shutil.copy(seeded_database, path)
    app = create_app(app_config(f"sqlite:///{path}", folder))
    backend = make_backend(engine, request, folder)
    app.extensions["search_backend"] = backend
    with app.app_context():
        rebuild(db.session(), backend, default_taxonomy())
        db.session.remove()
    yield app
    close = getattr(backend, "close", None)
    if callable(close):
        close()
    with app.app_context():
        db.engine.dispose()


def _search(app: Flask, near: str, *pairs: tuple[str, str]) -> tuple[list[tuple[str, ...]], int]:
    args = MultiDict([*pairs, *([("near", near)] if near else [])])
    with app.app_context():
        return page_concerns(
            run_search(parse_search_args(args, default_taxonomy())), default_taxonomy()
        )


def _answerable(app: Flask, near: str, query: LayQuery) -> bool:
    """Whether the directory has a group for the query's concerns within reach."""
    concerns = [("concern", slug) for slug in sorted(query.concerns)]
    return _search(app, near, *concerns)[1] > 0


@pytest.mark.parametrize("near", PLACES, ids=["no-place", "new-york"])
@pytest.mark.parametrize("name", sorted(QUERY_SETS))
def test_lay_queries_find_a_right_group_in_the_first_three(
    directory: Flask, engine: str, name: str, near: str
) -> None:
    queries = load_queries(QUERY_SETS[name])
    answerable = [query for query in queries if _answerable(directory, near, query)]
    if not near:
        assert len(answerable) == len(queries), "every query has groups somewhere"
    report = evaluate(answerable, lambda q: _search(directory, near, ("q", q)))
    label = f"{engine} {name} {'near ' + near if near else 'no place'}"
    summary = report.summary(label) + f"\n  ({len(queries) - len(answerable)} not answerable)"
    print(summary)
    assert [outcome.query.q for outcome in report.empties] == [], summary
    assert report.success_at_3 >= REQUIRED, summary


def test_the_query_sets_name_real_concerns_and_ours_has_at_least_100() -> None:
    taxonomy = default_taxonomy()
    for path in QUERY_SETS.values():
        for query in load_queries(path):
            assert query.concerns and all(slug in taxonomy for slug in query.concerns), query
    assert len(load_queries(QUERY_SETS["own"])) >= 100
