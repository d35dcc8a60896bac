"""A group's meeting series as an iCalendar file (RFC 5545), one VEVENT per meeting rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event, vRecur

from clearinghouse import schedule
from clearinghouse.i18n import gettext
from clearinghouse.models import Group, Meeting
from clearinghouse.public.present import address_lines, describe, has_place, rule_of

PRODID = "-//Self-help Group Clearinghouse//Public site//EN"


def group_calendar(group: Group, *, page_url: str, now: datetime | None = None) -> bytes:
    """The calendar for `group`: recurring events in the group's zone, with VTIMEZONEs."""
    moment = now or datetime.now(UTC)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", group.name)
    for meeting in group.meetings:
        event = _event(group, meeting, page_url=page_url, now=moment)
        if event is not None:
            calendar.add_component(event)
    # Time zone definitions from a year back, so every occurrence shown is covered.
    calendar.add_missing_timezones(first_date=date(moment.year - 1, 1, 1))
    return calendar.to_ical()


def _event(group: Group, meeting: Meeting, *, page_url: str, now: datetime) -> Event | None:
    rule = rule_of(meeting)
    if rule.freq == "arrangement" or not rule.byday:
        return None
    first = schedule.occurrences(rule, now, 1)
    if not first:
        return None
    start = first[0]
    event = Event()
    event.add("uid", f"{group.uuid}-{meeting.position}@clearinghouse")
    event.add("dtstamp", now.astimezone(UTC))
    event.add("summary", group.name)
    if rule.start is None:
        event.add("dtstart", start.date())
        event.add("dtend", start.date() + timedelta(days=1))
    else:
        event.add("dtstart", start)
        if rule.end is not None:
            end = start.replace(hour=rule.end.hour, minute=rule.end.minute)
            if end <= start:  # runs past midnight
                end += timedelta(days=1)
            event.add("dtend", end)
        else:
            event.add("duration", timedelta(hours=1))
    event.add("rrule", _recurrence(rule))
    event.add("description", _description(group, meeting, page_url))
    event.add("url", page_url)
    location = _location_text(group)
    if location:
        event.add("location", location)
    place = group.location
    if place is not None and place.lat is not None and has_place(group) and not place.approximate:
        event.add("geo", (place.lat, place.lon))
    return event


def _recurrence(rule: schedule.Rule) -> vRecur:
    return vRecur({"FREQ": rule.freq.upper(), "BYDAY": list(rule.byday)})


def _location_text(group: Group) -> str:
    if has_place(group) and group.location is not None:
        return ", ".join(address_lines(group.location))
    if group.online_url:
        return group.online_url
    if group.online_phone:
        return gettext("By phone: %(phone)s", phone=group.online_phone)
    return ""


def _description(group: Group, meeting: Meeting, page_url: str) -> str:
    lines = [describe(rule_of(meeting))]
    if group.online_url:
        lines.append(gettext("Join online: %(url)s", url=group.online_url))
    if group.online_phone:
        lines.append(gettext("Join by phone: %(phone)s", phone=group.online_phone))
    if group.online_notes:
        lines.append(group.online_notes)
    if group.location is not None and group.location.approximate:
        lines.append(
            gettext("The location is approximate: contact the group to confirm where it meets.")
        )
    lines.append(gettext("Details and changes: %(url)s", url=page_url))
    return "\n".join(lines)
