"""`clearinghouse export` / `import`: a whole-directory backup, SQLite → PostgreSQL → SQLite."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import date
from itertools import islice
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from clearinghouse import create_app
from clearinghouse.accounts import check_password, create_api_key, create_user
from clearinghouse.database import migrate
from clearinghouse.extensions import db
from clearinghouse.geocoding import geocode_listing
from clearinghouse.listings import validate_listing
from clearinghouse.models import (
    ChangeRequest,
    Group,
    GroupStatus,
    Outbox,
    ReviewStatus,
    SearchMiss,
    StaffSession,
    User,
    utcnow,
)
from clearinghouse.store import apply_listing, set_status
from clearinghouse.taxonomy import default_taxonomy
from indexer.pipeline import ingest_records, load_sample_listings
from tests.conftest import app_config, sample_record

SAMPLE_SIZE = 400  # of the ~2,400 sample listings: every shape they hold, in seconds


_apps: list[Flask] = []


def _new_app(url: str, folder: Path) -> Flask:
    folder.mkdir(parents=True, exist_ok=True)
    app = create_app(app_config(url, folder))
    _apps.append(app)
    return app


@pytest.fixture(autouse=True)
def _close_databases() -> Iterator[None]:
    """Each instance a test made lets go of its database (no connection left to the GC)."""
    yield
    while _apps:
        with _apps.pop().app_context():
            db.session.remove()
            db.engine.dispose()


def _invoke(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _failing(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code != 0, result.output
    return result.output


def _staff_activity(app: Flask) -> str:
    """Users, a key, edits, an archive, a reviewed and a waiting request; returns the key."""
    taxonomy = default_taxonomy()
    with app.app_context():
        session = db.session()
        admin = create_user(session, "admin@example.org", "admin", "correct horse battery")
        create_user(session, "editor@example.org", "editor", "another long secret")
        session.flush()
        session.add(StaffSession(user_id=admin.id, token_hash="x" * 64, expires_at=utcnow()))
        _row, key = create_api_key(session, "Partner", rate_limit="1000/minute")
        groups = list(session.scalars(select(Group).order_by(Group.id).limit(3)))
        edited = validate_listing(
            sample_record(name="Renamed Grief Circle", organization="Grief Network"), taxonomy
        )
        assert edited.data is not None
        data, _notes = geocode_listing(edited.data)
        apply_listing(
            session, data, actor="user:admin@example.org", group=groups[0], user_id=admin.id
        )
        set_status(session, groups[1], GroupStatus.ARCHIVED, actor="user:editor@example.org")
        session.add_all(
            [
                ChangeRequest(
                    kind="edit",
                    group_id=groups[2].id,
                    payload={"description": "Now meets Thursdays — café upstairs ☕"},
                    message="moved",
                    submitter_email="someone@example.net",
                    status=ReviewStatus.REJECTED,
                    reason="not confirmed",
                    reviewed_at=utcnow(),
                    reviewed_by_id=admin.id,
                ),
                ChangeRequest(kind="new", payload=sample_record(name="Brand new")),
                SearchMiss(concern="grief", region="IL", day=date(2026, 1, 2), count=3),
            ]
        )
        session.commit()
    return key


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """A SQLite instance with sample listings and some staff activity, and its partner key."""
    app = _new_app(f"sqlite:///{tmp_path / 'origin' / 'db.sqlite'}", tmp_path / "origin")
    _invoke(app, "init")
    with app.app_context():
        ingest_records(
            db.session,
            islice(load_sample_listings(), SAMPLE_SIZE),
            taxonomy=default_taxonomy(),
            source="sample",
        )
    yield app, _staff_activity(app)


def _body(path: Path) -> list[str]:
    """A backup's lines after the manifest (which alone carries the export time)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as backup:
        return backup.read().splitlines()[1:]


@pytest.mark.postgres
def test_backup_round_trips_sqlite_postgresql_sqlite_identically(
    seeded: tuple[Flask, str], fresh_postgres_url: str, tmp_path: Path
) -> None:
    origin, key = seeded
    first = tmp_path / "first.jsonl.gz"
    _invoke(origin, "export", str(first))

    postgres = _new_app(fresh_postgres_url, tmp_path / "pg")
    output = _invoke(postgres, "import", str(first))
    assert "users set-password" in output
    second = tmp_path / "second.jsonl"
    _invoke(postgres, "export", str(second))
    assert _body(second) == _body(first)

    back = _new_app(f"sqlite:///{tmp_path / 'back' / 'db.sqlite'}", tmp_path / "back")
    _invoke(back, "import", str(second))
    third = tmp_path / "third.jsonl"
    _invoke(back, "export", str(third))
    assert _body(third) == _body(first)

    with postgres.app_context():
        _restored_instance_works(postgres, key)


def _restored_instance_works(app: Flask, key: str) -> None:
    """Keys still let partners in, passwords must be reset, every listing is searchable."""
    session = db.session()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    active = session.scalar(select(func.count()).where(Group.status == GroupStatus.ACTIVE))
    found = client.get("/api/v1/groups?per_page=1", headers=headers)
    assert found.status_code == 200, found.get_data(as_text=True)
    assert found.get_json()["meta"]["total"] == active
    renamed = client.get("/api/v1/groups?q=renamed+grief", headers=headers).get_json()
    assert [group["name"] for group in renamed["data"]] == ["Renamed Grief Circle"]
    for user in session.scalars(select(User)):
        assert not check_password(user, "correct horse battery")
        assert not check_password(user, "another long secret")
    assert session.scalar(select(func.count()).select_from(StaffSession)) == 0
    queued = session.scalar(select(func.count()).select_from(Outbox))
    assert queued == session.scalar(select(func.count()).select_from(Group))
    # A new listing gets an id after the imported ones (PostgreSQL's sequences moved on).
    imported = session.scalar(select(func.max(Group.id))) or 0
    validation = validate_listing(sample_record(name="After the restore"), default_taxonomy())
    assert validation.data is not None
    change = apply_listing(session, geocode_listing(validation.data)[0], actor="test")
    session.commit()
    assert change.group.id > imported


def test_backup_holds_no_password_hash_or_sign_in(
    seeded: tuple[Flask, str], tmp_path: Path
) -> None:
    origin, _key = seeded
    path = tmp_path / "backup.jsonl"
    _invoke(origin, "export", str(path))
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    manifest, end = lines[0], lines[-1]
    assert manifest["format"] == "clearinghouse-backup" and manifest["version"] == 1
    assert "password_hash" not in manifest["tables"]["users"]
    assert not {"staff_sessions", "outbox", "sync_state"} & set(manifest["tables"])
    assert "$argon2" not in path.read_text(encoding="utf-8")
    assert end["rows"]["groups"] == SAMPLE_SIZE
    assert end["rows"]["users"] == 2


def test_users_set_password_lets_an_imported_user_sign_in_again(
    seeded: tuple[Flask, str], tmp_path: Path
) -> None:
    origin, _key = seeded
    path = tmp_path / "backup.jsonl"
    _invoke(origin, "export", str(path))
    restored = _new_app(f"sqlite:///{tmp_path / 'new' / 'db.sqlite'}", tmp_path / "new")
    _invoke(restored, "import", str(path))
    _invoke(
        restored,
        "users",
        "set-password",
        "--email",
        "admin@example.org",
        "--password",
        "a fresh long one",
    )
    with restored.app_context():
        admin = db.session.scalar(select(User).where(User.email == "admin@example.org"))
        assert admin is not None and check_password(admin, "a fresh long one")


def test_import_refuses_a_database_that_is_not_empty(
    seeded: tuple[Flask, str], tmp_path: Path
) -> None:
    origin, _key = seeded
    path = tmp_path / "backup.jsonl"
    _invoke(origin, "export", str(path))
    output = _failing(origin, "import", str(path))
    assert "not empty" in output and "Traceback" not in output


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda lines: lines[:-1], "cut off"),
        (lambda lines: ['{"format": "something else"}', *lines[1:]], "not a clearinghouse backup"),
        (lambda lines: [lines[0].replace('"version":1', '"version":99'), *lines[1:]], "99"),
        (lambda lines: [*lines[:5], "not json", *lines[5:]], "not a readable backup"),
        (lambda lines: [*lines[:-1], '["meetings", [1]]', lines[-1]], "bad value"),
        (lambda lines: [*lines[:-1], lines[1], lines[-1]], "out of order"),
    ],
)
def test_a_damaged_backup_is_refused_and_imports_nothing(
    seeded: tuple[Flask, str], tmp_path: Path, damage: object, message: str
) -> None:
    origin, _key = seeded
    path = tmp_path / "backup.jsonl"
    _invoke(origin, "export", str(path))
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(damage(lines)) + "\n", encoding="utf-8")  # type: ignore[operator]
    restored = _new_app(f"sqlite:///{tmp_path / 'new' / 'db.sqlite'}", tmp_path / "new")
    output = _failing(restored, "import", str(path))
    assert message in output and "Traceback" not in output
    with restored.app_context():
        assert db.session.scalar(select(func.count()).select_from(Group)) == 0
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_migrated_empty_instance_takes_a_backup_after_init(
    seeded: tuple[Flask, str], tmp_path: Path
) -> None:
    """`init` loads the taxonomy first; the backup's taxonomy replaces it."""
    origin, _key = seeded
    path = tmp_path / "backup.jsonl"
    _invoke(origin, "export", str(path))
    restored = _new_app(f"sqlite:///{tmp_path / 'new' / 'db.sqlite'}", tmp_path / "new")
    migrate(restored)
    _invoke(restored, "init")
    _invoke(restored, "import", str(path))
    again = tmp_path / "again.jsonl"
    _invoke(restored, "export", str(again))
    assert _body(again) == _body(path)
