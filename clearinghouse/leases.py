"""Leases: one worker at a time on a queued row, however many workers run.

`serve` runs the background loop in-process and `clearinghouse worker` may run beside it (or
on another machine).  Before a worker sends a queued message or a webhook subscription's
changes, it moves the row's next-attempt time past the work it is about to do with one
conditional UPDATE; only the worker whose UPDATE matched goes on.  A worker that dies leaves
the lease to run out, and the row is taken up again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, or_, update
from sqlalchemy.orm import InstrumentedAttribute

from clearinghouse.models import DbSession


def take(
    session: DbSession,
    column: InstrumentedAttribute[Any],
    row_id: int,
    *,
    now: datetime,
    until: datetime,
    also: ColumnElement[bool] | None = None,
) -> bool:
    """Set `column` to `until` on row `row_id` if it is due (empty or ≤ now); True if taken.

    Commits, which also expires the caller's loaded copy: it is read again as now stored.
    """
    model = column.class_
    due = or_(column.is_(None), column <= now)
    conditions = [model.id == row_id, due] if also is None else [model.id == row_id, due, also]
    result = session.execute(
        update(model)
        .where(*conditions)
        .values({column.key: until})
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return cast(CursorResult[Any], result).rowcount == 1
