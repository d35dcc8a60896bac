"""Creating and migrating the database with Alembic, and loading the concern taxonomy."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from flask import Flask
from sqlalchemy import select

from clearinghouse.models import Concern, DbSession, db
from clearinghouse.resources import resource_dir
from clearinghouse.taxonomy import Taxonomy


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
    for position, term in enumerate(taxonomy):
        row = existing.get(term.slug) or Concern(slug=term.slug)
        row.label = term.label
        row.description = term.description
        row.parent_slug = term.parent
        row.synonyms = list(term.synonyms)
        row.position = position
        session.add(row)
    session.flush()
    return len(list(taxonomy))
