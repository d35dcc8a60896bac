"""Writing listings: apply validated data, audit each field, and queue the index change.

Every change to a group goes through `apply_listing`, `set_status` or `delete_group`, which
write an `AuditEvent` and an `Outbox` row in the caller's transaction, so the search index
and the partner change feed can never miss a committed change.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from sqlalchemy import func, select, text

from clearinghouse import geo
from clearinghouse.geocoding import current_locator
from clearinghouse.listings import ListingData, LocationData, MeetingData, slugify
from clearinghouse.models import (
    AuditEvent,
    Concern,
    DbSession,
    Group,
    Location,
    Meeting,
    Organization,
    Outbox,
    utcnow,
)

log = logging.getLogger(__name__)

# Fields copied straight from ListingData onto Group.
SCALAR_FIELDS = (
    "name",
    "description",
    "format",
    "attendance",
    "open",
    "time_limited",
    "cost",
    "cost_note",
    "contact_phone",
    "contact_email",
    "website",
    "online_url",
    "online_phone",
    "online_notes",
    "private_contact_name",
    "private_contact_phone",
    "private_contact_email",
    "private_notes",
)
LIST_FIELDS = ("languages", "audience", "accessibility", "service_area", "unknown_concerns")
LOCATION_FIELDS = tuple(f.name for f in dataclasses.fields(LocationData))
PRIVATE_FIELDS = frozenset(
    {"private_contact_name", "private_contact_phone", "private_contact_email", "private_notes"}
)
# An advisory lock key that orders outbox writes on PostgreSQL by commit.
_OUTBOX_LOCK = 7_211_998


@dataclass
class Change:
    group: Group
    action: str  # "added" | "updated" | "unchanged"
    changes: dict[str, Any] = field(default_factory=dict)


def geocode_listing(
    data: ListingData, locate: Callable[..., geo.Place | None] | None = None
) -> tuple[ListingData, list[str]]:
    """Fill coordinates (a ZIP or city centroid, marked approximate) and time zones."""
    notes: list[str] = []
    location = data.location
    if location is not None:
        if location.lat is None and (location.postal_code or location.city):
            place = (locate or current_locator())(
                address=location.address or None,
                city=location.city or None,
                region=location.region or None,
                postal_code=location.postal_code or None,
                country=location.country,
            )
            if place is None:
                notes.append("location: could not be placed on the map from its address")
            else:
                location = dataclasses.replace(
                    location,
                    lat=round(place.lat, 6),
                    lon=round(place.lon, 6),
                    approximate=place.approximate,
                    city=location.city or (place.city or ""),
                    region=location.region or (place.region or ""),
                    timezone=location.timezone or place.timezone,
                )
                if place.approximate:
                    notes.append(f"location: placed approximately at {place.label}")
        if location.lat is not None and location.lon is not None and not location.timezone:
            location = dataclasses.replace(
                location, timezone=geo.timezone_at(location.lat, location.lon)
            )
    zone = location.timezone if location else None
    meetings = tuple(
        meeting if meeting.timezone or not zone else dataclasses.replace(meeting, timezone=zone)
        for meeting in data.meetings
    )
    return dataclasses.replace(data, location=location, meetings=meetings), notes


def snapshot(group: Group) -> dict[str, Any]:
    """The group's fields as plain, comparable values (what the audit log diffs)."""
    values: dict[str, Any] = {name: getattr(group, name) for name in SCALAR_FIELDS}
    values.update({name: list(getattr(group, name) or []) for name in LIST_FIELDS})
    values["organization"] = group.organization.name if group.organization else ""
    values["concerns"] = sorted(concern.slug for concern in group.concerns)
    location = group.location
    values["location"] = (
        {name: getattr(location, name) for name in LOCATION_FIELDS} if location else None
    )
    values["meetings"] = [
        {
            "freq": meeting.freq,
            "byday": list(meeting.byday),
            "start": _hhmm(meeting.start),
            "end": _hhmm(meeting.end),
            "timezone": meeting.timezone,
            "note": meeting.note,
        }
        for meeting in group.meetings
    ]
    values["status"] = group.status
    values["verified_at"] = group.verified_at.isoformat() if group.verified_at else None
    return values


def data_snapshot(data: ListingData) -> dict[str, Any]:
    """The same shape as `snapshot`, for validated data about to be applied."""
    values: dict[str, Any] = {name: getattr(data, name) for name in SCALAR_FIELDS}
    values.update({name: list(getattr(data, name)) for name in LIST_FIELDS})
    values["organization"] = data.organization
    values["concerns"] = sorted(data.concerns)
    values["location"] = dataclasses.asdict(data.location) if data.location else None
    values["meetings"] = [
        {
            "freq": meeting.freq,
            "byday": list(meeting.byday),
            "start": _hhmm(meeting.start),
            "end": _hhmm(meeting.end),
            "timezone": meeting.timezone,
            "note": meeting.note,
        }
        for meeting in data.meetings
    ]
    return values


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Field by field: {field: [old, new]} for what differs; private values are masked."""
    changes: dict[str, Any] = {}
    for name, new in after.items():
        old = before.get(name)
        if old != new:
            changes[name] = ["(private)", "(private)"] if name in PRIVATE_FIELDS else [old, new]
    return changes


def apply_listing(
    session: DbSession,
    data: ListingData,
    *,
    actor: str,
    group: Group | None = None,
    source: str | None = None,
    status: str = "active",
    user_id: int | None = None,
) -> Change:
    """Create or update a group from validated data; unchanged data writes nothing."""
    is_new = group is None
    before = snapshot(group) if group is not None else {}
    wanted = data_snapshot(data)
    if group is not None:
        comparable = {name: before.get(name) for name in wanted}
        if data.status:
            comparable["status"], wanted["status"] = group.status, data.status
        if comparable == wanted:
            return Change(group, "unchanged")
    if group is None:
        group = Group(
            slug=unique_slug(session, data.slug or _slug_base(data)),
            source=source,
            external_id=data.external_id,
            status=data.status or status,
            created_at=utcnow(),
        )
        session.add(group)
    elif data.status:
        group.status = data.status
    for name in SCALAR_FIELDS:
        setattr(group, name, getattr(data, name))
    for name in LIST_FIELDS:
        setattr(group, name, list(getattr(data, name)))
    if data.verified_at:
        group.verified_at = data.verified_at
    group.organization = _organization(session, data.organization)
    group.concerns = _concern_rows(session, data.concerns)
    _apply_location(group, data.location)
    group.meetings = [_meeting_row(index, meeting) for index, meeting in enumerate(data.meetings)]
    group.flags = _flags(group, data)
    group.updated_at = utcnow()
    session.flush()
    after = snapshot(group)
    changes = diff(before, after)
    record(session, group, "create" if is_new else "update", actor, changes, user_id=user_id)
    return Change(group, "added" if is_new else "updated", changes)


def set_status(
    session: DbSession, group: Group, status: str, *, actor: str, user_id: int | None = None
) -> bool:
    """Publish, archive or restore a group; returns False when it already had that status."""
    if group.status == status:
        return False
    old = group.status
    group.status = status
    group.updated_at = utcnow()
    session.flush()
    action = {"archived": "archive", "active": "publish"}.get(status, "status")
    record(session, group, action, actor, {"status": [old, status]}, user_id=user_id)
    return True


def mark_verified(
    session: DbSession, group: Group, *, actor: str, user_id: int | None = None
) -> None:
    old = group.verified_at.isoformat() if group.verified_at else None
    group.verified_at = utcnow()
    group.updated_at = group.verified_at
    session.flush()
    record(
        session,
        group,
        "verify",
        actor,
        {"verified_at": [old, group.verified_at.isoformat()]},
        user_id=user_id,
    )


def delete_group(
    session: DbSession, group: Group, *, actor: str, user_id: int | None = None
) -> None:
    """Purge a group for good; the audit trail and a tombstone in the outbox remain."""
    session.add(AuditEvent(actor=actor, user_id=user_id, group_uuid=group.uuid, action="purge"))
    _lock_outbox(session)
    session.add(Outbox(group_uuid=group.uuid, group_id=group.id, action="remove"))
    session.delete(group)
    session.flush()


def record(
    session: DbSession,
    group: Group,
    action: str,
    actor: str,
    changes: dict[str, Any],
    *,
    user_id: int | None = None,
) -> None:
    """Audit the change and queue it for the index and the partner feed, in this transaction."""
    session.add(
        AuditEvent(
            actor=actor, user_id=user_id, group_uuid=group.uuid, action=action, changes=changes
        )
    )
    _lock_outbox(session)
    outbox_action = "upsert" if group.status == "active" else "remove"
    session.add(Outbox(group_uuid=group.uuid, group_id=group.id, action=outbox_action))
    log.info("event=listing_%s group_id=%s actor=%s", action, group.uuid, actor.split(":")[0])


def _lock_outbox(session: DbSession) -> None:
    """On PostgreSQL, hold a transaction lock so outbox seqs become visible in order."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _OUTBOX_LOCK})


def unique_slug(session: DbSession, base: str, exclude_id: int | None = None) -> str:
    """`base`, else the first free `base-2`, `base-3`, …; looked up 100 at a time.

    A national directory holds hundreds of groups with the same name in the same city
    ("Online Alcohol Recovery Group"), so probing one candidate per query grows with the
    square of the directory; exact-match lookups also use the index under any collation.
    """
    base = slugify(base) or "group"
    start = 1
    while True:
        candidates = [base if n == 1 else f"{base[:95]}-{n}" for n in range(start, start + 100)]
        query = select(Group.slug).where(Group.slug.in_(candidates))
        if exclude_id is not None:
            query = query.where(Group.id != exclude_id)
        taken = set(session.scalars(query))
        for candidate in candidates:
            if candidate not in taken:
                return candidate
        start += 100


def find_duplicate(session: DbSession, data: ListingData, source: str | None) -> Group | None:
    """The same group from another source: same name and the same ZIP or city, or same link."""
    name_key = func.lower(Group.name)
    query = select(Group).where(name_key == data.name.lower())
    if source is not None:
        query = query.where((Group.source.is_(None)) | (Group.source != source))
    for candidate in session.scalars(query.limit(20)):
        if same_group(data, candidate):
            return candidate
    return None


def same_group(data: ListingData, candidate: Group) -> bool:
    """The duplicate rule for a candidate of the same name: same ZIP or city, or same link."""
    place = candidate.location
    if data.location and place:
        if data.location.postal_code and data.location.postal_code == place.postal_code:
            return True
        return bool(data.location.city and data.location.city.lower() == place.city.lower())
    return bool(data.online_url and data.online_url == candidate.online_url)


def _slug_base(data: ListingData) -> str:
    city = data.location.city if data.location else ""
    return f"{data.name} {city}".strip()


def _hhmm(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value else None


def _organization(session: DbSession, name: str) -> Organization | None:
    if not name:
        return None
    found = session.scalar(select(Organization).where(Organization.name == name))
    if found is None:
        found = Organization(name=name)
        session.add(found)
    return found


def _concern_rows(session: DbSession, slugs: tuple[str, ...]) -> list[Concern]:
    if not slugs:
        return []
    rows = {
        row.slug: row for row in session.scalars(select(Concern).where(Concern.slug.in_(slugs)))
    }
    return [rows[slug] for slug in slugs if slug in rows]


def _apply_location(group: Group, data: LocationData | None) -> None:
    if data is None:
        group.location = None
        return
    if group.location is None:
        group.location = Location()
    for name in LOCATION_FIELDS:
        setattr(group.location, name, getattr(data, name))


def _meeting_row(index: int, meeting: MeetingData) -> Meeting:
    return Meeting(
        position=index,
        freq=meeting.freq,
        byday=list(meeting.byday),
        start=meeting.start,
        end=meeting.end,
        timezone=meeting.timezone,
        note=meeting.note,
    )


def _flags(group: Group, data: ListingData) -> list[str]:
    """Staff worklist flags; a possible-duplicate flag set by an import is kept."""
    flags = [flag for flag in group.flags or [] if flag.startswith("possible-duplicate")]
    if data.unknown_concerns:
        flags.append("unknown-concern")
    if data.location and data.location.approximate:
        flags.append("approximate-location")
    if data.location and data.location.lat is None:
        flags.append("no-coordinates")
    return flags
