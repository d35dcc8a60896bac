"""Helpers shared by the staff views: who is acting, index refresh, paging, CSV."""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Response, abort, current_app, request
from flask_login import current_user
from sqlalchemy import Select, func, select

from clearinghouse.extensions import db
from clearinghouse.inputs import parse_int
from clearinghouse.models import Group, Outbox, SyncState, utcnow
from clearinghouse.search.base import SearchBackend
from clearinghouse.taxonomy import default_taxonomy
from indexer.sync import FALLBACK_STATE_NAME, STATE_NAME, has_position, sync

log = logging.getLogger(__name__)
PER_PAGE = 50
# Outbox rows a save may push to the index inline; more than this waits for `index sync`.
INLINE_SYNC_LIMIT = 2000
# Spreadsheet programs run cells that start with these as formulas.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def actor() -> str:
    return f"user:{current_user.email}"


def user_id() -> int | None:
    return int(current_user.id) if current_user.is_authenticated else None


def refresh_index() -> None:
    """Push committed changes to the search index now; an engine outage never fails a save.

    The outbox rows are already committed with the change, so whatever is not applied here
    is applied by the next `clearinghouse index sync` (or the next save).  The fallback
    engine, when there is one, is refreshed on its own position, so an edit made while
    Elasticsearch is down is searchable at once on the fallback.
    """
    from clearinghouse.search import get_backend, get_fallback

    _refresh(get_backend(), STATE_NAME)
    fallback = get_fallback()
    if fallback is not None and has_position(db.session, FALLBACK_STATE_NAME):
        _refresh(fallback, FALLBACK_STATE_NAME)  # a first build is the worker's job


def _refresh(backend: SearchBackend, state_name: str) -> None:
    backlog = _outbox_backlog(state_name)
    if backlog > INLINE_SYNC_LIMIT:
        # A long backlog (the engine was down) is for `clearinghouse index sync`, not a request.
        log.warning("event=index_refresh_skipped pending=%d engine=%s", backlog, backend.name)
        return
    started = time.perf_counter()
    try:
        report = sync(db.session, backend, default_taxonomy(), state_name=state_name)
    except Exception as error:  # any engine failure: log it, keep the save
        db.session.rollback()
        log.warning(
            "event=index_refresh_failed error=%s engine=%s detail=%r",
            type(error).__name__,
            backend.name,
            str(error)[:200],
        )
        return
    log.info(
        "event=index_refresh engine=%s applied=%d took_ms=%.0f",
        backend.name,
        report.applied,
        (time.perf_counter() - started) * 1000,
    )


def _outbox_backlog(state_name: str = STATE_NAME) -> int:
    state = db.session.get(SyncState, state_name)
    since = state.last_seq if state else 0
    return db.session.scalar(select(func.count()).where(Outbox.seq > since)) or 0


@dataclass(frozen=True)
class Page:
    items: Sequence[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def page_number() -> int:
    """The ?page= argument, forgiving anything that is not a positive number."""
    return int_arg("page", 1, 1, 100_000)


def paginate(query: Select[Any], per_page: int = PER_PAGE) -> Page:
    number = page_number()
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list(db.session.scalars(query.limit(per_page).offset((number - 1) * per_page)))
    return Page(items, number, per_page, total or 0)


def months_ago(months: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=round(months * 30.44))


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """A forgiving whole-number argument: missing or malformed is the default, clamped."""
    try:
        number = parse_int(request.args.get(name, ""), -(10**18), 10**18)
    except ValueError:
        return default
    return max(low, min(number, high))


def csv_cell(value: Any) -> str:
    """A cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    response = current_app.response_class(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def get_group(group_uuid: str) -> Group:
    group = db.session.scalar(select(Group).where(Group.uuid == group_uuid[:36]))
    if group is None:
        abort(404)
    return group


def find_group(text: str) -> Group | None:
    """A group by its id (UUID), slug, or a console/public URL ending in either."""
    key = text.strip().rstrip("/").rsplit("/", 1)[-1][:200]
    if not key:
        return None
    return db.session.scalar(select(Group).where((Group.uuid == key) | (Group.slug == key)))
