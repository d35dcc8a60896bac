"""Writing listings: apply validated data, audit each field, and queue the index change.

Every change to a group goes through `apply_listing`, `set_status` or `delete_group`, which
write an `AuditEvent` and an `Outbox` row in the caller's transaction, so the search index
and the partner change feed can never miss a committed change.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, text, update

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
    values["meetings"] = [_meeting_values(meeting) for meeting in group.meetings]
    values["status"] = group.status
    values["verified_at"] = group.verified_at.isoformat() if group.verified_at else None
    return values


def _meeting_values(meeting: Meeting | MeetingData) -> dict[str, Any]:
    return {
        "freq": meeting.freq,
        "byday": list(meeting.byday),
        "start": _hhmm(meeting.start),
        "end": _hhmm(meeting.end),
        "timezone": meeting.timezone,
        "note": meeting.note,
    }


def data_snapshot(data: ListingData) -> dict[str, Any]:
    """The same shape as `snapshot`, for validated data about to be applied."""
    values: dict[str, Any] = {name: getattr(data, name) for name in SCALAR_FIELDS}
    values.update({name: list(getattr(data, name)) for name in LIST_FIELDS})
    values["organization"] = data.organization
    values["concerns"] = sorted(data.concerns)
    values["location"] = dataclasses.asdict(data.location) if data.location else None
    values["meetings"] = [_meeting_values(meeting) for meeting in data.meetings]
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
    return apply_listings(
        session, [(data, group)], actor=actor, source=source, status=status, user_id=user_id
    )[0]


def apply_listings(
    session: DbSession,
    items: Sequence[tuple[ListingData, Group | None]],
    *,
    actor: str,
    source: str | None = None,
    status: str = "active",
    user_id: int | None = None,
) -> list[Change]:
    """`apply_listing` for many listings at once (one change per item, in order).

    Each item is validated data and the group it updates, or None for a new group.  Every
    created or changed group gets its audit event and one outbox row in this transaction,
    exactly as one by one; new groups are inserted with one flush for the whole batch, their
    slugs reserved across the batch, and organisations and concerns looked up once.
    """
    lookups = _Lookups(session, [data for data, _group in items])
    changes: list[Change | None] = [None] * len(items)
    created: list[tuple[int, Group]] = []
    with session.no_autoflush:
        for index, (data, group) in enumerate(items):
            if group is not None:
                changes[index] = _update(session, lookups, data, group, actor, user_id)
                continue
            new = Group(
                slug=lookups.slug(data.slug or _slug_base(data)),
                source=source,
                external_id=data.external_id,
                status=data.status or status,
                created_at=utcnow(),
            )
            _fill(lookups, new, data)
            created.append((index, new))
        if created:
            session.add_all([group for _index, group in created])
            session.flush()
            for index, group in created:
                after = snapshot(group)
                change = diff({}, after)
                lookups.lock_outbox()
                record(session, group, "create", actor, change, user_id=user_id, lock=False)
                changes[index] = Change(group, "added", change)
    return [change for change in changes if change is not None]


def _update(
    session: DbSession,
    lookups: _Lookups,
    data: ListingData,
    group: Group,
    actor: str,
    user_id: int | None,
) -> Change:
    before = snapshot(group)
    wanted = data_snapshot(data)
    comparable = {name: before.get(name) for name in wanted}
    if data.status:
        comparable["status"], wanted["status"] = group.status, data.status
    if comparable == wanted:
        return Change(group, "unchanged")
    if data.status:
        group.status = data.status
    _fill(lookups, group, data)
    session.flush()
    changes = diff(before, snapshot(group))
    lookups.lock_outbox()
    record(session, group, "update", actor, changes, user_id=user_id, lock=False)
    return Change(group, "updated", changes)


def _fill(lookups: _Lookups, group: Group, data: ListingData) -> None:
    """Copy validated data onto a group (new or existing), with its related rows."""
    for name in SCALAR_FIELDS:
        setattr(group, name, getattr(data, name))
    for name in LIST_FIELDS:
        setattr(group, name, list(getattr(data, name)))
    if data.verified_at:
        group.verified_at = data.verified_at
    group.organization = lookups.organization(data.organization)
    group.concerns = lookups.concerns(data.concerns)
    _apply_location(group, data.location)
    group.meetings = [_meeting_row(index, meeting) for index, meeting in enumerate(data.meetings)]
    group.flags = _flags(group, data)
    group.updated_at = utcnow()


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


def version_of(group: Group) -> str:
    """The version a form carries, to refuse a save made against an older listing."""
    return group.updated_at.isoformat(timespec="microseconds")


def claim_version(session: DbSession, group: Group, version: str) -> bool:
    """True when `version` is still the group's current one; call it before writing.

    Every change moves `updated_at`.  The check is an UPDATE … WHERE updated_at = version
    that changes nothing but holds the row (PostgreSQL) or the write lock (SQLite) until the
    commit, so of two saves made from the same version only the first passes: the second
    waits and then finds the first's new `updated_at`.
    """
    if version != version_of(group):
        return False
    expected = datetime.fromisoformat(version)
    result = session.execute(
        update(Group)
        .where(Group.id == group.id, Group.updated_at == expected)
        .values(updated_at=Group.updated_at)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


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
    lock: bool = True,
) -> None:
    """Audit the change and queue it for the index and the partner feed, in this transaction.

    `lock=False` is for a caller that already took the outbox lock in this transaction.
    """
    session.add(
        AuditEvent(
            actor=actor, user_id=user_id, group_uuid=group.uuid, action=action, changes=changes
        )
    )
    if lock:
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
    return _free_slug(session, slugify(base) or "group", exclude_id=exclude_id)[0]


def _free_slug(
    session: DbSession,
    base: str,
    *,
    start: int = 1,
    exclude_id: int | None = None,
    reserved: set[str] | frozenset[str] = frozenset(),
) -> tuple[str, int]:
    """The first candidate from `start` on that neither the store nor `reserved` holds."""
    while True:
        numbers = range(start, start + 100)
        candidates = [_slug_candidate(base, n) for n in numbers]
        query = select(Group.slug).where(Group.slug.in_(candidates))
        if exclude_id is not None:
            query = query.where(Group.id != exclude_id)
        taken = set(session.scalars(query)) | reserved
        for number, candidate in zip(numbers, candidates, strict=True):
            if candidate not in taken:
                return candidate, number
        start += 100


def _slug_candidate(base: str, number: int) -> str:
    return base if number == 1 else f"{base[:95]}-{number}"


class _Lookups:
    """Per-batch lookups: organisations, concerns and slugs reserved by earlier new groups.

    Slugs are reserved here rather than by flushing each new group, so a batch of new groups
    is inserted with one flush; the store is asked once for all the batch's plain slugs, and
    again only for a name it already holds (or that repeats in the batch).
    """

    def __init__(self, session: DbSession, batch: Sequence[ListingData]) -> None:
        self.session = session
        self.batch = batch
        self.reserved: set[str] = set()
        self.next_number: dict[str, int] = {}
        self.plain_taken: set[str] | None = None
        self.organizations: dict[str, Organization] | None = None
        self.concern_rows: dict[str, Concern] | None = None
        self.locked = False

    def _load(self) -> None:
        """The batch's organisations and concerns, in one query each (per 500 names)."""
        session, batch = self.session, self.batch
        names = {data.organization for data in batch if data.organization}
        self.organizations = {}
        for chunk in _chunks(sorted(names)):
            query = select(Organization).where(Organization.name.in_(chunk))
            self.organizations.update((org.name, org) for org in session.scalars(query))
        slugs = {slug for data in batch for slug in data.concerns}
        self.concern_rows = {}
        for chunk in _chunks(sorted(slugs)):
            rows = session.scalars(select(Concern).where(Concern.slug.in_(chunk)))
            self.concern_rows.update((concern.slug, concern) for concern in rows)

    def lock_outbox(self) -> None:
        """Take the outbox lock once for the batch (it is held until the transaction ends)."""
        if not self.locked:
            _lock_outbox(self.session)
            self.locked = True

    def organization(self, name: str) -> Organization | None:
        if not name:
            return None
        if self.organizations is None:
            self._load()
        assert self.organizations is not None
        found = self.organizations.get(name)
        if found is None:
            found = self.organizations[name] = Organization(name=name)
            self.session.add(found)
        return found

    def concerns(self, slugs: tuple[str, ...]) -> list[Concern]:
        if self.concern_rows is None:
            self._load()
        assert self.concern_rows is not None
        return [self.concern_rows[slug] for slug in slugs if slug in self.concern_rows]

    def slug(self, wanted: str) -> str:
        """A slug unique in the store and among this batch's new groups."""
        base = slugify(wanted) or "group"
        if self.plain_taken is None:
            self.plain_taken = self._taken_plain_slugs()
        if base not in self.next_number and base not in self.plain_taken:
            if base not in self.reserved:
                slug, number = base, 1
            else:  # a later base's numbered slug ("x-2") took this plain one
                slug, number = _free_slug(self.session, base, reserved=self.reserved)
        else:
            start = self.next_number.get(base, 1)
            slug, number = _free_slug(self.session, base, start=start, reserved=self.reserved)
        self.reserved.add(slug)
        self.next_number[base] = number + 1
        return slug

    def _taken_plain_slugs(self) -> set[str]:
        """Which of the batch's plain slugs the store already holds (one query per 500)."""
        bases = {slugify(data.slug or _slug_base(data)) or "group" for data in self.batch}
        taken: set[str] = set()
        for chunk in _chunks(sorted(bases)):
            taken.update(self.session.scalars(select(Group.slug).where(Group.slug.in_(chunk))))
        return taken


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


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
