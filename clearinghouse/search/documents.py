"""The one function from a group to a search document, shared by every engine.

Besides what a group is, a document carries its `standing`, which every engine sorts by
first, whatever the order asked for: 0 a listing in good standing, 1 one that nobody has
confirmed or checked within two years (it may be out of date), 2 a group that is
temporarily closed.  Standing changes with time alone, so the worker's daily `standing`
job (indexer/sync.py `requeue_changed_standing`) queues the listings whose standing
changed since the last pass.
"""

from __future__ import annotations

from datetime import datetime

from clearinghouse import freshness
from clearinghouse.models import Group, utcnow
from clearinghouse.schedule import Rule, closed_on, weekday_codes
from clearinghouse.search.base import ListingDoc
from clearinghouse.search.when import meeting_slots
from clearinghouse.taxonomy import Taxonomy
from clearinghouse.vocab import DAY_FROM_ICAL, time_of_day

ATTENDANCE_MATCHES = {
    "hybrid": ("hybrid", "in-person", "online"),
    "in-person": ("in-person",),
    "online": ("online",),
    "phone": ("phone",),
}


STANDING_NORMAL = 0
STANDING_STALE = 1  # neither confirmed by the group nor checked by staff within two years
STANDING_CLOSED = 2  # temporarily closed today (`schedule.closed_on`): after open groups


def standing_of(group: Group, now: datetime, *, demote_stale: bool = True) -> int:
    """Where the group ranks among matches: every engine orders by this before anything else.

    The one place that decides; how it changes with time alone is `indexer/sync.py`'s
    `standing_may_have_changed`.  A closure is judged on the UTC day: it may lift a few hours
    early or late in the group's own zone, which moves a rank, never a label or a date.
    """
    if closed_on(group, now.date()):
        return STANDING_CLOSED
    if demote_stale and freshness.is_stale(group, now):
        return STANDING_STALE
    return STANDING_NORMAL


def build_document(
    group: Group,
    taxonomy: Taxonomy,
    *,
    now: datetime | None = None,
    demote_stale: bool = True,
) -> ListingDoc:
    own = [concern.slug for concern in group.concerns]
    concerns: list[str] = []
    for slug in own:
        term = taxonomy.get(slug)
        for value in (slug, term.parent if term else None):
            if value and value not in concerns:
                concerns.append(value)
    # Own and parent concerns' words: "mental health" finds a depression group.
    words: list[str] = []
    for slug in concerns:
        words.extend(taxonomy.search_terms(slug))
    days: set[str] = set()
    times: set[str] = set()
    for meeting in group.meetings:
        if meeting.freq == "arrangement":
            continue
        days.update(DAY_FROM_ICAL[code] for code in weekday_codes(meeting.byday))
        if meeting.start is not None:
            times.add(time_of_day(meeting.start.hour))
    meet_zone, meet_slots = meeting_slots(
        Rule(m.freq, tuple(m.byday or ()), m.start, m.end, m.timezone) for m in group.meetings
    )
    location = group.location
    # Online- and phone-only groups are listed apart from place searches, whatever their address.
    has_place = (
        group.attendance in ("in-person", "hybrid")
        and location is not None
        and location.lat is not None
        and location.lon is not None
    )
    return ListingDoc(
        id=group.id,
        uuid=group.uuid,
        name=group.name,
        description=group.description,
        organization=group.organization.name if group.organization else "",
        concern_text=" ".join(words),
        concerns=tuple(concerns),
        format=group.format,
        attendance=ATTENDANCE_MATCHES.get(group.attendance, (group.attendance,)),
        days=tuple(day for day in DAY_FROM_ICAL.values() if day in days),
        times=tuple(sorted(times)),
        languages=tuple(group.languages or ()),
        cost=group.cost,
        audience=tuple(group.audience or ()),
        accessibility=tuple(group.accessibility or ()),
        lat=location.lat if has_place and location else None,
        lon=location.lon if has_place and location else None,
        service_area=tuple(group.service_area or ()),
        region=location.region if location else "",
        updated_at=group.updated_at.isoformat(timespec="microseconds"),
        name_sort=group.name.casefold(),
        standing=standing_of(group, now or utcnow(), demote_stale=demote_stale),
        meet_zone=meet_zone,
        meet_slots=meet_slots,
    )
