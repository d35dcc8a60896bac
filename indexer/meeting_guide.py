"""Meeting Guide JSON feeds and the 12 Step Meeting List CSV template → listings.

Both list one *meeting* per row; a listing here is a *group* with several meetings.  Rows
with the same name at the same place and the same attributes (open/closed, audience,
access, languages, online link) are merged into one listing with several weekly meetings —
the template's own "Cup of Coffee Group" on Friday and Saturday becomes one group.  Rows
that differ in any attribute stay separate listings, so merging never loses a fact.
A merged listing's external id is its shortest slug (stable when the feed is re-ordered).

The feed names no concern: the importer's `--concern` supplies it (alcohol for an AA feed).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from clearinghouse.geo import country_code, region_code
from clearinghouse.listings import slugify
from clearinghouse.meeting_guide_vocab import (
    ACCESSIBILITY,
    AUDIENCE,
    DAY_CODES,
    LANGUAGES,
    OPEN,
    TEMPORARILY_CLOSED,
    TYPE_NAMES,
)
from clearinghouse.schedule import ScheduleError, parse_day
from indexer.reader_base import (
    CsvRow,
    FormatError,
    RawRecord,
    RowCheck,
    Unreadable,
    json_items,
    looks_like_meeting_feed,
    undecodable,
)

# Type codes that shape the listing's fields rather than its description.
_STRUCTURAL = {*OPEN, *AUDIENCE, *ACCESSIBILITY, *LANGUAGES, "ONL", "HY", TEMPORARILY_CLOSED}
# The 12 Step Meeting List template writes type names, some of them its own.
CODES_BY_NAME = {name.lower(): code for code, name in TYPE_NAMES.items()} | {
    "temporary closure": "TC",
    "online": "ONL",
    "young adults": "Y",
    "wheelchair accessible": "X",
    "step meeting": "ST",
}


_ID_LIMIT = 200  # the longest external id a listing keeps
_SLUG_LIMIT = 100  # the longest page address


class RowError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def sniff(path: Path, document: Any) -> None:
    """FormatError unless `document` is an array of meeting objects."""
    if isinstance(document, dict) and "contents" in document:
        raise FormatError(f"{path.name}: looks like HSDS (a page with contents); use --format hsds")
    items = document if isinstance(document, list) else None
    if items is None:
        raise FormatError(
            f"{path.name}: expected a Meeting Guide feed (an array of meetings); "
            f"found a {type(document).__name__}"
            + ("; use --format json" if json_items(document) else "")
        )
    sample = [item for item in items[:50] if isinstance(item, dict)]
    if items and not sample:
        raise FormatError(f"{path.name}: expected a Meeting Guide feed; the items are not objects")
    if sample and any("service_at_locations" in item or "schedules" in item for item in sample):
        raise FormatError(
            f"{path.name}: looks like HSDS services, not a Meeting Guide feed; use --format hsds"
        )
    if sample and any("meetings" in item for item in sample):
        raise FormatError(
            f"{path.name}: looks like the project's JSON (groups with meetings); use --format json"
        )
    if sample and not looks_like_meeting_feed(sample):
        raise FormatError(
            f"{path.name}: not a Meeting Guide feed: no item has day, time or types "
            f"(found keys {', '.join(sorted(sample[0])[:8])})"
        )


def read_feed(items: list[Any], check: RowCheck | None) -> Iterator[RawRecord]:
    def rows() -> Iterator[tuple[int, Any]]:
        yield from enumerate(items, start=1)

    return merge_rows(rows(), check)


def read_tsml(rows: Iterable[CsvRow], check: RowCheck | None) -> Iterator[RawRecord]:
    def items() -> Iterator[tuple[int, Any]]:
        for row, values, field, error in rows:
            yield row, (tsml_item(values) if values is not None else RowError(field, error or ""))

    return merge_rows(items(), check)


def tsml_item(values: Mapping[str, str]) -> dict[str, Any]:
    """A 12 Step Meeting List template row (normalised column names) as a feed item."""
    item: dict[str, Any] = {key: value for key, value in values.items() if value.strip()}
    if "types" in item:
        item["types"] = [part.strip() for part in item["types"].split(",") if part.strip()]
    if "address" in item and not any(key in item for key in ("city", "state", "postal_code")):
        item["formatted_address"] = item.pop("address")
    if "website" in item:
        item["url"] = item.pop("website")
    if "last_contact" in item:
        item["verified_at"] = item.pop("last_contact")
    return item


def merge_rows(rows: Iterable[tuple[int, Any]], check: RowCheck | None) -> Iterator[RawRecord]:
    """Map each meeting row, reject bad ones by row, merge the rest into groups."""
    groups: dict[str, list[_Member]] = {}
    seen_slugs: dict[str, int] = {}
    for row, item in rows:
        try:
            record, warnings, slug = meeting_record(item)
        except RowError as error:
            yield RawRecord(row, None, error.message, error.field)
            continue
        if slug and slug in seen_slugs:
            yield RawRecord(row, None, f"duplicate of row {seen_slugs[slug]}", "slug")
            continue
        if slug:
            seen_slugs[slug] = row
        problems = check(record) if check else []
        if problems:
            field, message = problems[0]
            yield RawRecord(row, None, message, field, problems=tuple(problems))
            continue
        groups.setdefault(_group_key(record), []).append(_Member(row, record, slug, warnings))
    for members in groups.values():
        yield _merged(members)


def meeting_record(item: Any) -> tuple[dict[str, Any], list[str], str]:
    """One feed item → (raw listing record with one meeting, warnings, slug)."""
    if isinstance(item, RowError):
        raise item
    if isinstance(item, Unreadable):
        raise RowError("record", item.reason)
    if not isinstance(item, Mapping):
        raise RowError("record", "is not an object with fields")
    if message := undecodable(dict(item)):
        raise RowError("record", message)
    codes, unknown = _type_codes(item.get("types"))
    warnings = [f"types: {code!r} is not a Meeting Guide type and was ignored" for code in unknown]
    location = _location(item)
    online = {
        "url": _text(item.get("conference_url")),
        "phone": _text(item.get("conference_phone")),
        "notes": " ".join(
            _text(item.get(key)) for key in ("conference_url_notes", "conference_phone_notes")
        ).strip(),
    }
    has_online = bool(online["url"] or online["phone"])
    option = _text(item.get("attendance_option")).lower()
    closed_place = TEMPORARILY_CLOSED in codes or option == "online"
    status = "inactive" if option == "inactive" else None
    # TC with a link: the place is closed and the group meets online.  Without one, the
    # group is temporarily closed: still listed, labelled, with no end date (the spec has none).
    closed = TEMPORARILY_CLOSED in codes and not has_online and option != "inactive"
    record: dict[str, Any] = {
        "name": item.get("name"),
        "description": _description(item, codes),
        "attendance": _attendance(location, has_online, closed_place, online),
        "languages": [LANGUAGES[code] for code in codes if code in LANGUAGES],
        "audience": sorted({AUDIENCE[code] for code in codes if code in AUDIENCE}),
        "accessibility": sorted({ACCESSIBILITY[code] for code in codes if code in ACCESSIBILITY}),
        "contact": {
            "phone": _text(item.get("phone")),
            "email": _text(item.get("email")),
            "website": _text(item.get("url") or item.get("website")),
        },
        "private_contact": {
            "name": _text(item.get("contact_1_name")),
            "phone": _text(item.get("contact_1_phone")),
            "email": _text(item.get("contact_1_email")),
        },
        "online": online if has_online else None,
        "location": location,
        "meetings": _meetings(item),
        "status": status,
        "closure": {"until": None, "reason": TYPE_NAMES[TEMPORARILY_CLOSED]} if closed else None,
        "verified_at": _date(item.get("verified_at")),
    }
    if any(code in OPEN for code in codes):
        record["open"] = "O" in codes or "C" not in codes
    slug = slugify(_text(item.get("slug")), limit=_ID_LIMIT)
    return record, warnings, slug


def _date(value: Any) -> str | None:
    """A last-contact date when it is one; anything else is not worth rejecting a meeting for."""
    text = _text(value)[:10]
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _type_codes(value: Any) -> tuple[list[str], list[str]]:
    if isinstance(value, str):  # "O, D", or a list written as text: "[open]"
        value = [part.strip(" []'\"") for part in value.split(",")]
    codes: list[str] = []
    unknown: list[str] = []
    for raw in value if isinstance(value, list) else []:
        text = _text(raw)
        if not text:
            continue
        code = text if text in TYPE_NAMES else text.upper() if text.upper() in TYPE_NAMES else None
        code = code or CODES_BY_NAME.get(text.lower())
        if code is None:
            unknown.append(text)
        elif code not in codes:
            codes.append(code)
    return codes, unknown


def _description(item: Mapping[str, Any], codes: list[str]) -> str:
    parts = [_text(item.get(key)) for key in ("notes", "group_notes") if _text(item.get(key))]
    kinds = [TYPE_NAMES[code] for code in codes if code not in _STRUCTURAL]
    if kinds:
        parts.append("Meeting types: " + ", ".join(kinds) + ".")
    return "\n\n".join(parts)


def _location(item: Mapping[str, Any]) -> dict[str, Any] | None:
    address = _text(item.get("address"))
    city, region = _text(item.get("city")), _text(item.get("state"))
    postal, country = _text(item.get("postal_code")), _text(item.get("country"))
    if not (address or city or postal) and _text(item.get("formatted_address")):
        address, city, region, postal, country = split_address(_text(item["formatted_address"]))
    location = {
        "name": _text(item.get("location")),
        "address": address,
        "city": city,
        "region": region,
        "postal_code": postal,
        "country": country,
        "lat": item.get("latitude"),
        "lon": item.get("longitude"),
        "approximate": item.get("approximate"),
        "timezone": _text(item.get("timezone")),
        "notes": _text(item.get("location_notes")),
    }
    meaningful = ("name", "address", "city", "postal_code", "lat")
    return location if any(location[key] not in (None, "") for key in meaningful) else None


def split_address(text: str) -> tuple[str, str, str, str, str]:
    """Street, city, state, postal code, country from "2634 Union Ave, San Jose, CA 95124, USA"."""

    parts = [part.strip() for part in text.split(",") if part.strip()]
    country = ""
    if parts and parts[-1].upper() in {"USA", "US", "UNITED STATES", "CANADA", "CAN"}:
        country = parts.pop().upper()
    elif len(parts) >= 2 and region_code(parts[-1]) is None and country_code(parts[-1]):
        country = parts.pop()  # "London, UK", "Berlin, Germany"
        city = parts.pop()
        return ", ".join(parts), city, "", "", country
    region = postal = ""
    if parts:
        match = re.fullmatch(
            r"([A-Za-z]{2})(?:\s+(\d{5}(?:-\d{4})?|[A-Za-z]\d[A-Za-z]\s?\d[A-Za-z]\d))?", parts[-1]
        )
        if match:
            parts.pop()
            region, postal = match[1].upper(), (match[2] or "").upper()
    city = parts.pop() if len(parts) >= 2 or (parts and region) else ""
    return ", ".join(parts), city, region, postal, country


def _attendance(
    location: dict[str, Any] | None, has_online: bool, closed_place: bool, online: dict[str, str]
) -> str:
    if has_online and (closed_place or location is None):
        return "online" if online["url"] else "phone"
    if has_online:
        return "hybrid"
    return "in-person"


def _meetings(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One weekly rule on the item's day(s); no day at all means "by appointment"."""
    days = item.get("day")
    start, end = _text(item.get("time")), _text(item.get("end_time"))
    zone = _text(item.get("timezone"))
    rule: dict[str, Any] = {"start": start, "end": end}
    if zone:
        rule["timezone"] = zone
    if days is None or days == "" or days == []:
        return [{**rule, "freq": "arrangement", "byday": []}]
    return [{**rule, "freq": "weekly", "byday": [_day_code(day) for day in _as_days(days)]}]


def _as_days(days: Any) -> list[Any]:
    return list(days) if isinstance(days, list | tuple) else [days]


def _day_code(day: Any) -> str:
    text = _text(day)
    if re.fullmatch(r"-?[0-9]+", text):
        if len(text) <= 3 and 0 <= int(text) <= 6:
            return DAY_CODES[int(text)]
        shown = text if len(text) <= 12 else f"a {len(text):,}-digit number"
        raise RowError("day", f"{shown} is not a day (0 = Sunday … 6 = Saturday)")
    try:
        return parse_day(text)
    except ScheduleError as error:
        raise RowError("day", str(error)) from None


def _group_key(record: dict[str, Any]) -> str:
    """Everything but the schedule, notes and ids: rows equal in all of it are one group."""
    same = {
        key: value
        for key, value in record.items()
        if key not in ("meetings", "description", "verified_at")
    }
    same["name"] = slugify(_text(same.get("name")))
    return json.dumps(same, sort_keys=True, default=str)


@dataclass(frozen=True)
class _Member:
    """One meeting row on its way into a group."""

    row: int
    record: dict[str, Any]
    slug: str
    warnings: list[str]


def _merged(members: list[_Member]) -> RawRecord:
    merged = dict(members[0].record)
    meetings: list[dict[str, Any]] = []
    notes: list[str] = []
    warnings: list[str] = []
    for member in members:
        meetings.extend(meeting for meeting in member.record["meetings"] if meeting not in meetings)
        description = member.record["description"]
        if description and description not in notes:
            notes.append(description)
        warnings.extend(warning for warning in member.warnings if warning not in warnings)
    merged["meetings"] = meetings
    merged["description"] = "\n\n".join(notes)
    dates = sorted(str(m.record["verified_at"]) for m in members if m.record["verified_at"])
    merged["verified_at"] = dates[-1] if dates else None
    slugs = sorted((m.slug for m in members if m.slug), key=lambda slug: (len(slug), slug))
    if slugs:
        merged["external_id"] = slugs[0]
        # A page address is at most 100 characters; a longer slug stays the id only (cut
        # short, two 151-character slugs would be one page), and the page is named instead.
        merged["slug"] = slugs[0] if len(slugs[0]) <= _SLUG_LIMIT else None
    if len(members) > 1:
        rows = ", ".join(str(member.row) for member in members)
        warnings.append(f"rows {rows} are one group and were merged into one listing")
    return RawRecord(members[0].row, merged, warnings=tuple(warnings), rows=len(members))
