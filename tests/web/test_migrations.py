"""The Alembic migrations on SQLite and PostgreSQL: every step down and up again, what 0004
(groups confirming their own listing) adds and takes away, and the models matching them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from clearinghouse.database import alembic_config
from clearinghouse.models import Base

FRESHNESS_TABLES = {"outgoing_mail", "mail_contacts", "freshness_requests", "freshness_links"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrations.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    engine = create_engine(url)
    yield engine
    engine.dispose()


def _to(engine: Engine, revision: str, *, down: bool = False) -> None:
    with engine.begin() as connection:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def _version(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _columns(engine: Engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def test_every_step_goes_down_and_up_again(engine: Engine) -> None:
    _to(engine, "head")
    head = _version(engine)
    tables = set(inspect(engine).get_table_names())
    _to(engine, "base", down=True)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    _to(engine, "head")
    assert _version(engine) == head
    assert set(inspect(engine).get_table_names()) == tables


def test_0004_down_keeps_the_listings_and_up_brings_its_tables_back(engine: Engine) -> None:
    _to(engine, "0004")
    assert set(inspect(engine).get_table_names()) >= FRESHNESS_TABLES
    assert {"confirmed_at", "confirmed_via"} <= _columns(engine, "groups")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO groups (uuid, slug, name, description, format, attendance, open,"
                " time_limited, cost, cost_note, languages, audience, accessibility,"
                " online_notes, service_area, private_notes, status, unknown_concerns, flags,"
                " content_hash, created_at, updated_at, confirmed_at, confirmed_via)"
                " VALUES ('u-1', 'kept-circle', 'Kept Circle', '', 'peer-led', 'in-person',"
                " true, false, 'free', '', '[]', '[]', '[]', '', '[]', '', 'active', '[]',"
                " '[]', '', '2026-01-01', '2026-01-01', '2026-02-01', 'email-link')"
            )
        )
        group_id = connection.scalar(text("SELECT id FROM groups WHERE slug = 'kept-circle'"))
        connection.execute(
            text(
                "INSERT INTO freshness_requests (group_id, address, sent_at)"
                " VALUES (:id, 'leader@example.org', '2026-01-15')"
            ),
            {"id": group_id},
        )

    _to(engine, "0003", down=True)

    assert not FRESHNESS_TABLES & set(inspect(engine).get_table_names())
    assert not {"confirmed_at", "confirmed_via"} & _columns(engine, "groups")
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT name FROM groups")) == "Kept Circle"

    _to(engine, "head")

    assert set(inspect(engine).get_table_names()) >= FRESHNESS_TABLES
    with engine.connect() as connection:
        row = connection.execute(text("SELECT name, confirmed_at FROM groups")).one()
        assert tuple(row) == ("Kept Circle", None)
        assert connection.scalar(text("SELECT count(*) FROM freshness_requests")) == 0


def test_the_models_are_what_the_migrations_make(engine: Engine) -> None:
    _to(engine, "head")
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
