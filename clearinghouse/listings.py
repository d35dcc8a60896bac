"""One validation for every way a listing arrives (forms, imports, API), as plain values.

`validate_listing` turns a raw record — the project's JSON shape of a group, with strings
where a form or a CSV has strings — into a `ListingData` or a list of `FieldError`s that
name the field, what was wrong and what is allowed.  It is pure: no database, no network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from clearinghouse import schedule
from clearinghouse.geo import country_code, region_code
from clearinghouse.inputs import clean_record, parse_timestamp
from clearinghouse.markup import TooMuchMarkup, strip_markup
from clearinghouse.schedule import Cancellation, Closure, ScheduleError
from clearinghouse.taxonomy import Taxonomy
from clearinghouse.vocab import (
    ACCESSIBILITY,
    AUDIENCES,
    COSTS,
    FREQUENCIES,
    ICAL_DAYS,
    ISO_639_1,
    LANGUAGE_NAMES,
    STATUSES,
)

LIMITS = {
    "name": 200,
    "description": 5000,
    "organization": 200,
    "cost_note": 300,
    "notes": 1000,
    "short": 300,
    "url": 500,
    "email": 254,
    "phone": 40,
    "dial_string": 200,
}
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^[0-9+().\-\s/x#*,ext]{7,40}$", re.I)
_DIAL_SEQUENCE = re.compile(r"^[0-9A-Za-z,;#*+&.\-\s]*$")
_US_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
_CA_POSTAL = re.compile(r"^[A-Za-z]\d[A-Za-z]\s?(\d[A-Za-z]\d)?$")
_WHITESPACE = re.compile(r"\s+")

FORMAT_WORDS = {
    "peer-led": "peer-led",
    "peer led": "peer-led",
    "peer": "peer-led",
    "self-help": "peer-led",
    "self help": "peer-led",
    "mutual aid": "peer-led",
    "mutual-aid": "peer-led",
    "professional-expert": "professional-expert",
    "professional expert": "professional-expert",
    "professional": "professional-expert",
    "professionally led": "professional-expert",
    "professionally-led": "professional-expert",
    "expert": "professional-expert",
}
ATTENDANCE_WORDS = {
    "in-person": "in-person",
    "in person": "in-person",
    "inperson": "in-person",
    "face to face": "in-person",
    "online": "online",
    "virtual": "online",
    "video": "online",
    "zoom": "online",
    "phone": "phone",
    "telephone": "phone",
    "conference call": "phone",
    "hybrid": "hybrid",
    "both": "hybrid",
}
TRUE_WORDS = {"1", "true", "yes", "y", "open", "t", "on"}
FALSE_WORDS = {"0", "false", "no", "n", "closed", "f", "off", "registration"}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class LocationData:
    name: str = ""
    address: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = "US"
    lat: float | None = None
    lon: float | None = None
    approximate: bool = False
    timezone: str | None = None
    notes: str = ""


@dataclass(frozen=True)
class MeetingData:
    freq: str
    byday: tuple[str, ...]
    start: time | None
    end: time | None
    timezone: str | None
    note: str = ""
    interval: int = 1
    anchor: date | None = None
    cancellations: tuple[Cancellation, ...] = ()

    def rule(self) -> schedule.Rule:
        return schedule.Rule(
            self.freq,
            self.byday,
            self.start,
            self.end,
            self.timezone,
            self.note,
            interval=self.interval,
            anchor=self.anchor,
            cancelled=frozenset(c.day for c in self.cancellations),
        )


@dataclass(frozen=True)
class ListingData:
    """A validated, normalised listing, ready to store."""

    name: str
    description: str = ""
    organization: str = ""
    concerns: tuple[str, ...] = ()
    unknown_concerns: tuple[str, ...] = ()
    format: str = "peer-led"
    attendance: str = "in-person"
    open: bool = True
    time_limited: bool = False
    cost: str = "free"
    cost_note: str = ""
    languages: tuple[str, ...] = ("en",)
    audience: tuple[str, ...] = ()
    accessibility: tuple[str, ...] = ()
    contact_phone: str | None = None
    contact_email: str | None = None
    website: str | None = None
    online_url: str | None = None
    online_phone: str | None = None
    online_notes: str = ""
    service_area: tuple[str, ...] = ()
    private_contact_name: str | None = None
    private_contact_phone: str | None = None
    private_contact_email: str | None = None
    private_notes: str = ""
    location: LocationData | None = None
    meetings: tuple[MeetingData, ...] = ()
    closure: Closure | None = None  # temporarily closed
    cancellations: tuple[Cancellation, ...] = ()  # days the whole group does not meet
    status: str | None = None
    verified_at: datetime | None = None
    slug: str | None = None
    external_id: str | None = None


@dataclass
class Validation:
    """The outcome of validating one record: data or errors, plus repairs worth telling."""

    data: ListingData | None = None
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[FieldError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.data is not None and not self.errors


class _Checker:
    """Collects errors and repairs while reading one raw record."""

    def __init__(self, *, lenient: bool = False) -> None:
        self.errors: list[FieldError] = []
        self.warnings: list[FieldError] = []
        self.lenient = lenient  # unusable place and join fields: left out, not errors

    def error(self, name: str, message: str) -> None:
        self.errors.append(FieldError(name, message))

    def warn(self, name: str, message: str) -> None:
        self.warnings.append(FieldError(name, message))

    def text(self, name: str, value: Any, limit: int, *, required: bool = False) -> str:
        """Plain text: entities decoded and markup removed (`clearinghouse.markup`), white space
        folded, length bounded."""
        if value is None:
            value = ""
        if isinstance(value, (Mapping, list, tuple)):
            kind = "a list" if isinstance(value, (list, tuple)) else "an object"
            self.error(name, f"is {kind}; expected text")
            return ""
        if not isinstance(value, str):
            value = str(value)
        if len(value) > limit * 4 + 1000:
            self.error(name, f"is {len(value):,} characters long; at most {limit:,} are allowed")
            return ""
        try:
            text, removed = strip_markup(value)
        except TooMuchMarkup as error:
            self.error(name, str(error))
            return ""
        if removed:
            self.warn(name, "HTML was removed")
        cleaned = _WHITESPACE.sub(" ", text).strip()
        if required and not cleaned:
            self.error(name, "is required")
        if len(cleaned) > limit:
            self.error(name, f"is {len(cleaned):,} characters long; at most {limit:,} are allowed")
            return ""
        return cleaned

    def optional(self, name: str, value: Any, limit: int) -> str | None:
        return self.text(name, value, limit) or None

    def choice(self, name: str, value: Any, words: Mapping[str, str], default: str) -> str:
        text = self.text(name, value, 60).lower()
        if not text:
            return default
        chosen = words.get(text) or words.get(text.replace("_", "-"))
        if chosen is None:
            allowed = ", ".join(sorted(set(words.values())))
            self.error(name, f"{text!r} is not allowed; use one of {allowed}")
            return default
        return chosen

    def flag(self, name: str, value: Any, default: bool) -> bool:
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        self.error(name, f"{value!r} is not yes or no")
        return default

    def tags(self, name: str, value: Any, vocabulary: Mapping[str, str]) -> tuple[str, ...]:
        """Controlled tags; values outside the vocabulary are dropped with a warning."""
        chosen: list[str] = []
        by_label = {label.lower(): slug for slug, label in vocabulary.items()}
        for item in as_list(value):
            text = self.text(name, item, 80).lower()
            slug = text.replace(" ", "-").replace("_", "-")
            found = slug if slug in vocabulary else by_label.get(text)
            if found is None:
                if text:
                    self.warn(name, f"{text!r} is not a known value and was left out")
                continue
            if found not in chosen:
                chosen.append(found)
        return tuple(chosen)

    def email(self, name: str, value: Any) -> str | None:
        text = self.text(name, value, LIMITS["email"])
        problem = email_problem(text)
        if problem:
            self.error(name, problem)
            return None
        return text or None

    def phone(self, name: str, value: Any) -> str | None:
        text = self.text(name, value, LIMITS["phone"])
        if text and not _PHONE.match(text):
            self.error(name, f"{text!r} is not a phone number")
            return None
        return text or None

    def url(self, name: str, value: Any) -> str | None:
        text = self.text(name, value, LIMITS["url"])
        if not text:
            return None
        if re.match(r"^[a-z][a-z0-9+.-]*:", text, re.I) and not text.lower().startswith(
            ("http://", "https://")
        ):
            self.error(name, f"{text!r} is not a web address (http or https)")
            return None
        if not text.lower().startswith(("http://", "https://")):
            text = "https://" + text
        if " " in text or "." not in text:
            self.error(name, f"{text!r} is not a web address")
            return None
        return text


def _dial_string(check: _Checker, value: Any) -> tuple[str | None, str | None]:
    """(the number to join by phone, kept whole with its one-tap dial sequence, or why not).

    Meeting Guide feeds give one-tap strings: `+15873281099,,8076462994#,,#,,1234#` dials
    the number, waits, then enters the meeting ID and passcode.
    """
    text = check.text("online.phone", value, LIMITS["dial_string"])
    if not text:
        return None, None
    number = re.split(r"[,;]", text, maxsplit=1)[0]
    if _PHONE.match(number.strip()) and _DIAL_SEQUENCE.match(text[len(number) :]):
        return text, None
    return None, f"{_shown(text)} is not a phone number"


def email_problem(text: str) -> str | None:
    """Why `text` is not an e-mail address, or None (also None for no text): forms ask this too."""
    if text and not _EMAIL.match(text):
        return f"{text!r} is not an email address (for example name@example.org)"
    return None


def as_list(value: Any) -> list[Any]:
    """A list from a list, or from a string separated by commas, semicolons or pipes."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [part for part in re.split(r"[;,|]", str(value)) if part.strip()]


def validate_listing(
    raw: Mapping[str, Any],
    taxonomy: Taxonomy,
    *,
    default_concerns: Iterable[str] = (),
    from_feed: bool = False,
) -> Validation:
    """Validate and normalise one raw record; see the module docstring.

    `from_feed`: the record comes from a partner's file, taken as its author meant it — a
    place or join field that cannot be used (a postal code `0`, a lone latitude, a phone
    `+1`) is left out with a warning when the listing is still placeable or joinable.  A
    person at a form is asked to fix the field instead (an error on it).
    """
    check = _Checker(lenient=from_feed)
    if not isinstance(raw, Mapping):
        return Validation(errors=[FieldError("record", "is not an object with fields")])
    # Control characters (NUL: PostgreSQL refuses it) never reach the database from any source.
    raw = clean_record(raw)
    name = check.text("name", raw.get("name"), LIMITS["name"], required=True)
    concerns, unknown = _concerns(check, raw.get("concerns"), taxonomy, default_concerns)
    online = _mapping(raw.get("online"))
    online_url = check.url("online.url", online.get("url"))
    online_phone, phone_problem = _dial_string(check, online.get("phone"))
    location = _location(check, raw.get("location"), can_join=bool(online_url or online_phone))
    if phone_problem and check.lenient and (online_url or _has_place(location)):
        check.warn("online.phone", f"{phone_problem}; left out")
    elif phone_problem:
        check.error("online.phone", phone_problem)
    meetings = _meetings(check, raw.get("meetings"), location)
    attendance = _attendance(check, raw.get("attendance"), location, online_url, online_phone)
    if not _has_place(location) and not (online_url or online_phone):
        check.error(
            "location",
            "has no place and no way to join: give an address, city, postal code or "
            "coordinates, or an online link or a phone number to join by",
        )
    contact = _mapping(raw.get("contact"))
    private = _mapping(raw.get("private_contact"))
    data = ListingData(
        name=name,
        description=check.text("description", raw.get("description"), LIMITS["description"]),
        organization=check.text("organization", _org_name(raw.get("organization")), 200),
        concerns=concerns,
        unknown_concerns=unknown,
        format=check.choice("format", raw.get("format"), FORMAT_WORDS, "peer-led"),
        attendance=attendance,
        open=check.flag("open", raw.get("open"), True),
        time_limited=check.flag("time_limited", raw.get("time_limited"), False),
        cost=check.choice("cost", raw.get("cost"), {c: c for c in COSTS}, "free"),
        cost_note=check.text("cost_note", raw.get("cost_note"), LIMITS["cost_note"]),
        languages=_languages(check, raw.get("languages")),
        audience=check.tags("audience", raw.get("audience"), AUDIENCES),
        accessibility=check.tags("accessibility", raw.get("accessibility"), ACCESSIBILITY),
        contact_phone=check.phone("contact.phone", contact.get("phone")),
        contact_email=check.email("contact.email", contact.get("email")),
        website=check.url("contact.website", contact.get("website") or raw.get("website")),
        online_url=online_url,
        online_phone=online_phone,
        online_notes=check.text("online.notes", online.get("notes"), LIMITS["notes"]),
        service_area=_service_area(check, raw.get("service_area")),
        private_contact_name=check.optional("private_contact.name", private.get("name"), 200),
        private_contact_phone=check.phone("private_contact.phone", private.get("phone")),
        private_contact_email=check.email("private_contact.email", private.get("email")),
        private_notes=check.text("private_contact.notes", private.get("notes"), 5000),
        location=location,
        meetings=meetings,
        closure=_closure(check, raw.get("closure")),
        cancellations=_cancellations(check, "cancellations", raw.get("cancellations")),
        status=_status(check, raw.get("status")),
        verified_at=_timestamp(check, "verified_at", raw.get("verified_at")),
        slug=_slug_value(raw.get("slug")),
        external_id=check.optional("external_id", raw.get("external_id"), 200),
    )
    if check.errors:
        return Validation(errors=check.errors, warnings=check.warnings)
    return Validation(data=data, warnings=check.warnings)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _org_name(value: Any) -> Any:
    return value.get("name") if isinstance(value, Mapping) else value


def _concerns(
    check: _Checker, value: Any, taxonomy: Taxonomy, defaults: Iterable[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Concerns by slug, label or synonym; unknown names are kept for staff, not dropped."""
    known: list[str] = []
    unknown: list[str] = []
    items = as_list(value)
    for item in items:
        if isinstance(item, Mapping):
            item = item.get("slug") or item.get("label") or ""
        text = check.text("concerns", item, 120)
        if not text:
            continue
        slug = taxonomy.lookup(text)
        if slug is None:
            if text not in unknown:
                unknown.append(text)
        elif slug not in known:
            known.append(slug)
    if not items:  # a feed's default concern is for records that name none
        known.extend(slug for slug in dict.fromkeys(defaults) if slug in taxonomy)
    if not known and not unknown:
        check.error("concerns", "at least one concern is required")
    return tuple(known), tuple(unknown)


def _languages(check: _Checker, value: Any) -> tuple[str, ...]:
    codes: list[str] = []
    for item in as_list(value) or ["en"]:
        text = str(item).strip().lower()
        code = text if text in ISO_639_1 else LANGUAGE_NAMES.get(text)
        if code is None and len(text) > 2 and text[:2] in ISO_639_1 and text[2] in "-_":
            code = text[:2]  # "en-US"
        if code is None:
            check.error(
                "languages", f"{item!r} is not a language (use ISO 639-1 codes like en, es)"
            )
            continue
        if code not in codes:
            codes.append(code)
    return tuple(codes)


def _service_area(check: _Checker, value: Any) -> tuple[str, ...]:
    regions: list[str] = []
    for item in as_list(value):
        text = str(item).strip()
        code = region_code(text)
        if code is None:
            check.error("service_area", f"{text!r} is not a US state or Canadian province")
        elif code not in regions:
            regions.append(code)
    return tuple(regions)


def _location(check: _Checker, value: Any, *, can_join: bool) -> LocationData | None:
    """The place, if any.  A field that cannot be used (a postal code `0`, a lone latitude,
    a region `XX`, a country without coordinates) is an error — or, from a feed
    (`from_feed`), left out with a warning when the listing is still placeable or can be
    joined without a place.
    """
    if not isinstance(value, Mapping):
        return None
    unusable: list[tuple[str, str]] = []
    lat, lon = _coordinates(value, unusable)
    country = _country(check, value.get("country"), lat is not None, unusable)
    north_american = country in ("US", "CA")
    postal = check.text("location.postal_code", value.get("postal_code"), 12).upper()
    if north_american and postal:
        postal = "0" + postal if len(postal) == 4 and postal.isdigit() else postal
        if not (_US_ZIP.match(postal) or _CA_POSTAL.match(postal)):
            unusable.append(
                ("location.postal_code", f"{postal!r} is not a US ZIP or Canadian postal code")
            )
            postal = ""
    region = _region(check, value.get("region"), unusable) if north_american else ""
    tz = check.text("location.timezone", value.get("timezone"), 64) or None
    if tz and not schedule.valid_timezone(tz):
        check.error("location.timezone", f"{tz!r} is not an IANA time zone (e.g. America/Chicago)")
        tz = None
    location = LocationData(
        name=check.text("location.name", value.get("name"), 200),
        address=check.text("location.address", value.get("address"), LIMITS["short"]),
        city=check.text("location.city", value.get("city"), 120),
        region=region,
        postal_code=postal,
        country=country or "",
        lat=lat,
        lon=lon,
        approximate=check.flag("location.approximate", value.get("approximate"), False),
        timezone=tz,
        notes=check.text("location.notes", value.get("notes"), LIMITS["notes"]),
    )
    placeable = lat is not None or (
        north_american and bool(location.address or location.city or location.postal_code)
    )
    for name, message in unusable:
        if check.lenient and (placeable or can_join):
            check.warn(name, f"{message}; left out")
        else:
            check.error(name, message)
    if not placeable and not north_american:
        location = LocationData(name=location.name, notes=location.notes, country=country or "")
    empty = LocationData(country=location.country)
    return None if location == empty else location


def _coordinates(
    value: Mapping[str, Any], unusable: list[tuple[str, str]]
) -> tuple[float | None, float | None]:
    lat = _coordinate("location.lat", value.get("lat"), 90, unusable)
    lon = _coordinate("location.lon", value.get("lon"), 180, unusable)
    if (lat is None) != (lon is None):
        unusable.append(("location", "give both lat and lon, or neither"))
        return None, None
    if lat == 0 and lon == 0:  # the middle of the Atlantic: a feed's "no coordinates"
        unusable.append(("location", "0, 0 is not a place (coordinates missing?)"))
        return None, None
    return lat, lon


def _country(
    check: _Checker, value: Any, has_coordinates: bool, unusable: list[tuple[str, str]]
) -> str | None:
    """US, CA, or — with coordinates to place it — any country (None when not known)."""
    text = check.text("location.country", value, 60)
    if not text:
        return "US"
    code = country_code(text)
    if code in ("US", "CA"):
        return code
    if code is None:
        unusable.append(("location.country", f"{text!r} is not a country"))
    elif not has_coordinates:
        unusable.append(
            ("location.country", f"{text!r} is outside the US and Canada: give its lat and lon")
        )
    return code if has_coordinates else None


def _region(check: _Checker, value: Any, unusable: list[tuple[str, str]]) -> str:
    text = check.text("location.region", value, 40)
    if not text:
        return ""
    code = region_code(text)
    if code is None:
        unusable.append(("location.region", f"{text!r} is not a US state or Canadian province"))
        return ""
    return code


def _coordinate(
    name: str, value: Any, bound: float, unusable: list[tuple[str, str]]
) -> float | None:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        unusable.append((name, f"{_shown(value)} is not a number"))
        return None
    if not -bound <= number <= bound or number != number:
        unusable.append((name, f"{_shown(value)} is out of range (−{bound:g} to {bound:g})"))
        return None
    return round(number, 6)


def _shown(value: Any) -> str:
    """A bad value quoted in a message, cut short: a 400-digit number is not worth echoing."""
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _meetings(
    check: _Checker, value: Any, location: LocationData | None
) -> tuple[MeetingData, ...]:
    if value is None or value == "":
        return ()
    if not isinstance(value, (list, tuple)):
        check.error("meetings", "must be a list of meeting rules")
        return ()
    meetings: list[MeetingData] = []
    for index, item in enumerate(value):
        name = f"meetings[{index}]"
        if not isinstance(item, Mapping):
            check.error(name, "is not a meeting rule")
            continue
        freq = str(item.get("freq") or "weekly").strip().lower()
        if freq not in FREQUENCIES:
            check.error(f"{name}.freq", f"{freq!r} is not allowed; use one of {FREQUENCIES}")
            continue
        try:
            byday = schedule.parse_byday(as_list(item.get("byday")), freq)
            start = _time_or_none(item.get("start"))
            end = _time_or_none(item.get("end"))
        except ScheduleError as error:
            check.error(name, str(error))
            continue
        if freq != "arrangement" and not byday:
            check.error(f"{name}.byday", "at least one day is required (or freq arrangement)")
            continue
        tz = str(item.get("timezone") or "").strip() or (location.timezone if location else None)
        if tz and not schedule.valid_timezone(tz):
            check.error(f"{name}.timezone", f"{tz!r} is not an IANA time zone")
            continue
        note = check.text(f"{name}.note", item.get("note") or item.get("notes"), 300)
        interval, anchor = _repeat(check, name, item, freq, byday)
        cancelled = _cancellations(check, f"{name}.cancellations", item.get("cancellations"))
        meetings.append(MeetingData(freq, byday, start, end, tz, note, interval, anchor, cancelled))
    return tuple(meetings)


def _repeat(
    check: _Checker, name: str, item: Mapping[str, Any], freq: str, byday: tuple[str, ...]
) -> tuple[int, date | None]:
    """(every how many weeks, a day it meets): every other week needs a day to count from."""
    value = item.get("interval")
    text = "" if value is None or isinstance(value, bool) else str(value).strip()
    if isinstance(value, bool) or (text and not text.isdigit()):
        check.error(f"{name}.interval", f"{_shown(value)} is not a number of weeks (1 or 2)")
        return 1, None
    interval = int(text[:3]) if text else 1
    anchor = _schedule_date(check, f"{name}.anchor", item.get("anchor"))
    if interval not in schedule.INTERVALS:
        allowed = ", ".join(str(n) for n in schedule.INTERVALS)
        check.error(f"{name}.interval", f"{text!r} weeks is not allowed; use one of {allowed}")
        return 1, None
    if interval > 1 and freq != "weekly":
        check.error(f"{name}.interval", "only weekly meetings can repeat every few weeks")
        return 1, None
    if interval > 1 and anchor is None:
        if item.get("anchor") not in (None, ""):
            return interval, None  # given but not a date: that error says it
        check.error(
            f"{name}.anchor",
            "every other week needs a date it meets on (YYYY-MM-DD), to know which weeks",
        )
        return interval, None
    if interval > 1 and anchor is not None and ICAL_DAYS[anchor.weekday()] not in byday:
        check.error(
            f"{name}.anchor",
            f"{anchor.isoformat()} is a {anchor:%A}; give a date it meets on "
            f"({', '.join(schedule.DAYS_BY_CODE[code] for code in byday)})",
        )
        return interval, None
    return interval, anchor if interval > 1 else None  # weekly: every week, no anchor needed


def _schedule_date(check: _Checker, name: str, value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return schedule.parse_date(str(value))
    except ScheduleError as error:
        check.error(name, str(error))
        return None


def _cancellations(check: _Checker, name: str, value: Any) -> tuple[Cancellation, ...]:
    """Days with no meeting ("2026-12-24 Christmas Eve"); see `schedule.parse_cancellations`."""
    if isinstance(value, (list, tuple)):
        value = [dict(item) if isinstance(item, Mapping) else item for item in value]
    try:
        found = schedule.parse_cancellations(value)
    except ScheduleError as error:
        check.error(name, str(error))
        return ()
    cleaned = []
    for cancellation in found:
        reason = check.text(name, cancellation.reason, schedule.REASON_LIMIT)
        cleaned.append(Cancellation(cancellation.day, reason))
    return tuple(cleaned)


def _closure(check: _Checker, value: Any) -> Closure | None:
    """Temporarily closed: {"until": "YYYY-MM-DD" or null (until further notice), "reason"}."""
    if value is None or value == "" or value is False:
        return None
    if value is True:
        return Closure(None)
    if not isinstance(value, Mapping):
        check.error("closure", 'must be {"until": "YYYY-MM-DD" or null, "reason": "…"}')
        return None
    until = _schedule_date(check, "closure.until", value.get("until"))
    reason = check.text("closure.reason", value.get("reason"), schedule.REASON_LIMIT)
    return Closure(until, reason)


def _time_or_none(value: Any) -> time | None:
    if value is None or value == "":
        return None
    if isinstance(value, time):
        return value
    return schedule.parse_time(str(value))


def _attendance(
    check: _Checker,
    value: Any,
    location: LocationData | None,
    online_url: str | None,
    online_phone: str | None,
) -> str:
    """Given, or inferred from where a group meets: a place and a link make it hybrid."""
    if value not in (None, ""):
        return check.choice("attendance", value, ATTENDANCE_WORDS, "in-person")
    if _has_place(location):
        return "hybrid" if online_url else "in-person"
    if online_url:
        return "online"
    if online_phone:
        return "phone"
    return "in-person"


def _has_place(location: LocationData | None) -> bool:
    """Somewhere a person could go (or that geocoding can find): a venue name alone is not."""
    return location is not None and bool(
        location.address or location.city or location.postal_code or location.lat is not None
    )


def _status(check: _Checker, value: Any) -> str | None:
    text = check.text("status", value, 20).lower()
    if not text:
        return None
    if text not in STATUSES:
        check.error("status", f"{text!r} is not allowed; use one of {STATUSES}")
        return None
    return text


def _timestamp(check: _Checker, name: str, value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    try:
        return parse_timestamp(str(value))
    except ValueError as error:
        check.error(name, f"{error} (use YYYY-MM-DD)")
        return None


def _slug_value(value: Any) -> str | None:
    text = slugify(str(value or ""))
    return text or None


def slugify(text: str, limit: int = 100) -> str:
    """ASCII kebab case: "Grief Support — Chicago" → "grief-support-chicago"."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-")
