"""Raw listing records for the console: from a stored group, from a change request, as rows.

A raw record is the project's JSON shape of a listing (what `validate_listing` reads); the
console builds one from a group to prefill forms, overlays a suggested edit on it, fills a
kept duplicate from a merged one, and flattens records into labelled rows for diffs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from clearinghouse import schedule
from clearinghouse.groups import (
    cancellation_values,
    closure_values,
    contact_values,
    location_values,
    meeting_values,
    online_values,
    private_contact_values,
)
from clearinghouse.listings import as_list
from clearinghouse.models import Group
from clearinghouse.schedule import Rule, ScheduleError

# Public submissions never set these: staff decide status and verification.
_NEVER_FROM_PUBLIC = frozenset({"status", "verified_at", "slug", "external_id", "id", "uuid"})
# Flat names (as in the store's snapshot) for fields nested in a raw record.
_NESTED_ALIASES = {
    "contact_phone": ("contact", "phone"),
    "contact_email": ("contact", "email"),
    "website": ("contact", "website"),
    "online_url": ("online", "url"),
    "online_phone": ("online", "phone"),
    "online_notes": ("online", "notes"),
}
_NESTED = ("contact", "online", "location", "private_contact")
_OWN_SCHEDULE_STATE = frozenset({"closure", "cancellations"})

# Rows of a diff: (key in the flattened record, label), in reading order.
FIELD_LABELS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("description", "Description"),
    ("organization", "Organization"),
    ("concerns", "Concerns"),
    ("format", "Format"),
    ("attendance", "Attendance"),
    ("open", "Open to newcomers"),
    ("time_limited", "Time-limited"),
    ("cost", "Cost"),
    ("cost_note", "Cost note"),
    ("languages", "Languages"),
    ("audience", "Audience"),
    ("accessibility", "Accessibility"),
    ("contact.phone", "Contact phone"),
    ("contact.email", "Contact email"),
    ("contact.website", "Website"),
    ("online.url", "Online join link"),
    ("online.phone", "Dial-in phone"),
    ("online.notes", "Online notes"),
    ("service_area", "Service area"),
    ("location.name", "Venue"),
    ("location.address", "Address"),
    ("location.city", "City"),
    ("location.region", "State / province"),
    ("location.postal_code", "Postal code"),
    ("location.country", "Country"),
    ("location.lat", "Latitude"),
    ("location.lon", "Longitude"),
    ("location.notes", "Location notes"),
    ("meetings", "Schedule"),
    ("closure", "Temporarily closed"),
    ("cancellations", "No meeting on (whole group)"),
    ("private_contact.name", "Private contact name"),
    ("private_contact.phone", "Private contact phone"),
    ("private_contact.email", "Private contact email"),
    ("private_contact.notes", "Private notes"),
)


def group_record(group: Group) -> dict[str, Any]:
    """The raw record of a stored group (status and slug are managed separately)."""
    return {
        "name": group.name,
        "description": group.description,
        "organization": group.organization.name if group.organization else "",
        "concerns": [c.slug for c in group.concerns] + list(group.unknown_concerns or []),
        "format": group.format,
        "attendance": group.attendance,
        "open": group.open,
        "time_limited": group.time_limited,
        "cost": group.cost,
        "cost_note": group.cost_note,
        "languages": list(group.languages or []),
        "audience": list(group.audience or []),
        "accessibility": list(group.accessibility or []),
        "contact": contact_values(group),
        "online": online_values(group),
        "service_area": list(group.service_area or []),
        "private_contact": private_contact_values(group),
        "location": location_values(group.location),
        "meetings": [meeting_values(meeting) for meeting in group.meetings],
        "closure": closure_values(group),
        "cancellations": cancellation_values(group.cancellations),
    }


def public_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A submission's payload without the fields only staff may set."""
    if not isinstance(payload, Mapping):
        return {}
    return {k: copy.deepcopy(v) for k, v in payload.items() if k not in _NEVER_FROM_PUBLIC}


def overlay(record: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The record with a suggested edit ({field: value}, flat or nested names) laid over it."""
    result = copy.deepcopy(dict(record))
    for key, value in public_payload(changes).items():
        if key == "private_contact":
            continue  # the public never edits staff-only contact details
        if key in _NESTED_ALIASES:
            outer, inner = _NESTED_ALIASES[key]
            _nested(result, outer)[inner] = value
        elif "." in key:
            outer, inner = key.split(".", 1)
            if outer in _NESTED and outer != "private_contact":
                _nested(result, outer)[inner] = value
        elif key in _NESTED and isinstance(value, Mapping):
            _nested(result, key).update(value)
        elif _applicable(key, value):
            result[key] = value
    return result


def _applicable(key: str, value: Any) -> bool:
    """Free-text suggestions for structured fields ("meets Thursdays now") are for people."""
    if key in _NESTED:
        return False  # a mapping was handled by the caller
    if key == "meetings":
        return isinstance(value, (list, tuple))
    return True


def in_words(changes: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Suggestions a reviewer must read and apply by hand (they are not laid over)."""
    if not isinstance(changes, Mapping):
        return []
    notes = []
    for key, value in changes.items():
        if key == "status":
            notes.append(("status", f"The submitter says: {display(value)}"))
        elif key in _NESTED_ALIASES or "." in key:
            continue
        elif not _applicable(key, value) or (key in _NESTED and not isinstance(value, Mapping)):
            notes.append((key, display(value)))
    return notes


def _nested(record: dict[str, Any], key: str) -> dict[str, Any]:
    value = record.get(key)
    if not isinstance(value, dict):
        value = {}
        record[key] = value
    return value


def fill_missing(keep: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    """Merge duplicates: `keep` wins; its empty fields are filled from `other`; concerns join."""
    result = copy.deepcopy(dict(keep))
    for key, value in other.items():
        current = result.get(key)
        if key in _OWN_SCHEDULE_STATE:
            continue  # the kept group's own: a duplicate's closure says nothing about it
        if key == "concerns":
            result[key] = list(dict.fromkeys([*as_list(current), *as_list(value)]))
        elif key in _NESTED and isinstance(value, Mapping):
            if not isinstance(current, Mapping) or not _has_value(current):
                result[key] = copy.deepcopy(dict(value))
            elif key != "location":  # a place is kept whole, never mixed from two
                merged = dict(current)
                for inner, inner_value in value.items():
                    if not _has_value(merged.get(inner)):
                        merged[inner] = inner_value
                result[key] = merged
        elif not _has_value(current):
            result[key] = copy.deepcopy(value)
    return result


def _has_value(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_has_value(v) for k, v in value.items() if k not in ("country", "approximate"))
    return value not in (None, "", [], ())


def flatten(record: Mapping[str, Any] | None) -> dict[str, str]:
    """Display strings for every diff row of a record (missing fields read as blank)."""
    record = record or {}
    values: dict[str, str] = {}
    for key, _label in FIELD_LABELS:
        if key == "meetings":
            values[key] = describe_meetings(record.get("meetings"))
            continue
        if "." in key:
            outer, inner = key.split(".", 1)
            container = record.get(outer)
            value = container.get(inner) if isinstance(container, Mapping) else None
        else:
            value = record.get(key)
        values[key] = display(value)
    return values


def display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(display(item) for item in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {display(v)}" for k, v in value.items() if v not in (None, ""))
    return str(value)


def describe_meetings(meetings: Any) -> str:
    """Each rule in words; a rule that cannot be read is shown as given."""
    if not isinstance(meetings, (list, tuple)):
        return display(meetings)
    lines = []
    for item in meetings:
        if not isinstance(item, Mapping):
            lines.append(display(item))
            continue
        try:
            freq = str(item.get("freq") or "weekly").lower()
            rule = Rule(
                freq,
                schedule.parse_byday(as_list(item.get("byday")), freq),
                schedule.parse_time(str(item["start"])) if item.get("start") else None,
                schedule.parse_time(str(item["end"])) if item.get("end") else None,
                item.get("timezone") or None,
                str(item.get("note") or ""),
                interval=int(str(item.get("interval") or 1)),
            )
            line = schedule.describe(rule)
            cancelled = [
                str(c.get("date"))
                for c in as_list(item.get("cancellations"))
                if isinstance(c, Mapping)
            ]
            if cancelled:
                line += f"; no meeting on {', '.join(cancelled)}"
            lines.append(line)
        except (ScheduleError, KeyError, TypeError, ValueError):
            lines.append(display(item))
    return "; ".join(lines)


def diff_rows(
    before: Mapping[str, Any] | None, after: Mapping[str, Any]
) -> list[tuple[str, str, str, bool]]:
    """(label, current, proposed, changed) for each field, in reading order."""
    old, new = flatten(before), flatten(after)
    return [(label, old[key], new[key], old[key] != new[key]) for key, label in FIELD_LABELS]
