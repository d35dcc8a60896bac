"""Shared fixtures: a fresh app and database per test; real services from tests/services/."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient, FlaskCliRunner

from clearinghouse import create_app
from clearinghouse.database import load_taxonomy, migrate
from clearinghouse.extensions import db
from clearinghouse.geocoding import geocode_listing
from clearinghouse.listings import validate_listing
from clearinghouse.models import Group
from clearinghouse.store import apply_listing
from clearinghouse.taxonomy import Taxonomy, default_taxonomy

pytest_plugins = (
    "tests.services.postgres",
    "tests.services.elastic",
    "tests.services.browser",
)


class IsolatedClient(FlaskClient):
    """A test client whose requests each start with an empty `g`.

    The `app` fixtures keep an app context pushed for the whole test (so tests can use
    `db.session`), and Flask reuses a pushed context for every request, so `g` (Flask-Login's
    current user, Flask-WTF's CSRF token) would leak from one request, or one client, to the
    next.  A browser never shares those; neither does a served app.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            g.__dict__.clear()
        return super().open(*args, **kwargs)


@pytest.fixture(autouse=True, scope="session")
def _isolated_clients() -> Iterator[None]:
    """Every app's `test_client()` in the suite is an IsolatedClient."""
    Flask.test_client_class = IsolatedClient
    yield
    Flask.test_client_class = None


def app_config(database_url: str, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SEARCH_ENGINE": "embedded",
        "INDEX_PATH": str(tmp_path / "search.db"),
        "RATELIMIT_ENABLED": False,
        **extra,
    }


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database with the taxonomy, copied for each test (fast)."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.db"
    app = create_app(app_config(f"sqlite:///{path}", folder))
    migrate(app)
    with app.app_context():
        load_taxonomy(db.session, default_taxonomy())
        db.session.commit()
        db.engine.dispose()
    return path


@pytest.fixture
def app(template_database: Path, tmp_path: Path) -> Iterator[Flask]:
    path = tmp_path / "clearinghouse.db"
    shutil.copy(template_database, path)
    app = create_app(app_config(f"sqlite:///{path}", tmp_path))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def taxonomy() -> Taxonomy:
    return default_taxonomy()


def sample_record(**overrides: Any) -> dict[str, Any]:
    """A valid raw listing in the project's JSON shape; keyword arguments replace fields."""
    record: dict[str, Any] = {
        "name": "Evening Grief Circle",
        "description": "A peer-led circle for anyone grieving a death.",
        "concerns": ["grief"],
        "format": "peer-led",
        "cost": "free",
        "languages": ["en"],
        "location": {
            "name": "Lincoln Park Library",
            "address": "1150 W Fullerton Ave",
            "city": "Chicago",
            "region": "IL",
            "postal_code": "60614",
            "lat": 41.9251,
            "lon": -87.6572,
        },
        "meetings": [{"freq": "weekly", "byday": ["TU"], "start": "19:00", "end": "20:30"}],
        "contact": {"email": "circle@example.org"},
    }
    record.update(overrides)
    return record


@pytest.fixture
def make_group(app: Flask, taxonomy: Taxonomy) -> Callable[..., Group]:
    """Validate, geocode and store a listing built from `sample_record(**overrides)`."""

    def make(status: str = "active", **overrides: Any) -> Group:
        validation = validate_listing(sample_record(**overrides), taxonomy)
        assert validation.data is not None, validation.errors
        data, _notes = geocode_listing(validation.data)
        change = apply_listing(db.session, data, actor="test", status=status)
        db.session.commit()
        return change.group

    return make


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the session's server, dropped afterwards."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """A freshly migrated app on SQLite and on PostgreSQL: for tests of the store itself."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    app = create_app(app_config(url, tmp_path))
    migrate(app)
    with app.app_context():
        load_taxonomy(db.session(), default_taxonomy())
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


def two_workers_at_once(app: Flask, work: Callable[[], object]) -> None:
    """Run `work` in two threads that start together, each in its own app context and
    session, as `serve`'s in-process worker and a separate `clearinghouse worker` would."""
    together = threading.Barrier(2)

    def one_worker() -> None:
        with app.test_request_context("/"):
            together.wait()
            work()
            db.session.remove()

    workers = [threading.Thread(target=one_worker) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
