"""How a group reads on the public site: schedule in words, next dates, place and links.

Pure functions over a `Group` (no Flask), shared by the result cards, the group page, the
calendar file and the JSON-LD. Only public fields are read here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from clearinghouse import schedule, vocab
from clearinghouse.models import Group, Location, Meeting
from clearinghouse.schedule import Rule


def rule_of(meeting: Meeting) -> Rule:
    return Rule(
        meeting.freq,
        tuple(meeting.byday or ()),
        meeting.start,
        meeting.end,
        meeting.timezone,
        meeting.note,
    )


def schedule_lines(group: Group) -> list[str]:
    """One plain-language line per meeting rule: "2nd and 4th Tuesdays, 7:00–8:30 pm Central"."""
    return [schedule.describe(rule_of(meeting)) for meeting in group.meetings]


@dataclass(frozen=True)
class NextMeeting:
    """One upcoming meeting, in the group's own time zone."""

    start: datetime
    zone_label: str  # "Central", or "" when the group gives no time zone
    has_time: bool

    @property
    def iso(self) -> str:
        return self.start.isoformat()

    @property
    def day_text(self) -> str:
        """ "Tuesday, November 24" """
        return f"{self.start:%A}, {self.start:%B} {self.start.day}"

    @property
    def short_day_text(self) -> str:
        """ "Tue, Nov 24" """
        return f"{self.start:%a}, {self.start:%b} {self.start.day}"

    @property
    def time_text(self) -> str:
        """ "7:00 pm Central time", "7:00 pm (local time)", or "" without a start time."""
        if not self.has_time:
            return ""
        clock = schedule.format_time(self.start.time())
        return f"{clock} {self.zone_label} time" if self.zone_label else f"{clock} (local time)"


def next_meetings(group: Group, count: int = 3, now: datetime | None = None) -> list[NextMeeting]:
    """The next `count` meetings across the group's rules, soonest first."""
    return next_of_rules([rule_of(meeting) for meeting in group.meetings], count, now)


def next_of_rules(
    rules: Iterable[Rule], count: int = 3, now: datetime | None = None
) -> list[NextMeeting]:
    """The next `count` meetings across these rules, soonest first."""
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


def has_place(group: Group) -> bool:
    """Whether the group meets somewhere a person can go (not online or phone only)."""
    return group.attendance in ("in-person", "hybrid") and group.location is not None


def address_lines(location: Location) -> list[str]:
    """The address as lines: venue, street, "City, ST 60614"."""
    lines = [line for line in (location.name, location.address) if line]
    town = ", ".join(part for part in (location.city, location.region) if part)
    if location.postal_code:
        town = f"{town} {location.postal_code}".strip()
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
            f"ZIP code {location.postal_code}"
            if location.country == "US"
            else (f"postal area {location.postal_code}")
        )
    elif location.city:
        area = location.city
    else:
        area = "the area"
    return (
        f"The map shows the middle of {area}, not the exact meeting place. "
        "Contact the group to confirm where it meets."
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
        return f"under 0.1 {unit}"
    shown = f"{value:.1f}" if value < 10 else f"{value:.0f}"
    return f"{shown} {unit}"


def language_names(codes: list[str] | tuple[str, ...]) -> list[str]:
    return [vocab.label(vocab.LANGUAGES, code) for code in codes]


def cost_text(group: Group) -> str:
    text = vocab.label(vocab.COSTS, group.cost)
    if group.cost == "donation":
        text = "Donation welcome"
    return f"{text} — {group.cost_note}" if group.cost_note else text


FORMAT_EXPLAINED = {
    "peer-led": (
        "Peer-led: run by members who share the concern themselves. "
        "No one is in charge as an expert; people help each other."
    ),
    "professional-expert": (
        "Professional-expert: a professional (such as a counsellor, nurse or social worker) "
        "leads the group or provides information."
    ),
}
