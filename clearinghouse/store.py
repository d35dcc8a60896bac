"""Writing listings: apply validated data, audit each field, and queue the index change.

Every change to a group goes through `apply_listing`, `set_status` or `delete_group`, which
write an `AuditEvent` and an `Outbox` row in the caller's transaction (`audit_and_queue`), so
the search index and the partner change feed can never miss a committed change; the same
call stores the group's public body at its new version (`bodies`).  Data is
placed on the map before it gets here (`geocoding.geocode_listing`); slugs for new groups come
from `slugs`, and the duplicate rule that imports apply lives in `duplicates`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, text, update

from clearinghouse import bodies, flags
from clearinghouse.groups import (
    LOCATION_FIELDS,
    cancellation_values,
    closure_values,
    location_values,
    meeting_values,
)
from clearinghouse.listings import ListingData, LocationData, MeetingData
from clearinghouse.models import (
    AuditEvent,
    Concern,
    DbSession,
    Group,
    GroupStatus,
    Location,
    Meeting,
    Organization,
    Outbox,
    utcnow,
)
from clearinghouse.slugs import SlugAllocator, chunks, slug_base

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


def snapshot(group: Group) -> dict[str, Any]:
    """The group's fields as plain, comparable values (what the audit log diffs).

    The place and each schedule rule have the shapes of `clearinghouse.groups`, the same as in
    staff records and (less the private fields) the public JSON; audit rows hold diffs of these
    values, so rows written before the shapes were shared read exactly the same.
    """
    values: dict[str, Any] = {name: getattr(group, name) for name in SCALAR_FIELDS}
    values.update({name: list(getattr(group, name) or []) for name in LIST_FIELDS})
    values["organization"] = group.organization.name if group.organization else ""
    values["concerns"] = sorted(concern.slug for concern in group.concerns)
    values["location"] = location_values(group.location)
    values["meetings"] = [meeting_values(meeting) for meeting in group.meetings]
    values["closure"] = closure_values(group)
    values["cancellations"] = cancellation_values(group.cancellations)
    values["status"] = group.status
    values["verified_at"] = group.verified_at.isoformat() if group.verified_at else None
    return values


def data_snapshot(data: ListingData) -> dict[str, Any]:
    """The same shape as `snapshot`, for validated data about to be applied."""
    values: dict[str, Any] = {name: getattr(data, name) for name in SCALAR_FIELDS}
    values.update({name: list(getattr(data, name)) for name in LIST_FIELDS})
    values["organization"] = data.organization
    values["concerns"] = sorted(data.concerns)
    values["location"] = location_values(data.location)
    values["meetings"] = [meeting_values(meeting) for meeting in data.meetings]
    values["closure"] = closure_values(data)
    values["cancellations"] = cancellation_values(data.cancellations)
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
    status: str = GroupStatus.ACTIVE,
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
    status: str = GroupStatus.ACTIVE,
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
                slug=lookups.slugs.slug(data.slug or slug_base(data)),
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
                audit_and_queue(
                    session, group, "create", actor, change, user_id=user_id, lock=False
                )
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
    audit_and_queue(session, group, "update", actor, changes, user_id=user_id, lock=False)
    return Change(group, "updated", changes)


def _fill(lookups: _Lookups, group: Group, data: ListingData) -> None:
    """Copy validated data onto a group (new or existing), with its related rows."""
    contact_before = group.private_contact_email
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
    closure = data.closure
    group.temporarily_closed = closure is not None
    group.closed_until = closure.until if closure is not None else None
    group.closed_reason = closure.reason if closure is not None else ""
    group.cancellations = cancellation_values(data.cancellations)
    group.flags = _flags(group, data, contact_changed=group.private_contact_email != contact_before)
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
    actions: dict[str, str] = {GroupStatus.ARCHIVED: "archive", GroupStatus.ACTIVE: "publish"}
    action = actions.get(status, "status")
    audit_and_queue(session, group, action, actor, {"status": [old, status]}, user_id=user_id)
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
    # Staff checked it: the yearly confirmation's "no answer from the group" is dealt with.
    group.flags = flags.without_kind(group.flags, flags.NO_ANSWER)
    group.verified_at = utcnow()
    group.updated_at = group.verified_at
    session.flush()
    audit_and_queue(
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
    bodies.forget_bodies(session, [group.id])
    session.delete(group)
    session.flush()


def audit_and_queue(
    session: DbSession,
    group: Group,
    action: str,
    actor: str,
    changes: dict[str, Any],
    *,
    user_id: int | None = None,
    lock: bool = True,
) -> None:
    """Audit the change, queue it for the index and the partner feed and store the group's
    public body at its new version, all in this transaction.

    `lock=False` is for a caller that already took the outbox lock in this transaction.
    """
    session.add(
        AuditEvent(
            actor=actor, user_id=user_id, group_uuid=group.uuid, action=action, changes=changes
        )
    )
    if lock:
        _lock_outbox(session)
    outbox_action = "upsert" if group.is_public else "remove"
    session.add(Outbox(group_uuid=group.uuid, group_id=group.id, action=outbox_action))
    bodies.save_body(session, group)
    log.info("event=listing_%s group_id=%s actor=%s", action, group.uuid, actor.split(":")[0])


def queue_reindex(session: DbSession, groups: Sequence[Group]) -> None:
    """Queue groups whose listing is unchanged but whose search document is not (their
    standing moved with time): an outbox row each, no audit event, in this transaction."""
    if not groups:
        return
    _lock_outbox(session)
    session.add_all(
        Outbox(
            group_uuid=group.uuid,
            group_id=group.id,
            action="upsert" if group.is_public else "remove",
        )
        for group in groups
    )


def _lock_outbox(session: DbSession) -> None:
    """On PostgreSQL, hold a transaction lock so outbox seqs become visible in order."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _OUTBOX_LOCK})


class _Lookups:
    """Per-batch lookups: organisations, concerns, and slugs reserved by earlier new groups.

    Slugs are reserved rather than allocated by flushing each new group, so a batch of new
    groups is inserted with one flush.
    """

    def __init__(self, session: DbSession, batch: Sequence[ListingData]) -> None:
        self.session = session
        self.batch = batch
        self.slugs = SlugAllocator(session, batch)
        self.organizations: dict[str, Organization] | None = None
        self.concern_rows: dict[str, Concern] | None = None
        self.locked = False

    def _load(self) -> None:
        """The batch's organisations and concerns, in one query each (per 500 names)."""
        session, batch = self.session, self.batch
        names = {data.organization for data in batch if data.organization}
        self.organizations = {}
        for chunk in chunks(sorted(names)):
            query = select(Organization).where(Organization.name.in_(chunk))
            self.organizations.update((org.name, org) for org in session.scalars(query))
        slugs = {slug for data in batch for slug in data.concerns}
        self.concern_rows = {}
        for chunk in chunks(sorted(slugs)):
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
        interval=meeting.interval,
        anchor=meeting.anchor,
        cancellations=cancellation_values(meeting.cancellations),
    )


def _flags(group: Group, data: ListingData, *, contact_changed: bool) -> list[str]:
    """Staff worklist flags: the ones about the data recomputed, the others kept.

    Kept: an import's possible duplicate, a staff merge's merged-into, the yearly
    confirmation's no-answer; a bad contact e-mail only while the address stays the same.
    """
    recomputed = {flags.UNKNOWN_CONCERN, flags.APPROXIMATE_LOCATION, flags.NO_COORDINATES}
    if contact_changed:
        recomputed.add(flags.BAD_CONTACT)
    kept = [flag for flag in group.flags or () if flags.kind_of(flag) not in recomputed]
    if data.unknown_concerns:
        kept.append(flags.UNKNOWN_CONCERN)
    if data.location and data.location.approximate:
        kept.append(flags.APPROXIMATE_LOCATION)
    if data.location and data.location.lat is None:
        kept.append(flags.NO_COORDINATES)
    return kept
