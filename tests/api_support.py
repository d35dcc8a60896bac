"""Helpers for the partner API and HSDS tests: keys, indexing, JSON Schema validation."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from clearinghouse import search
from clearinghouse.accounts import create_api_key
from clearinghouse.extensions import db
from clearinghouse.taxonomy import default_taxonomy
from indexer.sync import sync

REPO_ROOT = Path(__file__).resolve().parent.parent
STANDARDS = REPO_ROOT.parent / "shared" / "standards"
HSDS_SCHEMAS = STANDARDS / "hsds-3.0" / "schema"
MEETING_GUIDE_TYPES = STANDARDS / "meeting-guide" / "types.json"


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
