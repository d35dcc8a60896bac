"""Search hits as public JSON, each version of a group serialised once per process.

Loading a group through the ORM and serialising it costs far more than the search itself
(about 0.3 ms a group, 20–30 groups a page).  A group's public JSON depends on the group
alone, and every change to a listing moves its `updated_at` (the change feed relies on the
same rule), so the JSON is kept by `(id, updated_at)`: a search asks the database which of
its hits are still active and at which version (one light query), and loads through the
ORM only the versions it has not serialised yet.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from cachetools import LRUCache
from flask import current_app
from sqlalchemy import select

from clearinghouse.extensions import db
from clearinghouse.models import Group
from clearinghouse.search.base import Hit
from clearinghouse.search.service import load_active
from clearinghouse.serialize import group_body, placed

# About 3 KB a group: 20,000 versions hold a large state's directory in ~60 MB per worker.
CACHE_SIZE = 20_000
_lock = threading.Lock()

Body = dict[str, Any]


def hits_json(root: str, *pages: tuple[Hit, ...]) -> list[list[Body]]:
    """Each list of hits as public JSON (page URL under `root`, distance), in rank order."""
    bodies = _bodies({hit.id for hits in pages for hit in hits})
    return [
        [
            placed(body, url=f"{root}groups/{body['slug']}", distance_mi=hit.distance_mi)
            for hit in hits
            if (body := bodies.get(hit.id)) is not None
        ]
        for hits in pages
    ]


def _bodies(ids: set[int]) -> dict[int, Body]:
    if not ids:
        return {}
    # The status is checked here, not in SQL: with it in the WHERE clause SQLite walks the
    # (status, updated_at) index over every active group instead of the ids' primary keys.
    versions: dict[int, datetime] = {
        group_id: version
        for group_id, version, status in db.session.execute(
            select(Group.id, Group.updated_at, Group.status).where(Group.id.in_(sorted(ids)))
        )
        if status == "active"
    }
    cache = _cache()
    bodies: dict[int, Body] = {}
    with _lock:
        for group_id, version in versions.items():
            body = cache.get((group_id, version))
            if body is not None:
                bodies[group_id] = body
    missing = versions.keys() - bodies.keys()
    if missing:
        fresh = {group.id: (group.updated_at, group_body(group)) for group in
                 load_active(missing).values()}  # fmt: skip
        with _lock:
            for group_id, (version, body) in fresh.items():
                cache[(group_id, version)] = body
                bodies[group_id] = body
    return bodies


def _cache() -> LRUCache[tuple[int, datetime], Body]:
    cache: LRUCache[tuple[int, datetime], Body] | None = current_app.extensions.get(
        "group_json_cache"
    )
    if cache is None:
        with _lock:
            cache = current_app.extensions.setdefault(
                "group_json_cache", LRUCache(maxsize=CACHE_SIZE)
            )
    return cache
