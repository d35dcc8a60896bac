"""The project's CSV layout: one listing per row, flat columns (docs/import-formats.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from indexer.reader_base import CsvRow, RawRecord

COLUMNS = (
    "name", "description", "organization", "concerns", "format", "attendance", "open",
    "time_limited", "cost", "cost_note", "languages", "audience", "accessibility",
    "phone", "email", "website", "online_url", "online_phone", "online_notes", "service_area",
    "venue", "address", "city", "state", "postal_code", "country", "lat", "lon", "approximate",
    "location_notes", "timezone", "days", "start", "end", "freq", "meeting_note", "meetings",
    "private_contact_name", "private_contact_phone", "private_contact_email", "private_notes",
    "status", "verified_at", "slug", "external_id",
)  # fmt: skip
ALIASES = {
    "concern": "concerns",
    "language": "languages",
    "contact_phone": "phone",
    "contact_email": "email",
    "url": "website",
    "location_name": "venue",
    "region": "state",
    "province": "state",
    "zip": "postal_code",
    "zip_code": "postal_code",
    "postcode": "postal_code",
    "latitude": "lat",
    "longitude": "lon",
    "lng": "lon",
    "day": "days",
    "byday": "days",
    "start_time": "start",
    "end_time": "end",
    "frequency": "freq",
    "id": "external_id",
}
# Header columns that make a file the 12 Step Meeting List template rather than ours.
TSML_REQUIRED = {"time", "day", "name"}
TSML_COLUMNS = {
    "time", "end_time", "day", "name", "location", "address", "city", "state", "postal_code",
    "country", "region", "sub_region", "types", "notes", "location_notes", "timezone", "group",
    "district", "sub_district", "website", "website_2", "mailing_address", "venmo", "square",
    "paypal", "email", "phone", "group_notes", "contact_1_name", "contact_1_email",
    "contact_1_phone", "contact_2_name", "contact_2_email", "contact_2_phone", "contact_3_name",
    "contact_3_email", "contact_3_phone", "last_contact", "conference_url",
    "conference_url_notes", "conference_phone", "conference_phone_notes", "author", "slug",
    "updated", "latitude", "longitude", "approximate", "formatted_address", "location_url",
    "data_source", "id", "group_id", "entity",
}  # fmt: skip
_LIST_SPLIT = re.compile(r"\s*[;|]\s*")
_DAY_SPLIT = re.compile(r"[;,|\s]+")
_RULE = re.compile(r"^(?P<days>\S+)(?:\s+(?P<start>.+?)(?:\s*(?:-|–|to)\s*(?P<end>.+))?)?$", re.I)
_ARRANGEMENT = {"by arrangement", "arrangement", "by appointment", "appointment"}


def detect(header: list[str]) -> str | None:
    """Which layout a header is: "tsml" (the 12 Step Meeting List template), "csv" or None."""
    names = set(header)
    if names >= TSML_REQUIRED and "concerns" not in names:
        return "tsml"
    canonical = {ALIASES.get(name, name) for name in names}
    if "name" in canonical and len(canonical & set(COLUMNS)) >= 2:
        return "csv"
    return None


def unknown_columns(header: list[str], layout: str) -> list[str]:
    known = TSML_COLUMNS if layout == "tsml" else set(COLUMNS) | set(ALIASES)
    return [name for name in header if name and name not in known]


def read_rows(rows: Iterable[CsvRow]) -> Iterator[RawRecord]:
    for row, values, field, error in rows:
        if values is None:
            yield RawRecord(row, None, error, field)
        else:
            yield RawRecord(row, row_record(values))


def row_record(values: dict[str, str]) -> dict[str, Any]:
    """One CSV row (normalised column names) → a raw listing record."""
    cells = {ALIASES.get(name, name): value.strip() for name, value in values.items() if name}
    get = cells.get
    record: dict[str, Any] = {
        name: get(name, "")
        for name in (
            "name", "description", "organization", "format", "attendance", "open",
            "time_limited", "cost", "cost_note", "status", "verified_at", "slug", "external_id",
        )
    }  # fmt: skip
    for name in ("concerns", "languages", "audience", "accessibility", "service_area"):
        record[name] = split_list(get(name, ""))
    record["contact"] = {"phone": get("phone"), "email": get("email"), "website": get("website")}
    record["private_contact"] = {
        "name": get("private_contact_name"),
        "phone": get("private_contact_phone"),
        "email": get("private_contact_email"),
        "notes": get("private_notes"),
    }
    online = {"url": get("online_url"), "phone": get("online_phone"), "notes": get("online_notes")}
    record["online"] = online if any(online.values()) else None
    location = {
        "name": get("venue", ""),
        "address": get("address", ""),
        "city": get("city", ""),
        "region": get("state", ""),
        "postal_code": get("postal_code", ""),
        "country": get("country", ""),
        "lat": get("lat", ""),
        "lon": get("lon", ""),
        "approximate": get("approximate", ""),
        "notes": get("location_notes", ""),
    }
    has_place = any(location.values())
    if has_place:
        location["timezone"] = get("timezone", "")
    record["location"] = location if has_place else None
    record["meetings"] = meeting_rules(cells)
    return record


def split_list(text: str) -> list[str]:
    """Semicolon (or pipe) separated values; commas stay inside a value ("Abuse, trauma")."""
    return [part for part in _LIST_SPLIT.split(text) if part] if text else []


def meeting_rules(cells: dict[str, str]) -> list[dict[str, Any]]:
    """The `days`/`start`/`end`/`freq` rule plus any rules in `meetings` ("MO 19:00-20:30 | …")."""
    zone = cells.get("timezone", "")
    rules: list[dict[str, Any]] = []
    days, start, end = cells.get("days", ""), cells.get("start", ""), cells.get("end", "")
    if days or start:
        rules.append(
            _rule(days, start, end, cells.get("freq", ""), cells.get("meeting_note", ""), zone)
        )
    for text in cells.get("meetings", "").split("|"):
        part = text.strip()
        if not part:
            continue
        if part.lower() in _ARRANGEMENT:
            rules.append(_rule(part, "", "", "", "", zone))
            continue
        match = _RULE.match(part)
        if match is None:  # let validation say what is wrong with it
            rules.append({"freq": "weekly", "byday": [part], "timezone": zone})
        else:
            rules.append(
                _rule(match["days"], match["start"] or "", match["end"] or "", "", "", zone)
            )
    return rules


def _rule(days: str, start: str, end: str, freq: str, note: str, zone: str) -> dict[str, Any]:
    if days.strip().lower() in _ARRANGEMENT:
        return {"freq": "arrangement", "byday": [], "start": start, "end": end, "note": note}
    tokens = [token for token in _DAY_SPLIT.split(days) if token]
    if not freq:
        freq = "monthly" if any(token[0] in "-12345" for token in tokens) else "weekly"
    rule: dict[str, Any] = {"freq": freq.lower(), "byday": tokens, "start": start, "end": end}
    if note:
        rule["note"] = note
    if zone:
        rule["timezone"] = zone
    return rule
