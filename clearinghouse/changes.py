"""Listing changes in commit order, read from the outbox: the change feed's and webhooks' source.

The outbox's `seq` is monotonic in commit order (the store takes an advisory lock on
PostgreSQL), so "every row after my cursor" never skips a change committed meanwhile.  Each
row is answered with the group as it is *now*: an upsert of a group that is no longer active
becomes a removal, so nothing that is not public can leak through an old row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from clearinghouse.groups import groups_by_id, public_url
from clearinghouse.models import DbSession, Group, Outbox
from clearinghouse.serialize import group_json


@dataclass(frozen=True)
class Change:
    seq: int
    action: str  # "upsert" | "remove"
    group_uuid: str
    group: Group | None  # the current, active group for an upsert


@dataclass(frozen=True)
class ChangesPage:
    changes: list[Change]
    next_seq: int
    has_more: bool


def changes_after(session: DbSession, since: int, limit: int) -> ChangesPage:
    """Up to `limit` changes after `since`, in commit order."""
    rows = list(
        session.scalars(
            select(Outbox).where(Outbox.seq > since).order_by(Outbox.seq).limit(limit + 1)
        )
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    groups = groups_by_id(session, {row.group_id for row in rows if row.group_id is not None})
    changes: list[Change] = []
    for row in rows:
        group = groups.get(row.group_id) if row.group_id is not None else None
        if row.action == "upsert" and group is not None and group.uuid == row.group_uuid:
            changes.append(Change(row.seq, "upsert", row.group_uuid, group))
        else:
            changes.append(Change(row.seq, "remove", row.group_uuid, None))
    next_seq = rows[-1].seq if rows else since
    return ChangesPage(changes, next_seq, has_more)


def change_json(change: Change) -> dict[str, Any]:
    """One change entry as /api/v1/changes and webhook deliveries send it (needs a URL context)."""
    return {
        "seq": change.seq,
        "action": change.action,
        "id": change.group_uuid,
        "group": (
            group_json(change.group, url=public_url(change.group.slug))
            if change.group is not None
            else None
        ),
    }
