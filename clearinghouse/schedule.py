"""Meeting schedules as iCalendar-style rules: parsing, plain-language text, next dates."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from itertools import islice
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


@dataclass(frozen=True)
class Rule:
    """One meeting rule: `freq` weekly|monthly|arrangement, `byday` like ("2TU", "4TU")."""

    freq: str
    byday: tuple[str, ...]
    start: time | None
    end: time | None
    timezone: str | None
    note: str = ""


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
    if rule.freq == "weekly":
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
    """The next `count` start times (aware, in the rule's zone) strictly after `after`."""
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
    begin = datetime.combine(local_after.date() - timedelta(days=1), start)
    rules = rrule(
        MONTHLY if rule.freq == "monthly" else WEEKLY,
        byweekday=weekdays,
        dtstart=begin,
        count=count + 40,
    )
    naive_after = local_after.replace(tzinfo=None)
    # rrule yields in order: stop at the `count`th match rather than computing all 40 spare.
    found = list(islice((moment for moment in rules if moment > naive_after), count))
    return [moment.replace(tzinfo=zone) for moment in found] if zone else found


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
