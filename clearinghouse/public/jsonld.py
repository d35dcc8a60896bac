"""schema.org JSON-LD for a group page: an Event with its recurring schedule.

Rendered with Jinja's `|tojson`, which escapes `<`, `>` and `&`, so no text in a listing can
close the script element.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from clearinghouse import vocab
from clearinghouse.groups import cancellations_of
from clearinghouse.models import Group, Meeting
from clearinghouse.public.present import has_place
from clearinghouse.schedule import closed_on

_ATTENDANCE_MODE = {
    "in-person": "https://schema.org/OfflineEventAttendanceMode",
    "online": "https://schema.org/OnlineEventAttendanceMode",
    "phone": "https://schema.org/OnlineEventAttendanceMode",
    "hybrid": "https://schema.org/MixedEventAttendanceMode",
}
_SCHEMA_DAYS = {
    "MO": "https://schema.org/Monday",
    "TU": "https://schema.org/Tuesday",
    "WE": "https://schema.org/Wednesday",
    "TH": "https://schema.org/Thursday",
    "FR": "https://schema.org/Friday",
    "SA": "https://schema.org/Saturday",
    "SU": "https://schema.org/Sunday",
}


def group_jsonld(group: Group, *, page_url: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": group.name,
        "url": page_url,
        "eventAttendanceMode": _ATTENDANCE_MODE.get(group.attendance),
        # Closed for now: the series is postponed (it resumes), not cancelled.
        "eventStatus": "https://schema.org/EventPostponed"
        if closed_on(group, datetime.now(UTC).date())
        else "https://schema.org/EventScheduled",
        "isAccessibleForFree": group.cost in ("free", "donation"),
        "inLanguage": list(group.languages or []),
        "about": [concern.label for concern in group.concerns],
    }
    if group.description:
        data["description"] = group.description
    schedules = [_schedule(meeting) for meeting in group.meetings if meeting.freq != "arrangement"]
    if schedules:
        data["eventSchedule"] = schedules
    locations = _locations(group, page_url)
    if locations:
        data["location"] = locations[0] if len(locations) == 1 else locations
    if group.organization is not None:
        organizer: dict[str, Any] = {"@type": "Organization", "name": group.organization.name}
        if group.organization.url:
            organizer["url"] = group.organization.url
        data["organizer"] = organizer
    audience = [vocab.label(vocab.AUDIENCES, value) for value in group.audience or []]
    if audience:
        data["audience"] = {"@type": "Audience", "audienceType": ", ".join(audience)}
    return {key: value for key, value in data.items() if value not in (None, [], "")}


def _schedule(meeting: Meeting) -> dict[str, Any]:
    days = [_SCHEMA_DAYS[token[-2:]] for token in meeting.byday or [] if token[-2:] in _SCHEMA_DAYS]
    item: dict[str, Any] = {
        "@type": "Schedule",
        "repeatFrequency": f"P{meeting.interval or 1}W" if meeting.freq == "weekly" else "P1M",
        "byDay": days,
    }
    if meeting.freq == "monthly":
        weeks = sorted({int(token[:-2]) for token in meeting.byday or [] if token[:-2]})
        if weeks:
            item["byMonthWeek"] = weeks
    if meeting.start is not None:
        item["startTime"] = meeting.start.strftime("%H:%M:%S")
    if meeting.end is not None:
        item["endTime"] = meeting.end.strftime("%H:%M:%S")
    if meeting.timezone:
        item["scheduleTimezone"] = meeting.timezone
    if meeting.anchor is not None and (meeting.interval or 1) > 1:
        item["startDate"] = meeting.anchor.isoformat()  # which weeks, for every other week
    skipped = cancellations_of(meeting.cancellations) + cancellations_of(
        meeting.group.cancellations
    )
    if skipped:
        item["exceptDate"] = sorted(day.day.isoformat() for day in skipped)
    return item


def _locations(group: Group, page_url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    location = group.location
    if has_place(group) and location is not None:
        place: dict[str, Any] = {
            "@type": "Place",
            "address": {
                "@type": "PostalAddress",
                "streetAddress": location.address or None,
                "addressLocality": location.city or None,
                "addressRegion": location.region or None,
                "postalCode": location.postal_code or None,
                "addressCountry": location.country or None,
            },
        }
        place["address"] = {k: v for k, v in place["address"].items() if v is not None}
        if location.name:
            place["name"] = location.name
        if location.lat is not None and location.lon is not None and not location.approximate:
            place["geo"] = {
                "@type": "GeoCoordinates",
                "latitude": location.lat,
                "longitude": location.lon,
            }
        found.append(place)
    if group.online_url or group.online_phone:
        found.append({"@type": "VirtualLocation", "url": group.online_url or page_url})
    return found
