"""How a group reads on the public site: schedule in words, next dates, place and links.

Pure functions over a `Group` (no Flask), shared by the result cards, the group page, the
calendar file and the JSON-LD. Only public fields are read here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from clearinghouse import freshness, schedule, schedule_es, vocab
from clearinghouse.groups import cancellations_of, location_values, rule_of
from clearinghouse.i18n import N_, current_language, gettext, language_name, translated
from clearinghouse.models import Group, Location
from clearinghouse.schedule import Rule
from clearinghouse.taxonomy import NationalResource


def schedule_lines(group: Group) -> list[str]:
    """One plain-language line per meeting rule: "2nd and 4th Tuesdays, 7:00–8:30 pm Central"."""
    return [describe(rule_of(meeting)) for meeting in group.meetings]


def spanish() -> bool:
    return current_language() == "es"


def describe(rule: Rule) -> str:
    """A meeting rule in the reader's language."""
    return schedule_es.describe(rule) if spanish() else schedule.describe(rule)


def closure_words(closure: schedule.Closure, today: date | None = None) -> str:
    """A temporary closure in the reader's language ("" once it is over)."""
    language = schedule_es if spanish() else schedule
    return language.closure_text(closure, today)


def cancellation_words(cancellation: schedule.Cancellation) -> str:
    """A cancelled day in the reader's language."""
    language = schedule_es if spanish() else schedule
    return language.cancellation_text(cancellation)


@dataclass(frozen=True)
class ScheduleNotices:
    """What is different from the usual schedule, worded for the page and the cards."""

    closed: str  # "Temporarily closed until January 10, 2027: renovation", or ""
    cancelled: tuple[str, ...]  # "No meeting on Thursday, December 24, 2026 (Christmas Eve)"


def schedule_notices(group: Group, today: date | None = None) -> ScheduleNotices:
    """The closure in force and the cancelled days still to come (past ones are not shown)."""
    today = today or datetime.now(UTC).date()
    closure = schedule.closure_of(group)
    closed = closure_words(closure, today) if closure is not None else ""
    lines = [
        (item.day, cancellation_words(item))
        for item in cancellations_of(group.cancellations)
        if item.day >= today
    ]
    several = len(group.meetings) > 1
    for meeting in group.meetings:
        for item in cancellations_of(meeting.cancellations):
            if item.day >= today:
                text = cancellation_words(item)
                if several:
                    text += f" — {describe(rule_of(meeting))}"
                lines.append((item.day, text))
    lines.sort(key=lambda line: line[0])
    return ScheduleNotices(closed, tuple(text for _day, text in lines))


@dataclass(frozen=True)
class NextMeeting:
    """One upcoming meeting, in the group's own time zone (and the reader's, when it differs)."""

    start: datetime
    zone_label: str  # "Central", or "" when the group gives no time zone
    has_time: bool
    your_time: str = ""  # "6:00 pm your time" for a group joined from anywhere, else ""
    # Joined from anywhere, but the reader's zone is unknown: the browser may add "your time".
    convert_in_browser: bool = False

    @property
    def iso(self) -> str:
        return self.start.isoformat()

    @property
    def day_text(self) -> str:
        """ "Tuesday, November 24" """
        if spanish():
            return schedule_es.day_text(self.start)
        return f"{self.start:%A}, {self.start:%B} {self.start.day}"

    @property
    def short_day_text(self) -> str:
        """ "Tue, Nov 24" """
        if spanish():
            return schedule_es.short_day_text(self.start)
        return f"{self.start:%a}, {self.start:%b} {self.start.day}"

    @property
    def time_text(self) -> str:
        """ "7:00 pm Central time", "7:00 pm (local time)", or "" without a start time."""
        if not self.has_time:
            return ""
        if spanish():
            clock = schedule_es.format_time(self.start.time())
            zone = schedule_es.zone_words(self.zone_label) if self.zone_label else "hora local"
            return f"{clock} {zone}"
        clock = schedule.format_time(self.start.time())
        return f"{clock} {self.zone_label} time" if self.zone_label else f"{clock} (local time)"


def next_meetings(
    group: Group, count: int = 3, now: datetime | None = None, viewer_tz: str | None = None
) -> list[NextMeeting]:
    """The next `count` meetings across the group's rules, soonest first."""
    upcoming = next_of_rules([rule_of(meeting) for meeting in group.meetings], count, now)
    return seen_from(upcoming, viewer_tz) if joinable_anywhere(group.attendance) else upcoming


def joinable_anywhere(attendance: str) -> bool:
    """Whether people join from wherever they are (online, phone, hybrid), not only in person."""
    return attendance in schedule.JOINABLE_ANYWHERE


def seen_from(meetings: Iterable[NextMeeting], viewer_tz: str | None) -> list[NextMeeting]:
    """The meetings with the reader's own clock added where it differs from the group's.

    Without a known zone the browser may add it (static/js/site.js), for timed meetings only.
    """
    return [
        replace(
            meeting,
            your_time=_your_time(meeting.start, viewer_tz) if meeting.has_time else "",
            convert_in_browser=viewer_tz is None
            and meeting.has_time
            and meeting.start.tzinfo is not None,
        )
        for meeting in meetings
    ]


def _your_time(start: datetime, viewer_tz: str | None) -> str:
    return (schedule_es if spanish() else schedule).your_time(start, viewer_tz)


def next_of_rules(
    rules: Iterable[Rule], count: int = 3, now: datetime | None = None
) -> list[NextMeeting]:
    """The next `count` meetings across these rules, soonest first (in the groups' zones)."""
    moment = now or datetime.now(UTC)
    found: list[tuple[datetime, Rule]] = []
    for rule in rules:
        for start in schedule.occurrences(rule, moment, count):
            found.append((start, rule))
    found.sort(key=lambda item: item[0].timestamp() if item[0].tzinfo else 0)
    return [
        NextMeeting(
            start=start,
            zone_label=schedule.zone_abbreviation(rule.timezone) if start.tzinfo else "",
            has_time=rule.start is not None,
        )
        for start, rule in found[:count]
    ]


def next_meeting_json(
    rules: Iterable[Rule], joinable: bool, now: datetime | None = None, viewer_tz: str | None = None
) -> dict[str, Any] | None:
    """The next meeting as API JSON: its start in the group's zone (ISO 8601 with offset),
    the zone, and, for a group joined from anywhere, the same start in the searcher's zone."""
    upcoming = next_of_rules(rules, count=1, now=now)
    if not upcoming:
        return None
    meeting = upcoming[0]
    aware = meeting.start.tzinfo is not None
    seen = None
    if joinable and aware and meeting.has_time and schedule.viewer_zone(viewer_tz):
        seen = meeting.start.astimezone(ZoneInfo(viewer_tz or "UTC")).isoformat()
    return {
        "start": meeting.start.isoformat()
        if meeting.has_time
        else meeting.start.date().isoformat(),
        "timezone": getattr(meeting.start.tzinfo, "key", None) if aware else None,
        "viewer_start": seen,
    }


def has_place(group: Group) -> bool:
    """Whether the group meets somewhere a person can go (not online or phone only)."""
    return group.attendance in ("in-person", "hybrid") and group.location is not None


def address_lines(location: Location | Mapping[str, Any]) -> list[str]:
    """The address as lines: venue, street, "City, ST 60614" (from a row or a public body)."""
    values = location if isinstance(location, Mapping) else location_values(location) or {}
    lines = [line for line in (values["name"], values["address"]) if line]
    town = ", ".join(part for part in (values["city"], values["region"]) if part)
    if values["postal_code"]:
        town = f"{town} {values['postal_code']}".strip()
    if town:
        lines.append(town)
    return lines


def directions_url(location: Location) -> str | None:
    """A directions link for a map service; the street address when known, else the point."""
    street = ", ".join(
        part
        for part in (location.address, location.city, location.region, location.postal_code)
        if part
    )
    if location.address and street:
        destination = street
    elif location.lat is not None and location.lon is not None:
        destination = f"{location.lat:.5f},{location.lon:.5f}"
    elif street:
        destination = street
    else:
        return None
    return "https://www.google.com/maps/dir/?" + urlencode({"api": "1", "destination": destination})


def osm_url(location: Location) -> str | None:
    """The place on OpenStreetMap (a second, tracker-free map link)."""
    if location.lat is None or location.lon is None:
        return None
    return (
        f"https://www.openstreetmap.org/?mlat={location.lat:.5f}&mlon={location.lon:.5f}"
        f"#map=16/{location.lat:.5f}/{location.lon:.5f}"
    )


def approximate_wording(location: Location) -> str:
    """What an approximate point means, in words a visitor understands."""
    if location.postal_code:
        area = (
            gettext("ZIP code %(code)s", code=location.postal_code)
            if location.country == "US"
            else gettext("postal area %(code)s", code=location.postal_code)
        )
    elif location.city:
        area = location.city
    else:
        area = gettext("the area")
    return gettext(
        "The map shows the middle of %(area)s, not the exact meeting place. "
        "Contact the group to confirm where it meets.",
        area=area,
    )


def tel_url(phone: str | None) -> str | None:
    if not phone:
        return None
    # Digits and the dial-string marks of a one-tap number ("+15873281099,,8076462994#"):
    # a comma pauses, # and * are keys (# written %23 in a URI).
    dial = "".join(ch for ch in phone if ch.isdigit() or ch in "+,;#*")
    return f"tel:{quote(dial, safe='+,;*')}" if any(ch.isdigit() for ch in dial) else None


def distance_text(distance_mi: float | None, unit: str = "mi") -> str:
    if distance_mi is None:
        return ""
    value = distance_mi if unit == "mi" else distance_mi * 1.609344
    if value < 0.1:
        return gettext("under 0.1 %(unit)s", unit=unit)
    shown = f"{value:.1f}" if value < 10 else f"{value:.0f}"
    return f"{shown} {unit}"


def language_names(codes: list[str] | tuple[str, ...]) -> list[str]:
    return [language_name(code, vocab.LANGUAGES) for code in codes]


def cost_text(group: Group) -> str:
    return cost_words(group.cost, group.cost_note)


def cost_words(cost: str, note: str | None) -> str:
    text = translated(vocab.label(vocab.COSTS, cost))
    if cost == "donation":
        text = gettext("Donation welcome")
    return f"{text} — {note}" if note else text


FORMAT_EXPLAINED = {
    "peer-led": N_(
        "Peer-led: run by members who share the concern themselves. "
        "No one is in charge as an expert; people help each other."
    ),
    "professional-expert": N_(
        "Professional-expert: a professional (such as a counsellor, nurse or social worker) "
        "leads the group or provides information."
    ),
}


@dataclass(frozen=True)
class Helpline:
    """A national organisation as the page lists it, its phone ready to dial."""

    name: str
    url: str
    phone: str
    tel: str | None


def helplines(resources: Iterable[NationalResource]) -> list[Helpline]:
    return [
        Helpline(resource.name, resource.url, resource.phone or "", tel_url(resource.phone))
        for resource in resources
    ]


@dataclass(frozen=True)
class GroupFacts:
    """What the group page shows beyond the group's own fields, worded and ready to print."""

    format: str
    format_explained: str
    attendance: str
    cost: str
    audience: tuple[str, ...]
    languages: tuple[str, ...]
    accessibility: tuple[str, ...]
    has_place: bool  # meets somewhere a person can go
    address_lines: tuple[str, ...]
    approximate_note: str  # "" unless the point is approximate
    directions_url: str | None
    osm_url: str | None
    online_tel: str | None
    contact_tel: str | None
    organization_tel: str | None
    verified_on: str  # "November 3, 2026", or "" when staff have not checked it
    verified_iso: str  # "2026-11-03", or ""


def group_facts(group: Group) -> GroupFacts:
    location = group.location if has_place(group) else None
    format_label = translated(vocab.label(vocab.FORMATS, group.format))
    return GroupFacts(
        format=format_label,
        format_explained=translated(FORMAT_EXPLAINED.get(group.format, format_label)),
        attendance=translated(vocab.label(vocab.ATTENDANCE, group.attendance)),
        cost=cost_text(group),
        audience=tuple(
            translated(vocab.label(vocab.AUDIENCES, tag)) for tag in group.audience or ()
        ),
        languages=tuple(language_names(group.languages or ["en"])),
        accessibility=tuple(
            translated(vocab.label(vocab.ACCESSIBILITY, tag)) for tag in group.accessibility or ()
        ),
        has_place=location is not None,
        address_lines=tuple(address_lines(location)) if location is not None else (),
        approximate_note=approximate_wording(location)
        if location is not None and location.approximate
        else "",
        directions_url=directions_url(location) if location is not None else None,
        osm_url=osm_url(location) if location is not None else None,
        online_tel=tel_url(group.online_phone),
        contact_tel=tel_url(group.contact_phone),
        organization_tel=tel_url(group.organization.phone) if group.organization else None,
        verified_on=_day(group.verified_at) if group.verified_at else "",
        verified_iso=group.verified_at.date().isoformat() if group.verified_at else "",
    )


@dataclass(frozen=True)
class CheckedNote:
    """Who last said the listing is right, and when: the group itself or our staff."""

    text: str  # "Confirmed by the group on" / "Checked by our staff on", or ""
    day: str  # "November 3, 2026"
    iso: str
    maybe_out_of_date: bool  # neither within two years


def checked_note(group: Group, now: datetime | None = None) -> CheckedNote:
    """The newer of the group's confirmation and the staff's check; stale after two years."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    confirmed, verified = group.confirmed_at, group.verified_at
    if confirmed and (verified is None or confirmed >= verified):
        moment, text = confirmed, gettext("Confirmed by the group on")
    elif verified:
        moment, text = verified, gettext("Checked by our staff on")
    else:
        return CheckedNote("", "", "", True)
    if freshness.is_stale(group, now):
        return CheckedNote("", "", "", True)
    return CheckedNote(text, _day(moment), moment.date().isoformat(), False)


def long_date(moment: datetime) -> str:
    """ "November 3, 2026" / "3 de noviembre de 2026" """
    return _day(moment)


def _day(moment: datetime) -> str:
    if spanish():
        return schedule_es.long_date(moment)
    return f"{moment:%B} {moment.day}, {moment.year}"
