"""The console's front page: what needs doing, and whether search is keeping up."""

from __future__ import annotations

import logging
from typing import Any

from flask import render_template
from sqlalchemy import String, cast, func, or_, select

from clearinghouse.extensions import db
from clearinghouse.models import AuditEvent, ChangeRequest, Group, GroupStatus, ReviewStatus
from clearinghouse.staff import bp
from clearinghouse.staff.common import months_ago
from indexer.sync import status

log = logging.getLogger(__name__)
STALE_MONTHS = 12


def count(*conditions: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(Group).where(*conditions)) or 0


def stale_condition(months: int) -> Any:
    cutoff = months_ago(months)
    return or_(Group.verified_at.is_(None), Group.verified_at < cutoff)


def flagged_condition() -> Any:
    text = cast(Group.flags, String)
    return Group.flags.is_not(None) & (text != "[]") & (text != "null")


def index_status() -> dict[str, Any]:
    from clearinghouse.search import get_backend

    try:
        return status(db.session, get_backend())
    except Exception as error:  # the dashboard still shows when the engine cannot be built
        db.session.rollback()
        log.warning("event=index_status_failed error=%s", type(error).__name__)
        return {"error": f"{type(error).__name__}: {str(error)[:200]}"}


@bp.route("/")
def dashboard() -> Any:
    counts = {
        "active": count(Group.status == GroupStatus.ACTIVE),
        "pending": db.session.scalar(
            select(func.count())
            .select_from(ChangeRequest)
            .where(ChangeRequest.status == ReviewStatus.PENDING)
        )
        or 0,
        "stale": count(Group.status == GroupStatus.ACTIVE, stale_condition(STALE_MONTHS)),
        "flagged": count(Group.status != GroupStatus.ARCHIVED, flagged_condition()),
    }
    recent = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(15)))
    names = group_names(event.group_uuid for event in recent)
    from clearinghouse.staff.sources import sources_needing_staff
    from clearinghouse.staff.webhooks import paused_webhooks

    return render_template(
        "staff/dashboard.html",
        troubled_sources=sources_needing_staff(),
        paused_webhooks=paused_webhooks(),
        counts=counts,
        index=index_status(),
        recent=recent,
        names=names,
        stale_months=STALE_MONTHS,
    )


def group_names(uuids: Any) -> dict[str, str]:
    wanted = {u for u in uuids if u}
    if not wanted:
        return {}
    rows = db.session.execute(select(Group.uuid, Group.name).where(Group.uuid.in_(wanted)))
    return {row.uuid: row.name for row in rows}
