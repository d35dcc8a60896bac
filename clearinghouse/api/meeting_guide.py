"""Groups as Meeting Guide JSON (code4recovery/spec): one entry per meeting day.

Only public fields are read.  Type codes come from the spec's `types.json`; a group's facets
that have no code there (format, cost…) are simply not expressed.  Monthly meetings are
listed on their weekday with the week of the month in `notes`, because the format has no
monthly rule; "by arrangement" schedules have no day and are left out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from clearinghouse.groups import cancellations_of, rule_of
from clearinghouse.meeting_guide_vocab import (
    ACCESSIBILITY_TYPES,
    AUDIENCE_TYPES,
    DAY_NUMBERS,
    LANGUAGE_TYPES,
    OPEN_TYPES,
    TEMPORARILY_CLOSED,
)
from clearinghouse.models import Group, Meeting
from clearinghouse.schedule import (
    DAYS_BY_CODE,
    ORDINAL_WORDS,
    cancellation_text,
    closed_on,
    closure_text,
    long_date,
    match_byday,
)


def meeting_types(group: Group) -> list[str]:
    """The group's facets as Meeting Guide type codes, in a stable order."""
    codes = [OPEN_TYPES[bool(group.open)]]
    languages = list(group.languages or [])
    # English is assumed by meeting apps; say it only beside other languages.
    if languages != ["en"]:
        codes += [LANGUAGE_TYPES[code] for code in languages if code in LANGUAGE_TYPES]
    codes += [AUDIENCE_TYPES[tag] for tag in group.audience or [] if tag in AUDIENCE_TYPES]
    codes += [
        ACCESSIBILITY_TYPES[tag] for tag in group.accessibility or [] if tag in ACCESSIBILITY_TYPES
    ]
    if closed_on(group, datetime.now(UTC).date()):
        codes.append(TEMPORARILY_CLOSED)
    return list(dict.fromkeys(codes))


def _slug_part(token: str) -> str:
    return token.lower().replace("-1", "last")


def group_meetings(group: Group, *, url: str) -> list[dict[str, Any]]:
    """One Meeting Guide entry per weekday (or week of the month) the group meets on."""
    base = _base_entry(group, url)
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for meeting in group.meetings:
        if meeting.freq not in ("weekly", "monthly") or meeting.start is None:
            continue
        for token in meeting.byday:
            match = match_byday(token)
            if match is None:
                continue
            entry = dict(base)
            entry.update(_when(meeting, match["day"], match["ordinal"], group))
            slug = f"{group.slug}-{_slug_part(token)}-{meeting.start.strftime('%H%M')}"
            number = 2
            unique = slug
            while unique in seen:
                unique, number = f"{slug}-{number}", number + 1
            seen.add(unique)
            entry["slug"] = unique
            entries.append({key: value for key, value in entry.items() if value not in (None, "")})
    return entries


def _when(meeting: Meeting, day: str, ordinal: str | None, group: Group) -> dict[str, Any]:
    assert meeting.start is not None
    zone = meeting.timezone or (group.location.timezone if group.location else None)
    notes: list[str] = []
    if ordinal:
        notes.append(f"Meets on the {ORDINAL_WORDS[ordinal]} {DAYS_BY_CODE[day]} of the month.")
    rule = rule_of(meeting)
    if rule.interval > 1 and rule.anchor is not None:  # the format has no interval
        every = "every other week" if rule.interval == 2 else f"every {rule.interval} weeks"
        notes.append(f"Meets {every}, counting from {long_date(rule.anchor)}.")
    if rule.closure is not None:
        notes.append(closure_text(rule.closure) + ".")
    days = cancellations_of(meeting.cancellations) + cancellations_of(group.cancellations)
    notes += [cancellation_text(item) + "." for item in sorted(days, key=lambda c: c.day)]
    if meeting.note:
        notes.append(meeting.note)
    return {
        "day": DAY_NUMBERS[day],
        "time": meeting.start.strftime("%H:%M"),
        "end_time": meeting.end.strftime("%H:%M") if meeting.end else None,
        "timezone": zone,
        "notes": " ".join([*notes, _group_notes(group)]).strip(),
    }


def _group_notes(group: Group) -> str:
    parts = [group.description] if group.description else []
    if group.location and group.location.notes:
        parts.append(group.location.notes)
    if group.cost != "free":
        parts.append(f"Cost: {group.cost}" + (f" ({group.cost_note})" if group.cost_note else "."))
    return " ".join(parts)


def _base_entry(group: Group, url: str) -> dict[str, Any]:
    location = group.location
    entry: dict[str, Any] = {
        "name": group.name,
        "types": meeting_types(group),
        "group": group.organization.name if group.organization else None,
        "updated": group.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
        "url": url,
        "conference_url": group.online_url,
        "conference_url_notes": group.online_notes or None,
        "conference_phone": group.online_phone,
    }
    if location is not None:
        entry.update(
            {
                "location": location.name,
                "address": location.address,
                "city": location.city,
                "state": location.region,
                "postal_code": location.postal_code,
                "country": location.country,
                "latitude": location.lat,
                "longitude": location.lon,
                "approximate": "yes" if location.approximate else "no",
            }
        )
    return entry
