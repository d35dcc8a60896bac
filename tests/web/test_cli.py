"""The `clearinghouse` command: init, users, API keys, index status."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from clearinghouse import create_app
from clearinghouse.accounts import check_password
from clearinghouse.extensions import db
from clearinghouse.models import Concern, User
from tests.api_support import live_api_key
from tests.conftest import app_config


def test_init_creates_the_schema_and_loads_the_taxonomy_idempotently(tmp_path: Path) -> None:
    app = create_app(app_config(f"sqlite:///{tmp_path / 'new' / 'fresh.db'}", tmp_path))
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["init"])
        assert result.exit_code == 0, result.output
        assert "concerns loaded" in result.output
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Concern))
        assert count is not None and count >= 120
        db.engine.dispose()


def test_users_create_hashes_the_password(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["users", "create", "--email", "Ana@Example.org", "--role", "admin"],
        input="correct horse battery\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "ana@example.org"))
    assert user is not None and user.role == "admin"
    assert "correct horse" not in user.password_hash
    assert check_password(user, "correct horse battery")


def test_users_create_refuses_short_passwords_and_duplicates(app: Flask) -> None:
    runner = app.test_cli_runner()
    args = ["users", "create", "--email", "ed@example.org", "--role", "editor", "--password"]
    short = runner.invoke(args=[*args, "short"])
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    assert runner.invoke(args=[*args, "long enough password"]).exit_code == 0
    again = runner.invoke(args=[*args, "long enough password"])
    assert again.exit_code != 0 and "already exists" in again.output


def test_api_keys_create_prints_the_key_once_and_stores_only_a_hash(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["api-keys", "create", "--name", "211 Metro"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    api_key = live_api_key(db.session(), key)
    assert api_key is not None and api_key.name == "211 Metro"
    assert key not in api_key.key_hash
    assert live_api_key(db.session(), key[:-1] + ("A" if key[-1] != "A" else "B")) is None


def test_index_sync_and_status_report_lag(app: Flask, make_group) -> None:  # type: ignore[no-untyped-def]
    make_group()
    make_group(name="Second group", status="pending")
    runner = app.test_cli_runner()
    before = runner.invoke(args=["index", "status"])
    assert "pending: 2" in before.output, before.output
    synced = runner.invoke(args=["index", "sync"])
    assert synced.exit_code == 0 and "Applied 2 changes" in synced.output
    after = runner.invoke(args=["index", "status"])
    assert "pending: 0" in after.output and "indexed: 1" in after.output
