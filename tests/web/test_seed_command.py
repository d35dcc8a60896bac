"""`clearinghouse init && clearinghouse seed` gives the same directory on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from clearinghouse import create_app
from clearinghouse.extensions import db
from clearinghouse.models import Group
from clearinghouse.store import snapshot
from tests.conftest import app_config


def seeded_directory(url: str, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Run init and seed through the CLI; return every listing's snapshot by external id."""
    app = create_app(app_config(url, tmp_path))
    runner = app.test_cli_runner()
    for args in (["init"], ["seed"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    with app.app_context():
        active = db.session.scalar(
            select(func.count()).select_from(Group).where(Group.status == "active")
        )
        assert active is not None and active >= 2000
        groups = db.session.scalars(
            select(Group).options(
                selectinload(Group.concerns),
                selectinload(Group.meetings),
                selectinload(Group.location),
                selectinload(Group.organization),
            )
        )
        directory = {str(group.external_id): snapshot(group) for group in groups}
        db.session.remove()
        db.engine.dispose()
    return directory


@pytest.mark.postgres
def test_seed_gives_the_same_listings_on_sqlite_and_postgresql(
    tmp_path: Path, fresh_postgres_url: str
) -> None:
    on_sqlite = seeded_directory(f"sqlite:///{tmp_path / 'seed.db'}", tmp_path / "sqlite")
    on_postgres = seeded_directory(fresh_postgres_url, tmp_path / "postgres")
    assert on_sqlite.keys() == on_postgres.keys()
    differing = [key for key in on_sqlite if on_sqlite[key] != on_postgres[key]]
    assert differing == []
