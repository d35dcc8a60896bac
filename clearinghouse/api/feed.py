"""The partner change feed and full export, read from the outbox and the store.

The outbox's `seq` is monotonic in commit order (the store takes an advisory lock on
PostgreSQL), so "every row after my cursor" never skips a change committed meanwhile.  Each
row is answered with the group as it is *now*: an upsert of a group that is no longer active
becomes a removal, so nothing that is not public can leak through an old row.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from clearinghouse.changes import Change, ChangesPage, change_json, changes_after
from clearinghouse.extensions import db
from clearinghouse.groups import with_details
from clearinghouse.models import Group, GroupStatus, Outbox

__all__ = [
    "Change",
    "ChangesPage",
    "CursorError",
    "change_json",
    "changes_after",
    "decode_cursor",
    "encode_cursor",
    "head_seq",
    "iter_active_groups",
    "stream_rows",
]

_CURSOR = re.compile(r"[0-9]{1,18}")


class CursorError(ValueError):
    """A `since` cursor that is malformed, expired or ahead of the feed."""


def encode_cursor(seq: int) -> str:
    return str(seq)


def head_seq(session: Session) -> int:
    """The newest outbox position: an export taken now is current up to here."""
    return session.scalar(select(func.max(Outbox.seq))) or 0


def decode_cursor(session: Session, cursor: str) -> int:
    """The outbox position a cursor stands for; malformed, expired or future ones are errors."""
    text = cursor
    if not _CURSOR.fullmatch(text):
        raise CursorError(
            f"{text[:40]!r} is not a cursor from this feed; use the 'next' value of a /changes "
            "response or the X-Changes-Cursor header of /export.ndjson, or leave it out to start "
            "at the beginning"
        )
    seq = int(text)
    head = head_seq(session)
    if seq > head:
        raise CursorError(
            f"cursor {seq} is ahead of the feed (newest change is {head}); "
            "start again from an export"
        )
    oldest = session.scalar(select(func.min(Outbox.seq)))
    if oldest is not None and seq < oldest - 1:
        raise CursorError(
            f"cursor {seq} has expired: older changes were pruned; load /export.ndjson and "
            "continue from its cursor"
        )
    return seq


def stream_rows(
    query: Select[Any], key: InstrumentedAttribute[int], *, details: bool = True, chunk: int = 500
) -> Iterator[Any]:
    """Every row of `query` (ordered by `key`), read in keyset chunks to bound memory.

    Streams use their own session, so detaching rows between chunks never touches the
    request's session, and a long export holds no request-scoped state.
    """
    with Session(db.engine) as session:
        last: int | None = None
        while True:
            page = query if last is None else query.where(key > last)
            page = page.limit(chunk)
            rows = list(session.scalars(with_details(page) if details else page))
            if not rows:
                return
            yield from rows
            last = getattr(rows[-1], key.key)
            session.expunge_all()


def iter_active_groups() -> Iterator[Group]:
    """Every active group in id order."""
    return stream_rows(
        select(Group).where(Group.status == GroupStatus.ACTIVE).order_by(Group.id), Group.id
    )
