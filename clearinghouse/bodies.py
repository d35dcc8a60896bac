"""Each group's public JSON, stored per version: search results without the ORM.

Loading 20 groups through the ORM and serialising them cost more than the search itself.
So `serialize.group_body` — the part of a group's public JSON that depends on the group
alone — is kept as JSON text in `public_bodies`, with the version of the group it was made
from (`updated_at`, which every change moves) and `BODY_FORMAT`:

- every audited change writes the body in the change's own transaction (`save_body`, from
  `store.audit_and_queue`), so an edit is visible at once;
- `public_bodies` reads a page of them with one query; a body whose version or format is
  not the group's (made before this table, by older code, or after a concern was renamed)
  is made again from the ORM and written back, best effort, in its own short transaction.

Only public fields are in a body: private contact details never pass through here.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime, time
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import orjson
from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from clearinghouse import groups, schedule, serialize
from clearinghouse.groups import groups_by_id
from clearinghouse.models import DbSession, Group, GroupStatus, PublicBody
from clearinghouse.schedule import Closure, Rule
from clearinghouse.serialize import group_body

log = logging.getLogger(__name__)


def _format_of(*modules: ModuleType) -> int:
    """A number that changes with the source of the modules a body is made by, so a release
    that changes what `group_body` answers makes every stored body again (on read, or by
    `index rebuild`) without anyone remembering to say so; a release that leaves them alone
    keeps them."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update(Path(inspect.getfile(module)).read_bytes())
    return int.from_bytes(digest.digest()[:4], "big") & 0x7FFFFFFF


BODY_FORMAT = _format_of(serialize, groups, schedule)
# A body written back on read waits at most this long for a writer; else the next read does it.
WRITE_BACK_WAIT_MS = 50

_groups = Group.__table__
_bodies = cast(Table, PublicBody.__table__)


# A page of groups' versions and stored bodies (built once: building it cost as much as running
# it).  The status is checked in Python, not in SQL: with it in the WHERE clause SQLite walks the
# (status, updated_at) index over every active group instead of the ids' primary keys.
_PAGE = (
    select(
        _groups.c.id,
        _groups.c.updated_at,
        _groups.c.status,
        _bodies.c.version,
        _bodies.c.format,
        _bodies.c.body,
    )
    .select_from(_groups.outerjoin(_bodies, _bodies.c.group_id == _groups.c.id))
    .where(_groups.c.id.in_(bindparam("ids", expanding=True)))
)


def encode(body: Mapping[str, Any]) -> str:
    return orjson.dumps(body).decode()


def save_body(session: DbSession, group: Group) -> None:
    """Store the public body of `group` at its current version, in the caller's transaction."""
    if group.status != GroupStatus.ACTIVE:
        return
    _upsert(session, session.get_bind().dialect.name, [_row(group)])


def forget_bodies(session: DbSession, group_ids: Iterable[int] | None = None) -> None:
    """Drop stored bodies (all of them when `group_ids` is None); they are made again on read."""
    statement = delete(_bodies)
    if group_ids is not None:
        statement = statement.where(_bodies.c.group_id.in_(sorted(group_ids)))
    session.execute(statement)


def public_bodies(session: DbSession, ids: Collection[int]) -> dict[int, dict[str, Any]]:
    """The public body of each active group among `ids`, read with one query.

    Bodies missing or stale are made from the ORM and written back (see the module docstring).
    """
    return {group_id: body for group_id, (_version, body) in versioned_bodies(session, ids).items()}


def versioned_bodies(
    session: DbSession, ids: Collection[int]
) -> dict[int, tuple[datetime, dict[str, Any]]]:
    """`public_bodies` with each group's `updated_at` to the microsecond (a body's has whole
    seconds, like the API's), for orders that must match the engines'."""
    if not ids:
        return {}
    rows = session.execute(_PAGE, {"ids": sorted(ids)})
    found: dict[int, tuple[datetime, dict[str, Any]]] = {}
    stale: list[int] = []
    for group_id, updated_at, status, version, body_format, body in rows:
        if status != GroupStatus.ACTIVE:
            continue
        if version == updated_at and body_format == BODY_FORMAT:
            found[group_id] = updated_at, orjson.loads(body)
        else:
            stale.append(group_id)
    if stale:
        groups = groups_by_id(session, stale)
        made = [_row(group) for group in groups.values()]
        for row in made:
            group = groups[row["group_id"]]
            found[group.id] = group.updated_at, group_body(group)
        _write_back(session, made)
    return found


def make_missing(session: DbSession, batch: int = 500) -> int:
    """Store the body of every active group that has none, or a stale one; how many were made.

    Reads make missing bodies too, but one at a time as pages ask; `clearinghouse index
    rebuild` calls this so that a store upgraded to this table, or to a new `BODY_FORMAT`,
    answers its first searches at full speed.
    """
    stale = (
        select(_groups.c.id)
        .select_from(_groups.outerjoin(_bodies, _bodies.c.group_id == _groups.c.id))
        .where(_groups.c.status == GroupStatus.ACTIVE)
        .where(
            _bodies.c.group_id.is_(None)
            | (_bodies.c.version != _groups.c.updated_at)
            | (_bodies.c.format != BODY_FORMAT)
        )
        .order_by(_groups.c.id)
    )
    ids = list(session.scalars(stale))
    dialect = session.get_bind().dialect.name
    for start in range(0, len(ids), batch):
        groups = groups_by_id(session, ids[start : start + batch])
        _upsert(session, dialect, [_row(group) for group in groups.values()])
        session.commit()
    return len(ids)


def _row(group: Group) -> dict[str, Any]:
    return {
        "group_id": group.id,
        "version": group.updated_at,
        "format": BODY_FORMAT,
        "body": encode(group_body(group)),
    }


def _upsert(executor: Any, dialect: str, rows: list[dict[str, Any]]) -> None:
    executor.execute(_upsert_statement(dialect), rows)


@functools.cache
def _upsert_statement(dialect: str) -> Any:
    """Insert or replace bodies (SQLite and PostgreSQL share the ON CONFLICT syntax); built
    once per dialect: building it cost more than running it."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(_bodies)
    return statement.on_conflict_do_update(
        index_elements=[_bodies.c.group_id],
        set_={
            "version": statement.excluded.version,
            "format": statement.excluded.format,
            "body": statement.excluded.body,
        },
    )


def _write_back(session: DbSession, rows: list[dict[str, Any]]) -> None:
    """Store bodies made on read in a short transaction of their own, never waiting long."""
    if not rows:
        return
    engine = session.get_bind().engine
    dialect = engine.dialect.name
    try:
        with engine.connect() as connection:
            waited = None
            if dialect == "sqlite":  # the connection's own wait, put back before it is pooled
                waited = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
                connection.exec_driver_sql(f"PRAGMA busy_timeout = {WRITE_BACK_WAIT_MS}")
            try:
                if dialect == "postgresql":
                    connection.exec_driver_sql(f"SET LOCAL lock_timeout = {WRITE_BACK_WAIT_MS}")
                _upsert(connection, dialect, rows)
                connection.commit()
            finally:
                connection.rollback()
                if waited is not None:
                    connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(waited)}")
                    connection.commit()
    except SQLAlchemyError as error:  # busy: the next read writes them
        log.info(
            "event=public_bodies_not_written count=%d error=%s", len(rows), type(error).__name__
        )


def rules_of_body(body: Mapping[str, Any]) -> list[Rule]:
    """The schedule rules of a public body, with the group's cancelled days and closure: what
    `groups.rule_of` gives from the rows (less the notes, which no next date reads)."""
    closure = closure_of_body(body)
    group_days = _days(body["cancellations"])
    return [
        Rule(
            meeting["freq"],
            tuple(meeting["byday"]),
            _time(meeting["start"]),
            _time(meeting["end"]),
            meeting["timezone"],
            interval=meeting["interval"],
            anchor=_day(meeting["anchor"]),
            cancelled=group_days | _days(meeting["cancellations"]),
            closure=closure,
        )
        for meeting in body["meetings"]
    ]


def closure_of_body(body: Mapping[str, Any]) -> Closure | None:
    """The closure of a public body, as `schedule.closure_of` gives it from the row."""
    values = body["closure"]
    return Closure(_day(values["until"]), values["reason"]) if values else None


def _days(items: Iterable[Mapping[str, str]]) -> frozenset[date]:
    return frozenset(date.fromisoformat(item["date"]) for item in items)


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _time(text: str | None) -> time | None:
    return time.fromisoformat(text) if text else None
