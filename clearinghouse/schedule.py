"""Meeting schedules as iCalendar-style rules: parsing, plain-language text, next dates."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from itertools import islice
from typing import Protocol
from zoneinfo import ZoneInfo, available_timezones

from dateutil.rrule import FR, MO, MONTHLY, SA, SU, TH, TU, WE, WEEKLY, rrule

from clearinghouse.vocab import DAYS, ICAL_DAYS

_WEEKDAYS = {"MO": MO, "TU": TU, "WE": WE, "TH": TH, "FR": FR, "SA": SA, "SU": SU}
_DAY_WORDS = {
    **{code: code for code in ICAL_DAYS},
    **{name.lower(): code for code, name in zip(ICAL_DAYS, DAYS.values(), strict=True)},
    **{short: code for code, short in zip(ICAL_DAYS, DAYS, strict=True)},
    "tues": "TU",
    "thur": "TH",
    "thurs": "TH",
    "weds": "WE",
}
_BYDAY = re.compile(r"^(?P<ordinal>-1|[1-5])?(?P<day>MO|TU|WE|TH|FR|SA|SU)$")
_TIME = re.compile(
    r"^(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?(?::\d{2})?\s*(?P<ampm>[ap]\.?m?\.?)?$", re.I
)
ORDINAL_WORDS = {"1": "1st", "2": "2nd", "3": "3rd", "4": "4th", "5": "5th", "-1": "last"}


class ScheduleError(ValueError):
    """A schedule value that cannot be understood; the message says what is allowed."""


# How many weeks apart a weekly meeting may be (1 every week, 2 every other week…).
INTERVALS = (1, 2, 3, 4)
# Schedule dates (anchors, cancellations, closures) are real calendar days near our time.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2199, 12, 31)
REASON_LIMIT = 300


@dataclass(frozen=True)
class Cancellation:
    """One day with no meeting ("no meeting on Dec 24"), and why, if said."""

    day: date
    reason: str = ""


@dataclass(frozen=True)
class Closure:
    """Temporarily closed: no meetings before `until` (the day they start again), or at all
    until further notice when `until` is None."""

    until: date | None
    reason: str = ""

    def covers(self, day: date) -> bool:
        return self.until is None or day < self.until


@dataclass(frozen=True)
class Rule:
    """One meeting rule: `freq` weekly|monthly|arrangement, `byday` like ("2TU", "4TU").

    A weekly rule may repeat every `interval` weeks, counted from the week of `anchor` (a day
    it meets on).  `cancelled` days (its own and the group's) and a `closure` are skipped by
    `occurrences`; `describe` ignores them (they are shown beside the schedule).
    """

    freq: str
    byday: tuple[str, ...]
    start: time | None
    end: time | None
    timezone: str | None
    note: str = ""
    interval: int = 1
    anchor: date | None = None
    cancelled: frozenset[date] = frozenset()
    closure: Closure | None = None

    def series(self) -> Rule:
        """The same rule without its exceptions: every date the pattern gives."""
        return replace(self, cancelled=frozenset(), closure=None)

    def skips(self, day: date) -> bool:
        """No meeting of this rule on `day` (a local date): cancelled, or closed then."""
        return day in self.cancelled or (self.closure is not None and self.closure.covers(day))


def match_byday(token: str) -> re.Match[str] | None:
    """A BYDAY token's `ordinal` ("2", "-1" or None) and `day` ("TU"); None if it is not one."""
    return _BYDAY.match(token)


def parse_day(value: str) -> str:
    """A day name, abbreviation or iCalendar code → its code ("Tuesday" → "TU")."""
    code = _DAY_WORDS.get(value.strip().rstrip(".").lower()) or _DAY_WORDS.get(
        value.strip().upper()
    )
    if code is None:
        raise ScheduleError(f"{value!r} is not a day of the week (use MO…SU or Monday…Sunday)")
    return code


def parse_byday(values: Iterable[str], freq: str) -> tuple[str, ...]:
    """Validate iCalendar BYDAY tokens: weekly takes plain days, monthly needs an ordinal."""
    tokens: list[str] = []
    for raw in values:
        if not isinstance(raw, str):
            raise ScheduleError(
                f"{raw!r} is not a meeting day (use MO…SU, or 2TU / -1FR for monthly)"
            )
        token = raw.strip().upper()
        match = _BYDAY.match(token)
        if match is None:
            try:
                token = parse_day(raw)
            except ScheduleError:
                raise ScheduleError(
                    f"{raw!r} is not a meeting day (use MO…SU, or 2TU / -1FR for monthly)"
                ) from None
            match = _BYDAY.match(token)
            assert match is not None
        if freq == "weekly" and match["ordinal"]:
            raise ScheduleError(f"{raw!r} has an ordinal; weekly meetings take plain days")
        if freq == "monthly" and not match["ordinal"]:
            raise ScheduleError(f"{raw!r} needs an ordinal for a monthly meeting (e.g. 2TU, -1FR)")
        if token not in tokens:
            tokens.append(token)
    return tuple(tokens)


def parse_time(value: str) -> time:
    """ "19:00", "7pm", "7:30 PM", "1930" → a time; anything impossible is an error."""
    text = value.strip()
    named = {"noon": time(12), "midday": time(12), "midnight": time(0)}.get(text.lower())
    if named is not None:
        return named
    match = _TIME.match(text)
    if match is None:
        raise ScheduleError(f"{value!r} is not a time (use HH:MM, e.g. 19:00 or 7:00 pm)")
    hour, minute = int(match["h"]), int(match["m"] or 0)
    ampm = (match["ampm"] or "").lower()[:1]
    if ampm:
        if not 1 <= hour <= 12:
            raise ScheduleError(f"{value!r} is not a time: hour {hour} with am/pm")
        hour = hour % 12 + (12 if ampm == "p" else 0)
    if hour > 23 or minute > 59:
        raise ScheduleError(f"{value!r} is not a time: hours run 0–23 and minutes 0–59")
    return time(hour, minute)


def parse_date(value: str) -> date:
    """A YYYY-MM-DD day between 1900 and 2199; anything else is an error that says so."""
    text = value.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ScheduleError(
            f"{text[:40]!r} is not a date (use YYYY-MM-DD, e.g. 2026-12-24)"
        ) from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ScheduleError(f"{text[:40]!r} is out of range; use a year from 1900 to 2199")
    return day


_CANCELLATION = re.compile(
    r"^(?P<day>\d{4}-\d{1,2}-\d{1,2}|\S+)\s*(?:[-–—:,]\s*)?(?P<reason>.*)$", re.S
)


def parse_cancellations(value: object) -> tuple[Cancellation, ...]:
    """Days with no meeting, in date order, from a list of {"date", "reason"} objects or of
    "2026-12-24 Christmas Eve" lines (or such text split by new lines or semicolons)."""
    items: list[object]
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items = [part for part in re.split(r"[\n;]", value) if part.strip()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ScheduleError("must be a list of dates with no meeting")
    found: dict[date, Cancellation] = {}
    for item in items:
        if isinstance(item, dict):
            day_text, reason = str(item.get("date") or ""), str(item.get("reason") or "")
        elif isinstance(item, str):
            match = _CANCELLATION.match(item.strip())
            assert match is not None
            day_text, reason = match["day"], match["reason"]
        else:
            raise ScheduleError(f"{item!r} is not a date with no meeting (YYYY-MM-DD reason)")
        day = parse_date(day_text)
        reason = " ".join(reason.split())
        if len(reason) > REASON_LIMIT:
            raise ScheduleError(
                f"the reason for {day.isoformat()} is {len(reason):,} characters long; "
                f"at most {REASON_LIMIT} are allowed"
            )
        found[day] = Cancellation(day, reason)
    return tuple(found[day] for day in sorted(found))


def valid_timezone(name: str) -> bool:
    """True for an IANA zone name; a tzdata folder ("America") or a 300-letter name is not."""
    return isinstance(name, str) and name in _zone_names()


def zone_names() -> frozenset[str]:
    """Every IANA zone name this system knows."""
    return _zone_names()


@cache
def _zone_names() -> frozenset[str]:
    # The set of names, not ZoneInfo(name): that opens a file named by the value, and a
    # folder or an overlong name raises OSError instead of saying "no such zone".
    return frozenset(available_timezones())


def weekday_codes(byday: Sequence[str]) -> set[str]:
    """The plain day codes a rule meets on ("2TU" → "TU")."""
    return {token.lstrip("-0123456789") for token in byday}


def format_time(value: time) -> str:
    """7:00 pm style."""
    hour = value.hour % 12 or 12
    suffix = "am" if value.hour < 12 else "pm"
    return f"{hour}:{value.minute:02d} {suffix}"


def zone_abbreviation(tz: str | None, on: date | None = None) -> str:
    """A readable zone name for schedules: "Central", "Eastern", or the IANA name."""
    if not tz:
        return ""
    names = {
        "America/New_York": "Eastern",
        "America/Detroit": "Eastern",
        "America/Toronto": "Eastern",
        "America/Indiana/Indianapolis": "Eastern",
        "America/Kentucky/Louisville": "Eastern",
        "America/Chicago": "Central",
        "America/Winnipeg": "Central",
        "America/Denver": "Mountain",
        "America/Edmonton": "Mountain",
        "America/Boise": "Mountain",
        "America/Phoenix": "Arizona",
        "America/Los_Angeles": "Pacific",
        "America/Vancouver": "Pacific",
        "America/Anchorage": "Alaska",
        "Pacific/Honolulu": "Hawaii",
        "America/Halifax": "Atlantic",
        "America/St_Johns": "Newfoundland",
        "America/Regina": "Central (Saskatchewan)",
        "America/Puerto_Rico": "Atlantic",
    }
    return names.get(tz, tz.replace("_", " "))


def describe(rule: Rule) -> str:
    """Plain words: "2nd and 4th Tuesdays, 7:00–8:30 pm Central"."""
    if rule.freq == "arrangement" or not rule.byday:
        return "By arrangement" + (f" — {rule.note}" if rule.note else "")
    if rule.freq == "weekly" and rule.interval > 1:
        every = "every other" if rule.interval == 2 else f"every {rule.interval} weeks on"
        names = [DAYS_BY_CODE[token] for token in rule.byday]
        days = f"{every} {_join(names)}"
    elif rule.freq == "weekly":
        names = [DAYS_BY_CODE[token] + "s" for token in rule.byday]
        days = _join(names)
    else:
        by_day: dict[str, list[str]] = {}
        for token in rule.byday:
            match = _BYDAY.match(token)
            assert match is not None
            by_day.setdefault(match["day"], []).append(ORDINAL_WORDS[match["ordinal"]])
        days = "; ".join(
            f"{_join(ordinals)} {DAYS_BY_CODE[day]}" + ("s" if len(ordinals) > 1 else "")
            for day, ordinals in by_day.items()
        )
        days += " of the month"
    text = days
    if rule.start:
        span = format_time(rule.start)
        if rule.end:
            start_text = span
            end_text = format_time(rule.end)
            if start_text[-2:] == end_text[-2:]:
                start_text = start_text[:-3]
            span = f"{start_text}–{end_text}"
        text += f", {span}"
        zone = zone_abbreviation(rule.timezone)
        if zone:
            text += f" {zone}"
    if rule.note:
        text += f" ({rule.note})"
    return text[0].upper() + text[1:]


DAYS_BY_CODE = dict(zip(ICAL_DAYS, DAYS.values(), strict=True))


def _join(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def occurrences(rule: Rule, after: datetime, count: int) -> list[datetime]:
    """The next `count` start times (aware, in the rule's zone) strictly after `after`.

    Cancelled days and a closure are skipped (`rule.series()` gives every date of the
    pattern); every-N-weeks rules count weeks (from Monday) from the week of the anchor.
    """
    if rule.freq == "arrangement" or not rule.byday:
        return []
    zone = ZoneInfo(rule.timezone) if rule.timezone and valid_timezone(rule.timezone) else None
    start = rule.start or time(0, 0)
    local_after = after.astimezone(zone) if zone and after.tzinfo else after
    weekdays = []
    for token in rule.byday:
        match = _BYDAY.match(token)
        assert match is not None
        weekday = _WEEKDAYS[match["day"]]
        weekdays.append(weekday(int(match["ordinal"])) if match["ordinal"] else weekday)
    begin = local_after.date() - timedelta(days=1)
    interval = rule.interval if rule.freq == "weekly" and rule.anchor else 1
    if interval > 1:
        assert rule.anchor is not None
        begin = _week_of_cycle(rule.anchor, begin, interval)
    if rule.closure is not None and rule.closure.until is None:
        return []  # closed until further notice
    if rule.closure is not None and rule.closure.until is not None:
        reopening = rule.closure.until - timedelta(days=1)
        if reopening > begin:
            begin = _week_of_cycle(rule.anchor, reopening, interval) if interval > 1 else reopening
    rules = rrule(
        MONTHLY if rule.freq == "monthly" else WEEKLY,
        byweekday=weekdays,
        dtstart=datetime.combine(begin, start),
        interval=interval,
        wkst=MO,
    )
    naive_after = local_after.replace(tzinfo=None)
    wanted = (moment for moment in rules if moment > naive_after and not rule.skips(moment.date()))
    # rrule yields in order and lazily (no end): stop at the `count`th match.  Every pattern
    # recurs and only finitely many days are cancelled, so a match always comes.
    found = list(islice(wanted, count)) if count > 0 else []
    return [moment.replace(tzinfo=zone) for moment in found] if zone else found


def _week_of_cycle(anchor: date | None, day: date, interval: int) -> date:
    """The Monday, on or before `day`, of a week that meets (a multiple of `interval` weeks
    from the anchor's week)."""
    assert anchor is not None
    anchor_monday = anchor - timedelta(days=anchor.weekday())
    weeks = (day - anchor_monday).days // 7
    return anchor_monday + timedelta(weeks=weeks - weeks % interval)


# -- times as the person reading sees them ------------------------------------------------

# Attendance where a person joins from wherever they are, so times are shown in their zone too.
JOINABLE_ANYWHERE = frozenset({"online", "phone", "hybrid"})


def viewer_zone(*candidates: str | None) -> str | None:
    """The first of these that is a real IANA zone (the place searched, then the browser's)."""
    for name in candidates:
        if name and len(name) <= 64 and valid_timezone(name):
            return name
    return None


def your_time(start: datetime, zone: str | None) -> str:
    """ "6:00 pm your time" for an aware start seen from `zone`; "" when the clock reads the same.

    The offset is taken at that very moment, so daylight-saving changes on either side count;
    the weekday is added when the day differs ("Wed 1:00 am your time").
    """
    if start.tzinfo is None or not zone or not valid_timezone(zone):
        return ""
    seen = start.astimezone(ZoneInfo(zone))
    if seen.replace(tzinfo=None) == start.replace(tzinfo=None):
        return ""
    clock = format_time(seen.time())
    if seen.date() != start.date():
        clock = f"{seen:%a} {clock}"
    return f"{clock} your time"


# -- temporarily closed ------------------------------------------------------------------


class Closable(Protocol):
    """What `closure_of` reads of a group (a `models.Group`)."""

    @property
    def temporarily_closed(self) -> bool: ...
    @property
    def closed_until(self) -> date | None: ...
    @property
    def closed_reason(self) -> str: ...


def closure_of(group: Closable) -> Closure | None:
    """The group's closure as staff or a feed entered it (it may already be over)."""
    if not group.temporarily_closed:
        return None
    return Closure(group.closed_until, group.closed_reason or "")


def closed_on(group: Closable, day: date) -> bool:
    """Whether the group is temporarily closed on `day` (no meetings that day).

    The one answer for search ranking ("closed groups after open ones"), labels and next
    dates; pass the day in the group's zone when it matters (a closure ends at midnight).
    """
    closure = closure_of(group)
    return closure is not None and closure.covers(day)


def closure_text(closure: Closure, today: date | None = None) -> str:
    """ "Temporarily closed until January 10, 2027: renovation" ("" once it is over)."""
    if today is not None and not closure.covers(today):
        return ""
    text = "Temporarily closed"
    if closure.until is not None:
        text += f" until {long_date(closure.until)}"
    return f"{text}: {closure.reason}" if closure.reason else text


def cancellation_text(cancellation: Cancellation) -> str:
    """ "No meeting on Thursday, December 24, 2026 (Christmas Eve)" """
    text = f"No meeting on {cancellation.day:%A}, {long_date(cancellation.day)}"
    return f"{text} ({cancellation.reason})" if cancellation.reason else text


def long_date(day: date) -> str:
    """ "January 10, 2027" """
    return f"{day:%B} {day.day}, {day.year}"
