"""When a group meets, as the engines index and search it: the "When" filter and "Soonest first".

Every engine indexes a group's weekly meetings the same way (`meeting_slots`): the zone its
times are in (`meet_zone`, "" when the listing gives none) and each meeting as a slot of
*local* minutes of the week, [start, end) with Monday 00:00 = 0, split in two where it runs
past Sunday midnight.  Local wall-clock minutes do not move when daylight saving starts or
ends, so the index never goes stale; the offsets are applied at search time instead
(`when_plan`, `soonest_plan`), for the moment being searched.

A search's window is worked out in each zone's own minutes of the week:

- ``now``: a meeting in progress, or starting within the next 30 minutes;
- ``3h``: in progress, or starting within the next 3 hours;
- ``today``: in progress or starting later today;
- a weekday (``mon`` … ``sun``): meeting on that day.

"Today" and a weekday are read on the searcher's clock for groups joined from anywhere
(online, phone, hybrid) — the zone of the place searched, else the browser's — and on the
group's own clock for in-person groups; with no searcher zone, every group's own clock.  A
meeting with no end time is taken to last an hour.  Meetings with no zone are read on the
searcher's clock (UTC when it is unknown).

The engines are handed zone *classes*: every IANA zone grouped with the others whose window
comes out the same at this moment (a few dozen), so a filter is a handful of range tests
per class on any engine.

Limits, said in docs/api.md: monthly meetings ("2nd Tuesday") are matched as if weekly on
their weekdays, and every-other-week ones likewise (the next meeting shown on each card is
the true one, from `schedule.occurrences`); meetings with no start time match no window;
"soonest" reads a whole week ahead with this week's offsets, so across a daylight-saving
change a meeting days away may sort an hour out of place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from clearinghouse.i18n import N_
from clearinghouse.schedule import Rule, match_byday, zone_names
from clearinghouse.vocab import DAYS, ICAL_DAYS

WEEK = 7 * 24 * 60  # minutes in a week
DAY = 24 * 60
SOON_MINUTES = 30  # "now": in progress or starting within this many minutes
NEXT_HOURS = 3
ASSUMED_LENGTH = 60  # minutes, for a meeting with no end time
FLOATING = ""  # meet_zone of meetings that give no zone
NO_MEETING = WEEK  # the soonest key of a group with no timed weekly meeting: after all others

# The values of `starts_within`, in the order the form offers them.
WHEN_LABELS = {
    "now": N_("Now (on now or starting within 30 minutes)"),
    "3h": N_("In the next 3 hours"),
    "today": N_("Today"),
    **DAYS,
}
STARTS_WITHIN = tuple(WHEN_LABELS)
DESCRIBES_WHEN = (
    "now (in progress or starting within 30 minutes), 3h (in progress or starting within "
    "3 hours), today (in progress or starting later today), or a weekday (mon … sun); "
    "read in the searcher's time zone for groups joined from anywhere and in the group's "
    "own for in-person groups"
)

Slot = tuple[int, int]  # [start, end) in local minutes of the week
Ranges = tuple[Slot, ...]


# -- index time ------------------------------------------------------------------------------


def meeting_slots(rules: Iterable[Rule], now: datetime | None = None) -> tuple[str, Ranges]:
    """The zone and weekly slots of a group's meetings (see the module docstring).

    The first timed rule's zone is the group's; a rule in another zone (rare) is moved to it
    by the two zones' offsets at `now`.
    """
    moment = now or datetime.now(UTC)
    timed = [rule for rule in rules if _timed(rule)]
    if not timed:
        return FLOATING, ()
    zone = _zone(timed[0].timezone)
    slots: list[Slot] = []
    for rule in timed:
        shift = _offset(_zone(rule.timezone), zone, moment)
        assert rule.start is not None
        length = _length(rule.start, rule.end)
        for token in rule.byday:
            match = match_byday(token)
            assert match is not None
            day = ICAL_DAYS.index(match["day"])
            start = (day * DAY + rule.start.hour * 60 + rule.start.minute + shift) % WEEK
            slots.extend(_wrapped(start, start + length))
    return zone, tuple(sorted(set(slots)))


def _timed(rule: Rule) -> bool:
    return rule.freq in ("weekly", "monthly") and bool(rule.byday) and rule.start is not None


def _zone(name: str | None) -> str:
    return name if name and name in zone_names() else FLOATING


def _length(start: time, end: time | None) -> int:
    if end is None:
        return ASSUMED_LENGTH
    minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    return minutes if minutes > 0 else minutes + DAY  # 23:00–01:00 runs past midnight


def _offset(zone: str, to_zone: str, moment: datetime) -> int:
    """Minutes to add to a wall-clock time in `zone` to read it in `to_zone`."""
    if zone == to_zone or FLOATING in (zone, to_zone):
        return 0
    return _utc_offset(to_zone, moment) - _utc_offset(zone, moment)


def _wrapped(start: int, end: int) -> list[Slot]:
    """[start, end) with start in the week, split where it runs past the week's end."""
    if end <= WEEK:
        return [(start, end)]
    return [(start, WEEK), (0, end - WEEK)]


@dataclass(frozen=True)
class UtcSlot:
    """A slot in UTC minutes of the week under one of its zone's offsets (`dst`: the
    daylight-saving one); for an engine that can only compare indexed values (Elasticsearch's
    soonest sort), which picks each zone's offset in force at search time by `daylight_zones`."""

    dst: bool
    start: int
    end: int


def utc_slots(zone: str, slots: Ranges, now: datetime | None = None) -> tuple[UtcSlot, ...]:
    """The slots in UTC under each of the zone's offsets this year (FLOATING: read as UTC)."""
    regimes = _regimes(zone, clock(now).year)
    found: list[UtcSlot] = []
    for dst, offset in regimes:
        for start, end in slots:
            utc = (start - offset) % WEEK
            found.extend(UtcSlot(dst, s, e) for s, e in _wrapped(utc, utc + end - start))
    return tuple(dict.fromkeys(found))


@lru_cache(maxsize=1024)
def _regimes(zone: str, year: int) -> tuple[tuple[bool, int], ...]:
    """(daylight saving?, offset in minutes) of a zone in January and July of `year`."""
    if zone == FLOATING:
        return ((False, 0),)
    found: dict[bool, int] = {}
    for month in (1, 7):
        local = datetime(year, month, 15, 12, tzinfo=UTC).astimezone(_tz(zone))
        found.setdefault(bool(local.dst()), round(local.utcoffset().total_seconds() / 60))  # type: ignore[union-attr]
    return tuple(found.items())


def daylight_zones(now: datetime) -> tuple[str, ...]:
    """The zones on daylight-saving time at `now`."""
    return _daylight_zones(_minute(now))


@lru_cache(maxsize=8)
def _daylight_zones(now: datetime) -> tuple[str, ...]:
    return tuple(zone for zone in _all_zones() if zone and now.astimezone(_tz(zone)).dst())


def week_minute_utc(now: datetime) -> int:
    return _week_minute(_minute(now), "UTC")


# -- search time -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneWindow:
    """The window for the groups whose meet_zone is one of `zones`, in their local minutes.

    A slot [s, e) falls in ranges [lo, hi) when s < hi and e > lo.  `remote` applies to
    groups joined from anywhere, `in_person` to the rest.
    """

    zones: tuple[str, ...]
    remote: Ranges
    in_person: Ranges

    def ranges(self, remote: bool) -> Ranges:
        return self.remote if remote else self.in_person


@dataclass(frozen=True)
class ZoneNow:
    """Now, in local minutes of the week, for the groups whose meet_zone is one of `zones`."""

    zones: tuple[str, ...]
    minute: int


def when_plan(starts_within: str, now: datetime, viewer_zone: str | None) -> tuple[ZoneWindow, ...]:
    """The window of `starts_within` at `now` for every zone, grouped by identical windows."""
    return _when_plan(starts_within, _minute(now), viewer_zone or "")


def soonest_plan(now: datetime, viewer_zone: str | None) -> tuple[ZoneNow, ...]:
    """Now in every zone's local minutes of the week, grouped by equal minutes."""
    return _soonest_plan(_minute(now), viewer_zone or "")


def clock(now: datetime | None) -> datetime:
    """The query's moment, or the wall clock for a query built without the parser."""
    return now or datetime.now(UTC)


def slot_matches(slots: Iterable[Slot], ranges: Ranges) -> bool:
    return any(s < hi and e > lo for s, e in slots for lo, hi in ranges)


def soonest_key(slots: Iterable[Slot], minute: int) -> int:
    """Minutes until the group's next meeting starts (0 while one is in progress)."""
    best = NO_MEETING
    for start, end in slots:
        distance = 0 if start <= minute < end else (start - minute) % WEEK
        best = min(best, distance)
    return best


def window_for(plan: tuple[ZoneWindow, ...], zone: str, remote: bool) -> Ranges:
    """The ranges that apply to one group (a plain loop; engines index the plan their way)."""
    for window in plan:
        if zone in window.zones:
            return window.ranges(remote)
    return ()


def all_zones() -> tuple[str, ...]:
    """Every meet_zone value a document can have: the IANA zones and FLOATING."""
    return _all_zones()


@cache
def _all_zones() -> tuple[str, ...]:
    return (FLOATING, *sorted(zone_names()))


def _minute(now: datetime) -> datetime:
    moment = now if now.tzinfo else now.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


@lru_cache(maxsize=64)
def _when_plan(starts_within: str, now: datetime, viewer: str) -> tuple[ZoneWindow, ...]:
    grouped: dict[tuple[Ranges, Ranges], list[str]] = {}
    # "now" and "3h" are the same real minutes on every clock; today and a weekday are the
    # searcher's, when known, for groups joined from anywhere.
    absolute = viewer and starts_within not in ("now", "3h")
    remote_window = _absolute_window(starts_within, now, viewer) if absolute else None
    for zone in _all_zones():
        own = zone or viewer or "UTC"
        in_person = _local_window(starts_within, now, own)
        if zone == FLOATING or remote_window is None:
            remote = in_person
        else:
            remote = _local_ranges(remote_window, own)
        grouped.setdefault((remote, in_person), []).append(zone)
    return tuple(
        ZoneWindow(tuple(zones), remote, in_person)
        for (remote, in_person), zones in grouped.items()
    )


@lru_cache(maxsize=64)
def _soonest_plan(now: datetime, viewer: str) -> tuple[ZoneNow, ...]:
    grouped: dict[int, list[str]] = {}
    for zone in _all_zones():
        grouped.setdefault(_week_minute(now, zone or viewer or "UTC"), []).append(zone)
    return tuple(ZoneNow(tuple(zones), minute) for minute, zones in grouped.items())


def _local_window(starts_within: str, now: datetime, zone: str) -> Ranges:
    """The window in `zone`'s own minutes of the week."""
    if starts_within in ("now", "3h"):
        # Real minutes from now (inclusive), read on this zone's clock: across a daylight-
        # saving change the clock moves by more or less than the window.
        ahead = SOON_MINUTES if starts_within == "now" else NEXT_HOURS * 60
        return _local_ranges((now, now + timedelta(minutes=ahead + 1)), zone)
    minute = _week_minute(now, zone)
    if starts_within == "today":
        return _ranges(minute, (minute // DAY + 1) * DAY)
    day = tuple(DAYS).index(starts_within)
    return ((day * DAY, (day + 1) * DAY),)


def _absolute_window(starts_within: str, now: datetime, viewer: str) -> tuple[datetime, datetime]:
    """Today (from now) or the next such weekday, on the searcher's clock, as UTC instants."""
    local = now.astimezone(_tz(viewer))
    midnight = datetime.combine(local.date(), time(0), tzinfo=local.tzinfo)
    if starts_within == "today":
        return now, _instant(midnight + timedelta(days=1))
    ahead = (tuple(DAYS).index(starts_within) - local.weekday()) % 7
    start = midnight + timedelta(days=ahead)
    return _instant(start), _instant(start + timedelta(days=1))


def _instant(wall: datetime) -> datetime:
    """A wall-clock time in its zone as a UTC instant (aware arithmetic keeps the wall clock;
    the offset is the one in force at the result, fold 0 where the clock repeats)."""
    return wall.astimezone(UTC)


def _local_ranges(window: tuple[datetime, datetime], zone: str) -> Ranges:
    start, end = window
    lo = _week_minute(start, zone)
    length = round((end - start).total_seconds() / 60)
    length += _utc_offset(zone, end) - _utc_offset(zone, start)
    return _ranges(lo, lo + length)


def _ranges(lo: int, hi: int) -> Ranges:
    return tuple(_wrapped(lo % WEEK, lo % WEEK + (hi - lo)))


def _week_minute(moment: datetime, zone: str) -> int:
    local = moment.astimezone(_tz(zone))
    return local.weekday() * DAY + local.hour * 60 + local.minute


@cache
def _tz(zone: str) -> ZoneInfo:
    # ZoneInfo keeps only a few zones strongly: hundreds would be read from disk every time.
    return ZoneInfo(zone)


def _utc_offset(zone: str, moment: datetime) -> int:
    offset = moment.astimezone(_tz(zone)).utcoffset()
    return round(offset.total_seconds() / 60) if offset else 0
