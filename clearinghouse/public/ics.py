"""A group's meeting series as an iCalendar file (RFC 5545), one VEVENT per meeting rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from icalendar import Calendar, Event, vRecur

from clearinghouse import schedule
from clearinghouse.groups import cancellations_of
from clearinghouse.i18n import gettext
from clearinghouse.models import Group, Meeting
from clearinghouse.public.present import (
    address_lines,
    cancellation_words,
    closure_words,
    describe,
    has_place,
    rule_of,
)

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
    series = rule.series()  # the pattern; cancelled days and a closure become EXDATEs
    first = schedule.occurrences(series, now, 1)
    if not first:
        return None
    start = first[0]
    if rule.interval > 1 and rule.anchor is not None:
        # Every other week counts from the anchor's week: DTSTART on the anchor says which.
        start = datetime.combine(rule.anchor, rule.start or time(0), tzinfo=start.tzinfo)
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
    skipped = _skipped(rule, now)
    if skipped:
        event.add(
            "exdate",
            [
                day if rule.start is None else datetime.combine(day, rule.start, start.tzinfo)
                for day in skipped
            ],
        )
    if rule.closure is not None and rule.closure.until is None:
        event.add("status", "TENTATIVE")  # closed until further notice: no date to skip to
    event.add("description", _description(group, meeting, page_url))
    event.add("url", page_url)
    location = _location_text(group)
    if location:
        event.add("location", location)
    place = group.location
    if place is not None and place.lat is not None and has_place(group) and not place.approximate:
        event.add("geo", (place.lat, place.lon))
    return event


# The most dates a closure adds as EXDATEs (over a year of meetings on several days a week).
_MOST_CLOSED_DATES = 400


def _skipped(rule: schedule.Rule, now: datetime) -> list[date]:
    """The days the pattern gives but the group does not meet: cancelled, or while closed."""
    days = set(rule.cancelled)
    closure = rule.closure
    if closure is not None and closure.until is not None:
        for moment in schedule.occurrences(rule.series(), now, _MOST_CLOSED_DATES):
            if not closure.covers(moment.date()):
                break
            days.add(moment.date())
    return sorted(days)


def _recurrence(rule: schedule.Rule) -> vRecur:
    recurrence = vRecur({"FREQ": rule.freq.upper(), "BYDAY": list(rule.byday)})
    if rule.interval > 1:
        recurrence.update({"INTERVAL": rule.interval, "WKST": "MO"})
    return recurrence


def _location_text(group: Group) -> str:
    if has_place(group) and group.location is not None:
        return ", ".join(address_lines(group.location))
    if group.online_url:
        return group.online_url
    if group.online_phone:
        return gettext("By phone: %(phone)s", phone=group.online_phone)
    return ""


def _description(group: Group, meeting: Meeting, page_url: str) -> str:
    rule = rule_of(meeting)
    lines = [describe(rule)]
    if rule.closure is not None:
        lines.insert(0, closure_words(rule.closure))
    days = cancellations_of(meeting.cancellations) + cancellations_of(group.cancellations)
    lines += [cancellation_words(day) for day in sorted(days, key=lambda c: c.day)]
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
