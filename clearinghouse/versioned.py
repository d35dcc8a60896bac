"""What a result shows of a group, built once per version of the group in each process.

Loading a group through the ORM and turning it into JSON or a result card costs far more
than the search itself (about 0.3 ms a group, 20–30 groups a page).  What a result shows
depends on the group alone, and every change to a listing moves its `updated_at` (the
change feed relies on the same rule), so each built value is kept by `(id, updated_at)`:
a search asks the database which of its hits are still active and at which version (one
light query) and loads through the ORM only the versions not built yet.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any, TypeVar

from cachetools import LRUCache
from flask import current_app
from sqlalchemy import select

from clearinghouse.extensions import db
from clearinghouse.models import Group, GroupStatus
from clearinghouse.search.service import load_active

T = TypeVar("T")
# A few KB a group: 20,000 versions hold a large state's directory in ~60 MB per kind.
CACHE_SIZE = 20_000
_lock = threading.Lock()


def built(kind: str, build: Callable[[Group], T], ids: Collection[int]) -> dict[int, T]:
    """`build(group)` for each active group among `ids`, from the cache where current."""
    if not ids:
        return {}
    # The status is checked here, not in SQL: with it in the WHERE clause SQLite walks the
    # (status, updated_at) index over every active group instead of the ids' primary keys.
    versions: dict[int, datetime] = {
        group_id: version
        for group_id, version, status in db.session.execute(
            select(Group.id, Group.updated_at, Group.status).where(Group.id.in_(sorted(ids)))
        )
        if status == GroupStatus.ACTIVE
    }
    cache = _cache(kind)
    values: dict[int, T] = {}
    with _lock:
        for group_id, version in versions.items():
            value = cache.get((group_id, version))
            if value is not None:
                values[group_id] = value
    missing = versions.keys() - values.keys()
    if missing:
        fresh = [(group.id, group.updated_at, build(group)) for group in
                 load_active(missing).values()]  # fmt: skip
        with _lock:
            for group_id, version, value in fresh:
                cache[(group_id, version)] = value
                values[group_id] = value
    return values


def _cache(kind: str) -> LRUCache[tuple[int, datetime], Any]:
    name = f"versioned.{kind}"
    cache: LRUCache[tuple[int, datetime], Any] | None = current_app.extensions.get(name)
    if cache is None:
        with _lock:
            cache = current_app.extensions.setdefault(name, LRUCache(maxsize=CACHE_SIZE))
    return cache
