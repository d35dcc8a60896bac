"""Reports: stale listings for outreach, the import worklist, coverage gaps, the audit log."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import render_template, request
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from clearinghouse import flags
from clearinghouse.extensions import db
from clearinghouse.geo import CA_PROVINCES, US_STATES
from clearinghouse.inputs import parse_day
from clearinghouse.models import (
    AuditEvent,
    Group,
    GroupStatus,
    Location,
    SearchMiss,
    group_concerns,
    utcnow,
)
from clearinghouse.staff import bp
from clearinghouse.staff.common import csv_response, int_arg, paginate
from clearinghouse.staff.dashboard import flagged_condition, group_names, stale_condition
from clearinghouse.staff.forms import ActionForm
from clearinghouse.taxonomy import default_taxonomy

REGIONS = {**US_STATES, **CA_PROVINCES}


# -- stale listings -------------------------------------------------------------------------


def stale_query(months: int) -> Any:
    return (
        select(Group)
        .where(Group.status == GroupStatus.ACTIVE, stale_condition(months))
        .options(selectinload(Group.location))
        .order_by(Group.verified_at.asc().nulls_first(), Group.id)
    )


@bp.route("/reports/stale")
def stale_report() -> Any:
    months = int_arg("months", 12, 1, 240)
    return render_template(
        "staff/reports/stale.html",
        page=paginate(stale_query(months)),
        months=months,
        action=ActionForm(),
    )


@bp.route("/reports/stale.csv")
def stale_csv() -> Any:
    months = int_arg("months", 12, 1, 240)
    header = (
        "id", "name", "status", "verified_at", "city", "region", "contact_phone",
        "contact_email", "private_contact_name", "private_contact_phone",
        "private_contact_email", "staff_url",
    )  # fmt: skip

    def rows() -> Iterator[list[Any]]:
        for group in db.session.scalars(stale_query(months)):
            place = group.location
            yield [
                group.uuid,
                group.name,
                group.status,
                group.verified_at.date().isoformat() if group.verified_at else "never",
                place.city if place else "",
                place.region if place else "",
                group.contact_phone,
                group.contact_email,
                group.private_contact_name,
                group.private_contact_phone,
                group.private_contact_email,
                request.host_url.rstrip("/") + f"/staff/listings/{group.uuid}",
            ]

    return csv_response(f"stale-{months}-months.csv", header, rows())


# -- the import worklist --------------------------------------------------------------------


@bp.route("/reports/flagged")
def flagged_report() -> Any:
    query = (
        select(Group)
        .where(Group.status != GroupStatus.ARCHIVED, flagged_condition())
        .options(selectinload(Group.location))
        .order_by(Group.updated_at.desc(), Group.id)
    )
    page = paginate(query)
    # Each possible-duplicate flag on the page → the uuid of the listing it points at.
    duplicate_of = {
        flag: uuid
        for group in page.items
        for flag in group.flags or []
        if (uuid := flags.target(flag, flags.POSSIBLE_DUPLICATE)) is not None
    }
    return render_template(
        "staff/reports/flagged.html",
        page=page,
        duplicate_of=duplicate_of,
        names=group_names(set(duplicate_of.values())),
        action=ActionForm(),
    )


# -- coverage gaps --------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageRow:
    concern: str
    concern_label: str
    region: str
    region_name: str
    groups: int
    misses: int


def coverage_rows(*, level: str, region: str, max_groups: int, days: int) -> list[CoverageRow]:
    """(concern, region) pairs with at most `max_groups` active groups, with missed searches.

    At the "parent" level a child concern's groups and misses count for its parent. Without
    a region, regions are those where anything is listed or was searched for.
    """
    terms = default_taxonomy()
    roll_up = level == "parent"

    def key(slug: str) -> str:
        term = terms.get(slug)
        return term.parent if roll_up and term is not None and term.parent else slug

    groups: dict[tuple[str, str], set[int]] = {}
    query = (
        select(group_concerns.c.concern_slug, Location.region, Group.id)
        .join(Group, Group.id == group_concerns.c.group_id)
        .join(Location, Location.group_id == Group.id)
        .where(Group.status == GroupStatus.ACTIVE, Location.region != "")
    )
    for slug, place, group_id in db.session.execute(query):
        groups.setdefault((key(slug), place), set()).add(group_id)
    since = utcnow().date() - timedelta(days=days)
    misses: Counter[tuple[str, str]] = Counter()
    miss_query = (
        select(SearchMiss.concern, SearchMiss.region, func.sum(SearchMiss.count))
        .where(SearchMiss.day >= since)
        .group_by(SearchMiss.concern, SearchMiss.region)
    )
    for slug, place, total in db.session.execute(miss_query):
        misses[(key(slug) if slug else "", (place or "").upper())] += int(total or 0)
    concerns = [t for t in terms if not roll_up or t.is_parent]
    if region:
        regions = [region]
    else:
        regions = sorted({place for _c, place in groups} | {p for _c, p in misses if p})
    rows = []
    for place in regions:
        for term in concerns:
            count = len(groups.get((term.slug, place), ()))
            missed = misses.get((term.slug, place), 0)
            if count <= max_groups:
                rows.append(
                    CoverageRow(
                        term.slug, term.label, place, REGIONS.get(place, place), count, missed
                    )
                )
    # Searches with no concern or no region still say where people looked.
    for (slug, place), missed in misses.items():
        if (not slug or not place) and (not region or place == region):
            found = terms.get(slug) if slug else None
            label = found.label if found is not None else (slug or "(any concern)")
            rows.append(
                CoverageRow(
                    slug, label, place, REGIONS.get(place, place or "(anywhere)"), 0, missed
                )
            )
    rows.sort(key=lambda r: (-r.misses, r.groups, r.region, r.concern_label))
    return rows


def coverage_args() -> dict[str, Any]:
    level = request.args.get("level", "parent")
    region = (request.args.get("region") or "").upper()
    return {
        "level": level if level in ("parent", "all") else "parent",
        "region": region if region in REGIONS else "",
        "max_groups": int_arg("max_groups", 1, 0, 1000),
        "days": int_arg("days", 90, 1, 3660),
    }


@bp.route("/reports/coverage")
def coverage_report() -> Any:
    options = coverage_args()
    rows = coverage_rows(**options)
    limit = 500
    return render_template(
        "staff/reports/coverage.html",
        rows=rows[:limit],
        total=len(rows),
        limit=limit,
        options=options,
        regions=sorted(REGIONS.items()),
    )


@bp.route("/reports/coverage.csv")
def coverage_csv() -> Any:
    options = coverage_args()
    rows = coverage_rows(**options)
    return csv_response(
        "coverage-gaps.csv",
        (
            "concern",
            "concern_label",
            "region",
            "region_name",
            "active_groups",
            f"searches_found_nothing_{options['days']}d",
        ),
        ([r.concern, r.concern_label, r.region, r.region_name, r.groups, r.misses] for r in rows),
    )


# -- the audit log --------------------------------------------------------------------------


def _day(name: str) -> date | None:
    try:
        return parse_day(request.args.get(name) or "")
    except ValueError:
        return None


@bp.route("/audit")
def audit_log() -> Any:
    person = (request.args.get("actor") or "").strip()[:200]
    since, until = _day("since"), _day("until")
    group = (request.args.get("group") or "").strip()[:36]
    query = select(AuditEvent)
    if person:
        query = query.where(func.lower(AuditEvent.actor).contains(person.lower(), autoescape=True))
    if since:
        query = query.where(AuditEvent.at >= datetime.combine(since, time()))
    if until:
        query = query.where(AuditEvent.at < datetime.combine(until + timedelta(days=1), time()))
    if group:
        query = query.where(AuditEvent.group_uuid == group)
    page = paginate(query.order_by(AuditEvent.id.desc()))
    bad_dates = [n for n in ("since", "until") if request.args.get(n) and _day(n) is None]
    return render_template(
        "staff/audit.html",
        page=page,
        names=group_names(event.group_uuid for event in page.items),
        args=request.args,
        bad_dates=bad_dates,
    ), (400 if bad_dates else 200)
