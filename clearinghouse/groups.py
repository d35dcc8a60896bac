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
from collections.abc import Collection
from datetime import time
from typing import Any

from flask import url_for
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload, selectinload

from clearinghouse import flags
from clearinghouse.listings import LocationData, MeetingData
from clearinghouse.models import DbSession, Group, GroupStatus, Location, Meeting

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
    }


def meeting_values(meeting: Meeting | MeetingData) -> dict[str, Any]:
    """A schedule rule as plain values, its note included (records and the audit log)."""
    return {**schedule_values(meeting), "note": meeting.note}


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
