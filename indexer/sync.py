"""Keeping the search index in step with the store through the outbox.

`sync` applies outbox rows after the index's high-water mark, in order, in batches; applying
a row re-reads the group's current state, so replays are harmless.  `rebuild` makes a fresh
index from the database and records the outbox position it reflects.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from clearinghouse.freshness import FRESH_FOR
from clearinghouse.groups import groups_by_id
from clearinghouse.models import DbSession, Group, GroupStatus, Outbox, SyncState, utcnow
from clearinghouse.search.base import ListingDoc, SearchBackend
from clearinghouse.search.documents import build_document
from clearinghouse.store import queue_reindex
from clearinghouse.taxonomy import Taxonomy

log = logging.getLogger(__name__)
STATE_NAME = "search"  # the configured engine's position in the outbox
# The fallback engine's own position: it is kept current while the primary is down.
FALLBACK_STATE_NAME = "search-fallback"
# When the standing job last brought documents' standing up to date (its `updated_at`).
STANDING_STATE_NAME = "standing"
REQUEUE_BATCH = 2000


@dataclass(frozen=True)
class SyncReport:
    applied: int  # outbox rows consumed
    upserted: int
    removed: int
    last_seq: int


def _state(session: DbSession, name: str = STATE_NAME) -> SyncState:
    """The engine's position, made at its first use.  Another process (the worker beside a
    rebuild) may make it at the same moment, so it is inserted only if absent, then read."""
    state = session.get(SyncState, name)
    if state is None:
        insert = (
            postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        )
        session.execute(
            insert(SyncState)
            .values(name=name, last_seq=0, updated_at=utcnow())
            .on_conflict_do_nothing(index_elements=[SyncState.name])
        )
        state = session.get(SyncState, name)
        assert state is not None
    return state


def has_pending(session: DbSession, state_name: str = STATE_NAME) -> bool:
    """Whether any outbox row waits (one indexed lookup: what the worker polls)."""
    last_seq = session.scalar(select(SyncState.last_seq).where(SyncState.name == state_name))
    return (
        session.scalar(select(Outbox.seq).where(Outbox.seq > (last_seq or 0)).limit(1)) is not None
    )


def sync(
    session: DbSession,
    backend: SearchBackend,
    taxonomy: Taxonomy,
    batch_size: int = 500,
    max_rows: int | None = None,
    state_name: str = STATE_NAME,
) -> SyncReport:
    """Apply pending outbox rows (all, or about `max_rows`); commits after each batch.

    Each engine keeps its own position (`state_name`): the fallback engine is synced on
    its own, so it stays current exactly when the primary cannot be written.
    """
    state = _state(session, state_name)
    applied = upserted = removed = 0
    while max_rows is None or applied < max_rows:
        rows = list(
            session.scalars(
                select(Outbox)
                .where(Outbox.seq > state.last_seq)
                .order_by(Outbox.seq)
                .limit(batch_size)
            )
        )
        if not rows:
            break
        ids = list(dict.fromkeys(row.group_id for row in rows if row.group_id is not None))
        groups = groups_by_id(session, ids, active_only=False)
        demote = demote_stale()
        docs = [
            build_document(groups[i], taxonomy, demote_stale=demote)
            for i in ids
            if i in groups and groups[i].is_public
        ]
        gone = [i for i in ids if i not in groups or not groups[i].is_public]
        started = time.perf_counter()
        if docs:
            backend.upsert(docs)
        if gone:
            backend.remove(gone)
        state.last_seq = rows[-1].seq
        state.updated_at = utcnow()
        session.commit()
        applied += len(rows)
        upserted += len(docs)
        removed += len(gone)
        log.info(
            "event=index_sync engine=%s rows=%d upserted=%d removed=%d last_seq=%d took_ms=%.0f",
            backend.name,
            len(rows),
            len(docs),
            len(gone),
            state.last_seq,
            (time.perf_counter() - started) * 1000,
        )
    return SyncReport(applied, upserted, removed, state.last_seq)


def sync_fallback(
    session: DbSession, fallback: SearchBackend, taxonomy: Taxonomy, max_rows: int | None = None
) -> SyncReport:
    """Keep the fallback engine current from its own outbox position.

    The first time (no position yet) it is rebuilt from the live tables, so a fallback added
    to a running clearinghouse is complete however long the outbox has been pruned; so too
    when the engine says it lost its documents (`built()` false: the database engine's table
    was reset by an upgrade that changed its layout).
    """
    if needs_building(session, fallback):
        rebuild(session, fallback, taxonomy, FALLBACK_STATE_NAME)
    return sync(session, fallback, taxonomy, max_rows=max_rows, state_name=FALLBACK_STATE_NAME)


def public_documents(
    session: DbSession, taxonomy: Taxonomy, chunk: int = 2000
) -> Iterator[ListingDoc]:
    """Every active group as a document, read in id order in chunks to bound memory."""
    demote = demote_stale()
    last_id = 0
    while True:
        ids = list(
            session.scalars(
                select(Group.id)
                .where(Group.status == GroupStatus.ACTIVE, Group.id > last_id)
                .order_by(Group.id)
                .limit(chunk)
            )
        )
        if not ids:
            return
        groups = groups_by_id(session, ids, active_only=False)
        for group_id in ids:  # in id order
            if group_id in groups:
                yield build_document(groups[group_id], taxonomy, demote_stale=demote)
        last_id = ids[-1]
        session.expunge_all()


def needs_building(session: DbSession, fallback: SearchBackend) -> bool:
    """Whether the fallback must be rebuilt before it can follow the outbox: never built or
    synced, or it lost its documents (`built()` false, where the engine can tell)."""
    built = getattr(fallback, "built", None)
    return not has_position(session, FALLBACK_STATE_NAME) or (built is not None and not built())


def has_position(session: DbSession, state_name: str) -> bool:
    """Whether an engine has ever been built or synced (a new fallback is rebuilt first)."""
    return session.get(SyncState, state_name) is not None


def rebuild(
    session: DbSession, backend: SearchBackend, taxonomy: Taxonomy, state_name: str = STATE_NAME
) -> int:
    """Rebuild the index from the database; changes made meanwhile are caught by the next sync."""
    high_water = session.scalar(select(func.max(Outbox.seq))) or 0
    started = time.perf_counter()
    count = backend.rebuild(public_documents(session, taxonomy))
    state = _state(session, state_name)
    # Rows after high_water may or may not be in the rebuilt index; replaying them is harmless.
    state.last_seq = high_water
    state.updated_at = utcnow()
    session.commit()
    log.info(
        "event=index_rebuild engine=%s documents=%d took_ms=%.0f",
        backend.name,
        count,
        (time.perf_counter() - started) * 1000,
    )
    return count


def status(
    session: DbSession, backend: SearchBackend, state_name: str = STATE_NAME
) -> dict[str, object]:
    """Lag and counts, for `clearinghouse index status` and /readyz."""
    state = session.get(SyncState, state_name)
    last_seq = state.last_seq if state else 0
    newest = session.scalar(select(func.max(Outbox.seq))) or 0
    pending = (
        session.scalar(select(func.count()).select_from(Outbox).where(Outbox.seq > last_seq)) or 0
    )
    oldest = session.scalar(select(func.min(Outbox.created_at)).where(Outbox.seq > last_seq))
    active = (
        session.scalar(
            select(func.count()).select_from(Group).where(Group.status == GroupStatus.ACTIVE)
        )
        or 0
    )
    try:
        indexed: int | None = backend.count()
    except Exception:  # an engine that is down reports no count, not an error
        indexed = None
    return {
        "engine": backend.name,
        "last_seq": last_seq,
        "newest_seq": newest,
        "pending": pending,
        # How long the oldest pending change has waited: the index is this far behind.
        "lag_seconds": round((utcnow() - oldest).total_seconds(), 1) if oldest else 0.0,
        "active_groups": active,
        "indexed": indexed,
        "synced_at": state.updated_at.isoformat() if state else None,
    }


# -- standing that changes with time ---------------------------------------------------------


def demote_stale() -> bool:
    """The app's DEMOTE_STALE setting (search/documents.py); on outside an app."""
    return bool(current_app.config.get("DEMOTE_STALE", True)) if has_app_context() else True


def _last_checked() -> Any:
    """SQL: `freshness.last_checked`, falling back to when the listing was made."""
    confirmed, verified = Group.confirmed_at, Group.verified_at
    return case(
        (verified.is_(None) & confirmed.is_(None), Group.created_at),
        (verified.is_(None), confirmed),
        (confirmed.is_(None), verified),
        (confirmed > verified, confirmed),
        else_=verified,
    )


def standing_may_have_changed(since: datetime, now: datetime) -> Any:
    """SQL: the groups whose `documents.standing_of` at `now` may differ from at `since`.

    A listing turns stale when its last check passes FRESH_FOR: those whose last check lies
    in (since − FRESH_FOR, now − FRESH_FOR].  Nothing turns fresh with time alone (a
    confirmation or a check is a write, queued then).  A listing nobody has checked yet is
    judged from when it was listed.  A closure starts with a write (queued then) and ends on
    its `closed_until` day: those ending in (since, now].
    """
    cutoff = now - FRESH_FOR
    checked = _last_checked()
    floor = since - FRESH_FOR
    # The first clause narrows by the plain columns; the second is the exact rule.
    in_window = or_(
        Group.confirmed_at.between(floor, cutoff),
        Group.verified_at.between(floor, cutoff),
        Group.created_at.between(floor, cutoff),
    )
    reopened = and_(
        Group.temporarily_closed,
        Group.closed_until > since.date(),
        Group.closed_until <= now.date(),
    )
    return or_(and_(in_window, checked > floor, checked <= cutoff), reopened)


def requeue_changed_standing(session: DbSession, *, now: datetime | None = None) -> int:
    """The worker's daily standing job: queue the listings whose standing changed since the
    last pass (never all of them); returns how many.  Commits after each batch, and records
    the pass only once it is complete."""
    now = now or utcnow()
    state = session.get(SyncState, STANDING_STATE_NAME)
    if state is None:
        # The first pass only starts the clock: documents are built with their standing of
        # the day, and an index from before standing existed takes one `index rebuild`
        # (requeueing every stale listing would flood the partner change feed instead).
        session.add(SyncState(name=STANDING_STATE_NAME, last_seq=0, updated_at=now))
        session.commit()
        return 0
    since = state.updated_at
    changed = standing_may_have_changed(since, now)
    queued = 0
    last_id = 0
    while True:
        groups = list(
            session.scalars(
                select(Group)
                .where(Group.status == GroupStatus.ACTIVE, Group.id > last_id, changed)
                .order_by(Group.id)
                .limit(REQUEUE_BATCH)
            )
        )
        if not groups:
            break
        queue_reindex(session, groups)
        queued += len(groups)
        last_id = groups[-1].id
        session.commit()  # short transactions; a pass cut short is simply done again
    state.updated_at = now
    session.commit()
    log.info("event=standing_requeued groups=%d since=%s", queued, since.isoformat())
    return queued
