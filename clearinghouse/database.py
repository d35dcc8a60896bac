"""Creating and migrating the database with Alembic, and loading the concern taxonomy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alembic import command
from alembic.config import Config
from flask import Flask
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from clearinghouse.bodies import forget_bodies
from clearinghouse.models import Concern, DbSession, db
from clearinghouse.resources import resource_dir
from clearinghouse.taxonomy import Taxonomy

DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5000


def configure_sqlite(engine: Engine, config: Mapping[str, Any]) -> None:
    """WAL and a busy timeout on every connection to a SQLite database.

    In WAL mode readers never wait for a writer (a long import no longer blocks searches);
    a writer that finds another writer waits up to SQLITE_BUSY_TIMEOUT_MS before the
    request answers 503.  `config` is read at each connect, so a test can shorten the wait.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        timeout = int(config.get("SQLITE_BUSY_TIMEOUT_MS", DEFAULT_SQLITE_BUSY_TIMEOUT_MS))
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {max(0, timeout)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")  # safe in WAL: a crash loses no commit
        cursor.close()


def is_database_busy(error: BaseException) -> bool:
    """A busy or briefly unreachable database (answer 503 and retry), not a bug (500).

    SQLite: "database is locked" / "database table is locked" / busy after the timeout;
    PostgreSQL: any operational error (connection refused or lost, server shutting down);
    any dialect: the connection pool timed out or a connection was found dead.
    """
    if isinstance(error, DisconnectionError | PoolTimeoutError):
        return True
    if not isinstance(error, OperationalError):
        return False
    message = str(error.orig).lower()
    if "locked" in message or "busy" in message:
        return True
    module = type(error.orig).__module__
    return module.startswith("psycopg")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(app: Flask) -> None:
    """Bring the schema to the newest migration (creating it on an empty database)."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _ensure_sqlite_folder(engine.url.database)
        with engine.begin() as connection:
            config = alembic_config(str(engine.url))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")


def _ensure_sqlite_folder(path: str | None) -> None:
    from pathlib import Path

    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def load_taxonomy(session: DbSession, taxonomy: Taxonomy) -> int:
    """Insert or update every concern term; returns how many terms there are."""
    existing = {row.slug: row for row in session.scalars(select(Concern))}
    relabelled = False
    for position, term in enumerate(taxonomy):
        row = existing.get(term.slug) or Concern(slug=term.slug)
        relabelled |= row.slug in existing and row.label != term.label
        row.label = term.label
        row.description = term.description
        row.parent_slug = term.parent
        row.synonyms = list(term.synonyms)
        row.position = position
        session.add(row)
    if relabelled:  # stored public bodies carry concern labels: made again on read
        forget_bodies(session)
    session.flush()
    return len(list(taxonomy))
