"""The freshness page: how much of the directory its groups or staff checked this year.

Listings from a partner feed whose last refresh succeeded count as fresh: the partner keeps
them true.  "Waiting for a person" are the listings the yearly cycle handed to staff (no
answer from the group) and those whose private contact address is bad.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

from flask import Response, flash, redirect, render_template, url_for
from sqlalchemy import String, case, cast, func, or_, select

from clearinghouse import flags, freshness
from clearinghouse.extensions import db
from clearinghouse.models import (
    FeedSource,
    FreshnessRequest,
    Group,
    GroupStatus,
    Location,
    SourceOutcome,
    utcnow,
)
from clearinghouse.staff import bp
from clearinghouse.staff.common import actor
from clearinghouse.staff.forms import ActionForm

FRESH_WITHIN = timedelta(days=365)
WAITING_FLAGS = (flags.NO_ANSWER, flags.BAD_CONTACT)


def healthy_sources() -> list[str]:
    """Partner feeds whose last refresh succeeded."""
    good = (SourceOutcome.IMPORTED, SourceOutcome.NOT_MODIFIED, SourceOutcome.HELD)
    return list(
        db.session.scalars(select(FeedSource.name).where(FeedSource.last_outcome.in_(good)))
    )


def fresh_condition(now: datetime) -> Any:
    cutoff = now - FRESH_WITHIN
    return or_(
        Group.confirmed_at > cutoff,
        Group.verified_at > cutoff,
        Group.source.in_(healthy_sources()),
    )


def shares(now: datetime, column: Any) -> list[dict[str, Any]]:
    """Fresh / total active listings grouped by `column`, largest first."""
    fresh = func.sum(case((fresh_condition(now), 1), else_=0))
    query = (
        select(column, func.count(), fresh)
        .select_from(Group)
        .outerjoin(Location, Location.group_id == Group.id)
        .where(Group.status == GroupStatus.ACTIVE)
        .group_by(column)
        .order_by(func.count().desc())
    )
    rows = []
    for key, total, fresh_count in db.session.execute(query):
        fresh_count = int(fresh_count or 0)
        rows.append(
            {
                "key": key or "—",
                "total": int(total),
                "fresh": fresh_count,
                "share": round(100 * fresh_count / total) if total else 0,
            }
        )
    return rows


def month_counts(now: datetime) -> dict[str, int]:
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)

    def count(*conditions: Any) -> int:
        query = select(func.count()).select_from(FreshnessRequest).where(*conditions)
        return int(db.session.scalar(query) or 0)

    answered = FreshnessRequest.answered_at >= start
    return {
        "sent": count(FreshnessRequest.sent_at >= start),
        "answered": count(answered),
        "confirmed": count(answered, FreshnessRequest.answer == "confirmed"),
        "changed": count(answered, FreshnessRequest.answer == "changed"),
        "stopped": count(answered, FreshnessRequest.answer == "stopped"),
        "no_answer": count(FreshnessRequest.handed_off_at >= start),
    }


def waiting_groups() -> list[Group]:
    text = cast(Group.flags, String)
    return list(
        db.session.scalars(
            select(Group)
            .where(
                Group.status == GroupStatus.ACTIVE,
                or_(*(text.contains(f'"{flag}"', autoescape=True) for flag in WAITING_FLAGS)),
            )
            .order_by(Group.name)
            .limit(1000)
        )
    )


def waiting_reasons(group: Group) -> list[str]:
    words = {flags.NO_ANSWER: "no answer from the group", flags.BAD_CONTACT: "bad contact e-mail"}
    return [words[flag] for flag in WAITING_FLAGS if flag in (group.flags or [])]


@bp.route("/freshness")
def freshness_page() -> Any:
    now = utcnow()
    active = shares(now, func.lower(func.coalesce(Group.status, "")))
    overall = active[0] if active else {"total": 0, "fresh": 0, "share": 0}
    waiting = waiting_groups()
    return render_template(
        "staff/freshness.html",
        overall=overall,
        by_state=shares(now, Location.region),
        by_source=shares(now, Group.source),
        month=month_counts(now),
        waiting=[
            (group, waiting_reasons(group), freshness.last_checked(group)) for group in waiting
        ],
        action=ActionForm(),
    )


@bp.route("/freshness.csv")
def freshness_csv() -> Response:
    """The listings waiting for a person, for phoning round."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "name", "state", "reasons", "last_checked", "staff_url"])
    for group in waiting_groups():
        checked = freshness.last_checked(group)
        writer.writerow(
            [
                group.uuid,
                group.name,
                group.location.region if group.location else "",
                "; ".join(waiting_reasons(group)),
                checked.date().isoformat() if checked else "",
                url_for("staff.listing", group_uuid=group.uuid, _external=True),
            ]
        )
    return Response(
        out.getvalue(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=freshness-waiting.csv"},
    )


@bp.route("/freshness/<group_uuid>/bounced", methods=["POST"])
def mark_bounced(group_uuid: str) -> Any:
    """Staff learnt the group's private address is bad: flag it, send it nothing more."""
    group = db.session.scalar(select(Group).where(Group.uuid == group_uuid))
    if group is None or not ActionForm().validate_on_submit():
        flash("That listing was not found, or the form had expired.", "error")
        return redirect(url_for("staff.freshness_page"))
    if freshness.mark_contact_bounced(db.session, group, actor=actor()):
        db.session.commit()
        flash(
            f"Marked the contact e-mail of “{group.name}” as bad; it gets no more e-mail.",
            "success",
        )
    else:
        flash(f"“{group.name}” has no private contact e-mail.", "info")
    return redirect(url_for("staff.freshness_page"))
