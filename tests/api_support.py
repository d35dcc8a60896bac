"""Helpers for the partner API and HSDS tests: keys, indexing, JSON Schema validation."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from clearinghouse import search
from clearinghouse.accounts import create_api_key, match_api_key
from clearinghouse.extensions import db
from clearinghouse.geocoding import geocode_listing
from clearinghouse.listings import validate_listing
from clearinghouse.models import ApiKey, DbSession, Group
from clearinghouse.store import apply_listing
from clearinghouse.taxonomy import default_taxonomy
from indexer.sync import sync
from tests.conftest import sample_record

REPO_ROOT = Path(__file__).resolve().parent.parent
STANDARDS = REPO_ROOT.parent / "shared" / "standards"
HSDS_SCHEMAS = STANDARDS / "hsds-3.0" / "schema"
MEETING_GUIDE_TYPES = STANDARDS / "meeting-guide" / "types.json"


def live_api_key(session: DbSession, key: str) -> ApiKey | None:
    """The unrevoked key matching `key`, or None: what a partner's request would be let in with."""
    api_key = match_api_key(session, key)
    return None if api_key is None or api_key.revoked_at is not None else api_key


def new_key(name: str = "Test partner", rate_limit: str = "1000/minute") -> str:
    _row, key = create_api_key(db.session(), name, rate_limit=rate_limit)
    db.session.commit()
    return key


@pytest.fixture
def api_headers(app: Flask) -> dict[str, str]:
    return {"Authorization": f"Bearer {new_key()}"}


def index_all() -> None:
    """Apply the outbox to the app's search engine (the embedded one, a per-test file)."""
    sync(db.session(), search.get_backend(), default_taxonomy())


def get_json(client: FlaskClient, url: str, headers: dict[str, str], status: int = 200) -> Any:
    response = client.get(url, headers=headers)
    assert response.status_code == status, (url, response.status_code, response.get_data(True))
    return response.get_json(force=True)


@cache
def load_json(path: Path) -> Any:
    return json.loads(path.read_text())


Mirror = dict[str, dict[str, Any]]


class Partner:
    """A partner's copy of the directory, kept in step by /changes (and maybe an export)."""

    def __init__(self, client: FlaskClient, headers: dict[str, str], limit: int = 3) -> None:
        self.client, self.headers, self.limit = client, headers, limit
        self.groups: Mirror = {}
        self.cursor: str | None = None
        self.seen_seqs: list[int] = []

    def load_export(self) -> None:
        response = self.client.get("/api/v1/export.ndjson", headers=self.headers)
        assert response.status_code == 200
        for line in response.get_data(as_text=True).splitlines():
            group = json.loads(line)
            self.groups[group["id"]] = group
        self.cursor = response.headers["X-Changes-Cursor"]

    def fetch_page(self) -> bool:
        """Apply one page of changes; True when the feed said there is more."""
        url = f"/api/v1/changes?limit={self.limit}"
        if self.cursor is not None:
            url += f"&since={self.cursor}"
        body = get_json(self.client, url, self.headers)
        for change in body["changes"]:
            self.seen_seqs.append(change["seq"])
            if change["action"] == "upsert":
                assert change["group"]["id"] == change["id"]
                self.groups[change["id"]] = change["group"]
            else:
                assert change["group"] is None
                self.groups.pop(change["id"], None)
        self.cursor = body["next"]
        return bool(body["has_more"])

    def catch_up(self) -> None:
        while self.fetch_page():
            pass

    def snapshot(self) -> dict[str, str]:
        return {gid: group["updated_at"] for gid, group in self.groups.items()}


def public_directory() -> dict[str, str]:
    rows = db.session.scalars(select(Group).where(Group.status == "active"))
    return {group.uuid: group.updated_at.isoformat(timespec="seconds") + "Z" for group in rows}


def create(session: Session, **overrides: Any) -> Group:
    """Store a listing from `sample_record(**overrides)` on any app (make_group is SQLite's)."""
    validation = validate_listing(sample_record(**overrides), default_taxonomy())
    assert validation.data is not None, validation.errors
    data, _notes = geocode_listing(validation.data)
    group = apply_listing(session, data, actor="test").group
    session.commit()
    return group
