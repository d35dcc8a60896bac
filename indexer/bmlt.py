"""BMLT (NA's Basic Meeting List Toolbox) semantic JSON → listings; see docs/import-formats.md.

Takes a `GetSearchResults` response (a bare array of meetings) or the combined
`{"meetings": [...], "formats": [...]}` shape (`get_used_formats=1`).  Format keys are
local to a server and a language ("F" is women in Berlin, "W" elsewhere), so they are read
through the server's `GetFormats` catalogue by their NAWS `world_id`, which is the same on
every server: OPEN/CLOSED, W/M/GL/Y audiences, WCHR, VM/HY/TC and LANG formats.  A catalogue
comes with the meetings or as another file of the same import (`ingest meetings.json
formats.json --format bmlt`); without one, keys are read as world ids with a warning.

BMLT lists one meeting per row, like Meeting Guide: rows with the same name, place and
attributes are one group with several weekly meetings (external id: the smallest meeting
id).  Every value is a string; `#@-@#` separates a label from its value ("ÖPNV#@-@#U1").
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from clearinghouse.vocab import ISO_639_1, LANGUAGE_NAMES
from indexer.reader_base import FormatError, RawRecord, RowCheck, undecodable

SEPARATOR = "#@-@#"
WEEKDAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")  # weekday_tinyint 1–7, Sunday = 1
_MEETING_KEYS = {"id_bigint", "weekday_tinyint", "start_time", "meeting_name"}
_FORMAT_KEYS = {"key_string", "name_string"}
AUDIENCE = {"W": "women", "M": "men", "GL": "lgbtq", "Y": "young-adults", "BEG": "newcomers"}
ACCESSIBILITY = {"WCHR": "wheelchair"}
# world_ids that shape fields rather than the description.
_STRUCTURAL = {"OPEN", "CLOSED", "VM", "HY", "TC", "LANG", *AUDIENCE, *ACCESSIBILITY}
NATIONS = {
    "deutschland": "DE", "deutschlang": "DE", "germany": "DE", "usa": "US", "us": "US",
    "united states": "US", "united states of america": "US", "canada": "CA", "ca": "CA",
}  # fmt: skip
_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


@dataclass(frozen=True)
class Format:
    """One entry of a server's GetFormats catalogue."""

    key: str
    name: str
    world_id: str
    kind: str  # format_type_enum: FC1, FC2, FC3, O, LANG, …


Catalogue = dict[str, Format]


class _RowError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def sniff(path: Path, document: Any) -> tuple[list[Any], Catalogue | None]:
    """(meetings, formats) of a BMLT response; FormatError when it is something else.

    A GetFormats response alone gives no meetings and its catalogue.
    """
    formats: Any = None
    if isinstance(document, Mapping) and ("meetings" in document or "formats" in document):
        meetings, formats = document.get("meetings", []), document.get("formats")
    elif isinstance(document, list):
        meetings = document
    else:
        raise FormatError(
            f"{path.name}: expected BMLT semantic JSON (GetSearchResults: an array of "
            f'meetings, or {{"meetings", "formats"}}); found a {type(document).__name__}'
        )
    if not isinstance(meetings, list) or (formats is not None and not isinstance(formats, list)):
        raise FormatError(f'{path.name}: "meetings" and "formats" must be arrays')
    sample = [item for item in meetings[:50] if isinstance(item, Mapping)]
    if sample and all(item.keys() >= _FORMAT_KEYS for item in sample) and formats is None:
        return [], catalogue(sample)  # a bare GetFormats array
    if meetings and not sample:
        raise FormatError(f"{path.name}: expected BMLT meetings; the items are not objects")
    if sample and not any(len(_MEETING_KEYS & item.keys()) >= 2 for item in sample):
        raise FormatError(
            f"{path.name}: not BMLT meetings: no item has weekday_tinyint, start_time or "
            f"meeting_name (found keys {', '.join(sorted(sample[0])[:8])})"
        )
    return meetings, catalogue(formats) if formats is not None else None


def catalogue(formats: list[Any]) -> Catalogue:
    """Format key → Format, from GetFormats items (anything malformed is skipped)."""
    found: Catalogue = {}
    for item in formats:
        if isinstance(item, Mapping) and _text(item.get("key_string")):
            key = _text(item["key_string"])
            found[key] = Format(
                key=key,
                name=_text(item.get("name_string")) or key,
                world_id=_text(item.get("world_id")).upper(),
                kind=_text(item.get("format_type_enum")).upper(),
            )
    return found


def read_meetings(
    meetings: list[Any], formats: Catalogue | None, check: RowCheck | None
) -> Iterator[RawRecord]:
    """Map each meeting row, reject bad ones by row, merge the rest into groups."""
    country = _feed_country(meetings)
    groups: dict[str, list[tuple[int, dict[str, Any], list[str], str]]] = {}
    for row, item in enumerate(meetings, start=1):
        try:
            record, warnings = meeting_record(item, formats, country)
        except _RowError as error:
            yield RawRecord(row, None, error.message, error.field)
            continue
        problems = check(record) if check else []
        if problems:
            for field, message in problems:
                yield RawRecord(row, None, message, field)
            continue
        meeting_id = str(record.pop("external_id", ""))
        groups.setdefault(_group_key(record), []).append((row, record, warnings, meeting_id))
    for members in groups.values():
        yield _merged(members)


def meeting_record(
    item: Any, formats: Catalogue | None, feed_country: str = ""
) -> tuple[dict[str, Any], list[str]]:
    """One BMLT meeting → (raw listing record with one weekly meeting, warnings)."""
    if not isinstance(item, Mapping):
        raise _RowError("record", "is not an object with fields")
    if message := undecodable(dict(item)):
        raise _RowError("record", message)
    values = {key: _value(value) for key, value in item.items()}
    warnings: list[str] = []
    kinds = _formats(values.get("formats", ""), formats, warnings)
    worlds = {fmt.world_id for fmt in kinds}
    online = {
        "url": values.get("virtual_meeting_link", ""),
        "phone": values.get("phone_meeting_number", ""),
        "notes": values.get("virtual_meeting_additional_info", ""),
    }
    has_online = bool(online["url"] or online["phone"])
    venue = values.get("venue_type", "")
    virtual = venue == "2" or ("VM" in worlds and "HY" not in worlds and venue != "3")
    location = None if virtual and has_online else _location(values, feed_country)
    record: dict[str, Any] = {
        "name": values.get("meeting_name", ""),
        "description": _description(values, kinds),
        "attendance": _attendance(venue, worlds, location, online),
        "languages": _languages(kinds, values.get("lang_enum", ""), warnings),
        "audience": sorted({AUDIENCE[w] for w in worlds if w in AUDIENCE}),
        "accessibility": sorted({ACCESSIBILITY[w] for w in worlds if w in ACCESSIBILITY}),
        "contact": {"email": values.get("email_contact", "")},
        "private_contact": {
            # BMLT spells these both ways: contact_name_1 and contact_name1.
            "name": values.get("contact_name_1") or values.get("contact_name1", ""),
            "email": values.get("contact_email_1") or values.get("contact_email1", ""),
            "phone": values.get("contact_phone_1") or values.get("contact_phone1", ""),
        },
        "online": online if has_online else None,
        "location": location,
        "meetings": [_meeting(values)],
        "status": "inactive" if values.get("published", "1") == "0" else None,
        # TC with a link: the place is closed and it meets online.  Without one, the meeting
        # is temporarily closed: still listed and labelled, until further notice.
        "closure": {"until": None, "reason": "Temporarily closed"}
        if "TC" in worlds and not has_online
        else None,
        "external_id": values.get("id_bigint", ""),
    }
    if worlds & {"OPEN", "CLOSED"}:
        record["open"] = "OPEN" in worlds
    return record, warnings


def _value(value: Any) -> str:
    """A BMLT string: `label#@-@#value` → "label: value", HTML line breaks → new lines."""
    text = _text(value)
    if SEPARATOR in text:
        label, _, rest = text.partition(SEPARATOR)
        text = f"{label.strip()}: {rest.strip()}" if label.strip() else rest.strip()
    if "<" in text:
        text = _TAG.sub("", _BREAK.sub("\n", text)).strip()
    return text


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _formats(keys: str, formats: Catalogue | None, warnings: list[str]) -> list[Format]:
    found: list[Format] = []
    for key in (part.strip() for part in keys.split(",")):
        if not key:
            continue
        if formats is None:
            found.append(Format(key, key, key.upper(), ""))
        elif key in formats:
            found.append(formats[key])
        else:
            warnings.append(f"formats: {key!r} is not in the server's formats and was ignored")
    return found


def _description(values: Mapping[str, str], kinds: list[Format]) -> str:
    parts = [values.get(key, "") for key in ("comments", "format_comments")]
    names = [fmt.name for fmt in kinds if fmt.world_id not in _STRUCTURAL and fmt.kind != "LANG"]
    if names:
        parts.append("Meeting types: " + ", ".join(dict.fromkeys(names)) + ".")
    return "\n\n".join(part for part in parts if part)


def _languages(kinds: list[Format], lang_enum: str, warnings: list[str]) -> list[str]:
    """LANG formats name the meeting's languages; without one, the server's language."""
    codes: list[str] = []
    for fmt in kinds:
        if fmt.world_id != "LANG" and fmt.kind != "LANG":
            continue
        code = fmt.key.lower() if fmt.key.lower() in ISO_639_1 else None
        code = code or LANGUAGE_NAMES.get(fmt.name.lower())
        if code is None:
            warnings.append(f"formats: language {fmt.name!r} is not known; left out")
        elif code not in codes:
            codes.append(code)
    if not codes and lang_enum.lower()[:2] in ISO_639_1:
        codes.append(lang_enum.lower()[:2])
    return codes


def _feed_country(meetings: list[Any]) -> str:
    """The country most rows name: a server serves one country, and many rows leave it out."""
    named = Counter(
        NATIONS.get(_text(item.get("location_nation")).lower(), "")
        for item in meetings
        if isinstance(item, Mapping)
    )
    named.pop("", None)
    return named.most_common(1)[0][0] if named else ""


def _location(values: Mapping[str, str], feed_country: str) -> dict[str, Any] | None:
    nation = values.get("location_nation", "")
    country = NATIONS.get(nation.lower(), nation) or feed_country
    notes = [values.get(key, "") for key in ("location_info", "public_transport")]
    location = {
        "name": values.get("location_text", ""),
        "address": values.get("location_street", ""),
        "city": values.get("location_municipality") or values.get("location_city_subsection", ""),
        # States and provinces are ours to check; elsewhere a province is not a region here.
        "region": values.get("location_province", "") if country in ("", "US", "CA") else "",
        "postal_code": values.get("location_postal_code_1", ""),
        "country": country,
        "lat": values.get("latitude") or None,
        "lon": values.get("longitude") or None,
        "timezone": values.get("time_zone", ""),
        "notes": "\n".join(note for note in notes if note),
    }
    meaningful = ("name", "address", "city", "postal_code", "lat")
    return location if any(location[key] for key in meaningful) else None


def _attendance(
    venue: str, worlds: set[str], location: dict[str, Any] | None, online: dict[str, str]
) -> str:
    if location is None and (online["url"] or online["phone"]):
        return "online" if online["url"] else "phone"
    if (venue == "3" or "HY" in worlds or online["url"]) and location is not None:
        return "hybrid" if online["url"] or online["phone"] else "in-person"
    return "in-person"


def _meeting(values: Mapping[str, str]) -> dict[str, Any]:
    day = values.get("weekday_tinyint", "")
    if not day.isdigit() or not 1 <= int(day) <= 7:
        raise _RowError("weekday_tinyint", f"{day!r} is not a day (1 = Sunday … 7 = Saturday)")
    start = values.get("start_time", "")[:5]
    meeting: dict[str, Any] = {
        "freq": "weekly",
        "byday": [WEEKDAYS[int(day) - 1]],
        "start": start,
        "end": _end(start, values.get("duration_time", "")),
    }
    if values.get("time_zone"):
        meeting["timezone"] = values["time_zone"]
    return meeting


def _end(start: str, duration: str) -> str:
    """Start plus "HH:MM[:SS]" duration, on a 24-hour clock; "" when either is unreadable."""
    try:
        hours, minutes = (int(part) for part in start.split(":")[:2])
        length = [int(part) for part in duration.split(":")[:2]]
    except ValueError:
        return ""
    if len(length) != 2 or not any(length):
        return ""
    end = timedelta(hours=hours + length[0], minutes=minutes + length[1])
    total = int(end.total_seconds() // 60) % (24 * 60)
    return f"{total // 60:02d}:{total % 60:02d}"


def _group_key(record: dict[str, Any]) -> str:
    """Everything but the schedule and the description: rows equal in it are one group."""
    same = {key: value for key, value in record.items() if key not in ("meetings", "description")}
    same["name"] = " ".join(str(same.get("name") or "").lower().split())
    return json.dumps(same, sort_keys=True, default=str)


def _merged(members: list[tuple[int, dict[str, Any], list[str], str]]) -> RawRecord:
    first_row, merged = members[0][0], dict(members[0][1])
    meetings: list[dict[str, Any]] = []
    notes: list[str] = []
    warnings: list[str] = []
    for _row, record, member_warnings, _id in members:
        meetings.extend(meeting for meeting in record["meetings"] if meeting not in meetings)
        if record["description"] and record["description"] not in notes:
            notes.append(record["description"])
        warnings.extend(warning for warning in member_warnings if warning not in warnings)
    merged["meetings"] = meetings
    merged["description"] = "\n\n".join(notes)
    ids = sorted((m[3] for m in members if m[3]), key=lambda i: (len(i), i))
    if ids:
        merged["external_id"] = ids[0]
    if len(members) > 1:
        rows = ", ".join(str(member[0]) for member in members)
        warnings.append(f"rows {rows} are one group and were merged into one listing")
    return RawRecord(first_row, merged, warnings=tuple(warnings), rows=len(members))
