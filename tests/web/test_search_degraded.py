"""Elasticsearch unreachable (a port nothing listens on): searches are answered by the database's
own engine and say so; with the fallback switched off they are a 503, as before.

The node-killing version of this, with a real cluster, is tests/integration/test_search_outage.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from clearinghouse import create_app
from clearinghouse.extensions import db
from clearinghouse.models import Group
from clearinghouse.search import DEGRADED_HEADER, get_backend, get_fallback
from clearinghouse.search.embedded import EmbeddedBackend
from clearinghouse.search.fallback import BreakerState
from indexer.worker import apply_outbox_to_fallback, default_worker
from tests.api_support import new_key
from tests.conftest import app_config, sample_record
from tests.services.common import free_port

BANNER = "Results may be incomplete right now"


def elastic_app(template_database: Path, tmp_path: Path, **extra: object) -> Flask:
    path = tmp_path / "clearinghouse.db"
    shutil.copy(template_database, path)
    return create_app(
        app_config(
            f"sqlite:///{path}",
            tmp_path,
            SEARCH_ENGINE="elasticsearch",
            ES_URL=f"http://127.0.0.1:{free_port()}",  # nothing listens: refused at once
            ES_INDEX="clearinghouse-groups",
            SEARCH_BREAKER_FAILURES=2,
            **extra,
        )
    )


@pytest.fixture
def down_app(template_database: Path, tmp_path: Path) -> Iterator[Flask]:
    app = elastic_app(template_database, tmp_path)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def grief_group(down_app: Flask, make_group_in: Callable[..., Group]) -> Group:
    group = make_group_in()
    assert apply_outbox_to_fallback(down_app) is False  # first run: built from the live tables
    return group


@pytest.fixture
def make_group_in(down_app: Flask) -> Callable[..., Group]:
    from clearinghouse.geocoding import geocode_listing
    from clearinghouse.listings import validate_listing
    from clearinghouse.store import apply_listing
    from clearinghouse.taxonomy import default_taxonomy

    def make(**overrides: object) -> Group:
        validation = validate_listing(sample_record(**overrides), default_taxonomy())
        assert validation.data is not None, validation.errors
        data, _notes = geocode_listing(validation.data)
        change = apply_listing(db.session, data, actor="test")
        db.session.commit()
        return change.group

    return make


def test_the_fallback_is_the_embedded_engine_beside_sqlite(down_app: Flask) -> None:
    assert get_backend().name == "elasticsearch"
    fallback = get_fallback()
    assert isinstance(fallback, EmbeddedBackend)
    jobs = default_worker(down_app).jobs
    assert [job.name for job in jobs][:2] == ["outbox", "outbox-fallback"]
    # The fallback's first rebuild takes minutes at national scale: not in the outbox's thread.
    assert jobs[1].lane != jobs[0].lane


def test_the_search_page_answers_with_a_banner(down_app: Flask, grief_group: Group) -> None:
    client = down_app.test_client()
    response = client.get("/search?q=grief")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert BANNER in page
    assert grief_group.name in page
    assert response.headers[DEGRADED_HEADER] == "1"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_api_says_degraded_in_meta_and_a_header(down_app: Flask, grief_group: Group) -> None:
    client = down_app.test_client()
    headers = {"Authorization": f"Bearer {new_key()}"}
    response = client.get("/api/v1/groups?q=grief&near=60614", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["meta"]["degraded"] is True
    assert [group["name"] for group in body["data"]] == [grief_group.name]
    assert response.headers[DEGRADED_HEADER] == "1"


def test_the_breaker_stops_asking_the_dead_engine(down_app: Flask, grief_group: Group) -> None:
    client = down_app.test_client()
    for _ in range(3):
        assert client.get("/search?q=grief").status_code == 200
    assert down_app.extensions["search_breaker"].state is BreakerState.OPEN


def test_an_edit_while_the_engine_is_down_is_searchable_on_the_fallback(
    down_app: Flask, grief_group: Group, make_group_in: Callable[..., Group]
) -> None:
    from clearinghouse.staff.common import refresh_index

    added = make_group_in(name="Bereaved Parents Evening")
    refresh_index()  # what a staff save does: the primary fails (logged), the fallback follows
    page = down_app.test_client().get("/search?q=bereaved").get_data(as_text=True)
    assert added.name in page and BANNER in page


def test_readyz_is_degraded_but_200_while_the_fallback_answers(
    down_app: Flask, grief_group: Group
) -> None:
    response = down_app.test_client().get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["search"] == {"engine": "elasticsearch", "ping": "failed"}
    assert body["checks"]["fallback"] == {"engine": "embedded", "ping": "ok"}
    assert body["checks"]["outbox"]["engine"] == "embedded"
    assert body["checks"]["outbox"]["pending"] == 0


def test_readyz_is_not_ready_when_the_fallback_lags_too(
    down_app: Flask, grief_group: Group, make_group_in: Callable[..., Group]
) -> None:
    down_app.config["READYZ_MAX_PENDING"] = 0
    make_group_in(name="Not Yet Applied")
    response = down_app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "not ready"


def test_without_a_fallback_an_outage_is_a_503_as_before(
    template_database: Path, tmp_path: Path
) -> None:
    app = elastic_app(template_database, tmp_path, SEARCH_FALLBACK=False)
    with app.app_context():
        client = app.test_client()
        assert get_fallback() is None
        response = client.get("/search?q=grief")
        assert response.status_code == 503
        assert DEGRADED_HEADER not in response.headers
        assert BANNER not in response.get_data(as_text=True)
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.get_json()["status"] == "not ready"
        db.session.remove()
        db.engine.dispose()


def test_a_healthy_engine_is_not_degraded(client: FlaskClient, app: Flask) -> None:
    response = client.get("/search?q=grief")
    assert response.status_code == 200
    assert DEGRADED_HEADER not in response.headers
    assert BANNER not in response.get_data(as_text=True)


@pytest.mark.postgres
def test_a_database_fallback_reset_by_an_upgrade_is_rebuilt_by_the_worker(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    from sqlalchemy import text

    from clearinghouse.database import load_taxonomy, migrate
    from clearinghouse.geocoding import geocode_listing
    from clearinghouse.listings import validate_listing
    from clearinghouse.search.database import DatabaseBackend
    from clearinghouse.store import apply_listing
    from clearinghouse.taxonomy import default_taxonomy

    app = create_app(
        app_config(
            fresh_postgres_url,
            tmp_path,
            SEARCH_ENGINE="elasticsearch",
            ES_URL=f"http://127.0.0.1:{free_port()}",
            ES_INDEX="clearinghouse-groups",
        )
    )
    migrate(app)
    with app.app_context():
        load_taxonomy(db.session(), default_taxonomy())
        validation = validate_listing(sample_record(), default_taxonomy())
        assert validation.data is not None, validation.errors
        group = apply_listing(db.session, geocode_listing(validation.data)[0], actor="test").group
        db.session.commit()
        assert apply_outbox_to_fallback(app) is False  # first run: built from the live tables
        fallback = get_fallback()
        assert isinstance(fallback, DatabaseBackend) and fallback.built()
        # An upgrade that changes the table's layout: the next process resets the table.
        with fallback.engine.begin() as conn:
            conn.execute(text(f"COMMENT ON TABLE {fallback.table} IS 'an older layout'"))
        fallback.close()
        app.extensions["search_fallback"] = None
        assert apply_outbox_to_fallback(app) is False  # nothing pending, yet rebuilt
        page = app.test_client().get("/search?q=grief").get_data(as_text=True)
        assert group.name in page and BANNER in page
        db.session.remove()
        close = getattr(get_fallback(), "close", None)
        if callable(close):
            close()
        db.engine.dispose()
