"""Reading groups: loading a group with its details, and one shape for its parts.

Every page, feed, index sync and import that shows or compares a whole group loads it
through `with_details` (the one set of eager loads), so adding a related table is one edit.
`location_values` and `meeting_values` are the one shape of a place and a schedule rule
as plain values, shared by the public JSON (`serialize`), the console's raw records
(`staff.records`) and the audit snapshot (`store.snapshot`); `contact_values`,
`online_values` and `private_contact_values` likewise for a group's contact details.  Only
`private_contact_values` reads private fields: public output never calls it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date, time
from typing import Any

from flask import url_for
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload, selectinload

from clearinghouse import flags, schedule
from clearinghouse.listings import ListingData, LocationData, MeetingData
from clearinghouse.models import DbSession, Group, GroupStatus, Location, Meeting
from clearinghouse.schedule import Cancellation, Closure, Rule

log = logging.getLogger(__name__)

# The columns of a place, in the order every representation lists them.
LOCATION_FIELDS = (
    "name",
    "address",
    "city",
    "region",
    "postal_code",
    "country",
    "lat",
    "lon",
    "approximate",
    "timezone",
    "notes",
)


def with_details(query: Select[Any]) -> Select[Any]:
    """Eager-load everything a whole group shows: organisation, place, concerns, schedule.

    The one-to-one relations are joined in and the lists read in one query each: each query
    costs far more in the ORM than in the database.
    """
    return query.options(
        joinedload(Group.organization),
        joinedload(Group.location),
        selectinload(Group.concerns),
        selectinload(Group.meetings),
    )


def groups_by_id(
    session: DbSession, ids: Collection[int], *, active_only: bool = True
) -> dict[int, Group]:
    """The groups among `ids` with their details (only the public ones unless told).

    The status is checked here, not in SQL: with it in the WHERE clause SQLite walks the
    (status, updated_at) index over every active group instead of the ids' primary keys.
    """
    if not ids:
        return {}
    query = with_details(select(Group).where(Group.id.in_(sorted(ids))))
    return {
        group.id: group for group in session.scalars(query) if group.is_public or not active_only
    }


def active_group(
    session: DbSession, *, uuid: str | None = None, slug: str | None = None
) -> Group | None:
    """The public (active) group with this uuid or slug, with its details, or None."""
    query = select(Group).where(Group.status == GroupStatus.ACTIVE)
    if uuid is not None:
        query = query.where(Group.uuid == uuid)
    if slug is not None:
        query = query.where(Group.slug == slug)
    return session.scalar(with_details(query))


def merged_into_slug(session: DbSession, slug: str) -> str | None:
    """The slug of the active group that the (archived) group `slug` was merged into, if any."""
    uuid = flags.merged_into(session.scalar(select(Group.flags).where(Group.slug == slug)))
    if uuid is None:
        return None
    return session.scalar(
        select(Group.slug).where(Group.uuid == uuid, Group.status == GroupStatus.ACTIVE)
    )


def public_url(slug: str) -> str:
    """The absolute address of a group's public page (needs a request or SERVER_NAME)."""
    return url_for("public.group_page", slug=slug, _external=True)


_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")


def public_urls() -> Callable[[str], str]:
    """`public_url` for a page of results: the route is built once, then each slug put in
    (a slug of URL-safe characters reads the same quoted or not; any other goes to url_for)."""
    marker = "0slug0"
    before, _, after = public_url(marker).rpartition(marker)

    def url(slug: str) -> str:
        return before + slug + after if _UNRESERVED.fullmatch(slug) else public_url(slug)

    return url


# -- one shape for a group's parts ---------------------------------------------------------


def location_values(location: Location | LocationData | None) -> dict[str, Any] | None:
    """A place as plain values (None when the group meets nowhere in person)."""
    if location is None:
        return None
    return {name: getattr(location, name) for name in LOCATION_FIELDS}


def schedule_values(meeting: Meeting | MeetingData) -> dict[str, Any]:
    """The machine-readable part of a schedule rule: frequency, days, times, zone."""
    return {
        "freq": meeting.freq,
        "byday": list(meeting.byday or []),
        "start": hhmm(meeting.start),
        "end": hhmm(meeting.end),
        "timezone": meeting.timezone,
        "interval": meeting.interval or 1,
        "anchor": meeting.anchor.isoformat() if meeting.anchor else None,
    }


def meeting_values(meeting: Meeting | MeetingData) -> dict[str, Any]:
    """A schedule rule as plain values, its note and cancelled days included."""
    return {
        **schedule_values(meeting),
        "note": meeting.note,
        "cancellations": cancellation_values(meeting.cancellations),
    }


def cancellation_values(
    items: Iterable[Cancellation | Mapping[str, Any]] | None,
) -> list[dict[str, str]]:
    """Days with no meeting as [{"date": "2026-12-24", "reason": "…"}], in date order."""
    return [
        {"date": item.day.isoformat(), "reason": item.reason} for item in cancellations_of(items)
    ]


def cancellations_of(
    items: Iterable[Cancellation | Mapping[str, Any]] | None,
) -> list[Cancellation]:
    """Stored days with no meeting (JSON objects) or validated ones, as values in date order."""
    found = []
    for item in items or ():
        if isinstance(item, Cancellation):
            found.append(item)
        elif isinstance(item, Mapping) and item.get("date"):
            found.append(
                Cancellation(date.fromisoformat(str(item["date"])), str(item.get("reason") or ""))
            )
    return sorted(found, key=lambda cancellation: cancellation.day)


def closure_values(group: Group | ListingData) -> dict[str, Any] | None:
    """Temporarily closed as {"until": "2027-01-10" or None, "reason": "…"}, else None."""
    closure = group.closure if isinstance(group, ListingData) else schedule.closure_of(group)
    if closure is None:
        return None
    return {"until": closure.until.isoformat() if closure.until else None, "reason": closure.reason}


def rule_of(meeting: Meeting) -> Rule:
    """A stored meeting as a schedule rule, with its group's cancelled days and closure.

    The one way from a row to a `Rule`: every next date, .ics and label reads through it,
    so a cancelled day or a closure is skipped everywhere.
    """
    group = meeting.group
    days = cancellations_of(meeting.cancellations)
    closure: Closure | None = None
    if group is not None:
        days += cancellations_of(group.cancellations)
        closure = schedule.closure_of(group)
    return Rule(
        meeting.freq,
        tuple(meeting.byday or ()),
        meeting.start,
        meeting.end,
        meeting.timezone,
        meeting.note,
        interval=meeting.interval or 1,
        anchor=meeting.anchor,
        cancelled=frozenset(cancellation.day for cancellation in days),
        closure=closure,
    )


def contact_values(group: Group) -> dict[str, Any]:
    return {"phone": group.contact_phone, "email": group.contact_email, "website": group.website}


def online_values(group: Group) -> dict[str, Any]:
    return {"url": group.online_url, "phone": group.online_phone, "notes": group.online_notes}


def private_contact_values(group: Group) -> dict[str, Any]:
    """Staff-only contact details: never part of any public representation."""
    return {
        "name": group.private_contact_name,
        "phone": group.private_contact_phone,
        "email": group.private_contact_email,
        "notes": group.private_notes,
    }


def hhmm(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value else None
