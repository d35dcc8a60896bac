"""HSDS 3.0 services → listings: a best-effort mapping, documented in docs/import-formats.md.

A service becomes one listing per place it is offered (`service_at_locations`); a service
at one place (or none) keeps the service id as its external id, a service at several
places gets `<service id>@<location id>` for each.  Taxonomy terms attached as attributes
become concerns (unknown ones are kept and flagged for staff by validation); contacts are
people, so they go to the staff-only private contact.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from clearinghouse.geo import region_code
from clearinghouse.search.facets import FACETS
from clearinghouse.vocab import ACCESSIBILITY, ISO_639_1, LANGUAGE_NAMES
from indexer.reader_base import (
    FormatError,
    RawRecord,
    Unreadable,
    looks_like_meeting_feed,
    undecodable,
)

_SERVICE_KEYS = {"service_at_locations", "schedules", "organization", "phones", "attributes"}
# Fields only an HSDS service has (from schema/service.json); two of them make a service.
_HSDS_ONLY = _SERVICE_KEYS | {
    "organization_id", "program", "program_id", "alternate_name", "interpretation_services",
    "application_process", "fees_description", "wait_time", "accreditations", "licenses",
    "eligibility_description", "minimum_age", "maximum_age", "assured_date", "assurer_email",
    "cost_options", "service_areas", "required_documents", "funding", "last_modified",
}  # fmt: skip
_ACCESS_WORDS = {
    "wheelchair": "wheelchair",
    "induction loop": "hearing-loop",
    "hearing loop": "hearing-loop",
    "sign language": "asl",
    "asl": "asl",
    "fragrance": "fragrance-free",
}
_STATUS = {"inactive": "inactive", "defunct": "archived"}
# A temporarily closed service stays listed, labelled closed (until its schedules' valid_from).
_TEMPORARILY_CLOSED = "temporarily closed"
# Attribute terms coded "facet:value", as our HSDS export writes them.
_FACETS = tuple(spec.name for spec in FACETS if spec.hsds_attribute)
_COSTS = ("free", "donation", "fee")
_ZONE = re.compile(r"time zone ([A-Za-z_]+/[A-Za-z_/+-]+)")
_CLOCK = re.compile(r"^\d{1,2}:\d{2}")


def looks_like_services(sample: list[dict[str, Any]]) -> bool:
    return any(len(_HSDS_ONLY & item.keys()) >= 2 for item in sample)


def sniff(path: Path, document: Any) -> list[Any]:
    """The services in an HSDS document (a list, a Page with `contents`, or one service)."""
    if isinstance(document, dict) and isinstance(document.get("contents"), list):
        items: list[Any] = document["contents"]
    elif isinstance(document, list):
        items = document
    elif isinstance(document, dict) and "name" in document and _HSDS_ONLY & document.keys():
        items = [document]
    else:
        raise FormatError(
            f"{path.name}: expected HSDS 3.0 JSON (an array of services or a page with "
            f'"contents"); found a {type(document).__name__}'
        )
    sample = [item for item in items[:50] if isinstance(item, dict)]
    if sample and not looks_like_services(sample):
        hint = "; use --format meeting-guide" if looks_like_meeting_feed(sample) else ""
        if any("meetings" in item for item in sample):
            hint = "; use --format json"
        raise FormatError(
            f"{path.name}: not HSDS services (no item has HSDS service fields such as "
            f"service_at_locations, schedules or organization){hint}"
        )
    return items


def read_services(items: list[Any]) -> Iterator[RawRecord]:
    for row, service in enumerate(items, start=1):
        if isinstance(service, Unreadable):
            yield RawRecord(row, None, service.reason, "record")
            continue
        if not isinstance(service, Mapping):
            yield RawRecord(row, None, "is not an object with fields", "record")
            continue
        if message := undecodable(dict(service)):
            yield RawRecord(row, None, message, "record")
            continue
        places = [sal for sal in _list(service, "service_at_locations") if not _virtual(sal)]
        online = next(
            (sal for sal in _list(service, "service_at_locations") if _virtual(sal)), None
        )
        targets: list[Mapping[str, Any] | None] = [*places] or [None]
        for index, place in enumerate(targets):
            record, warnings = service_record(service, place, online, several=len(places) > 1)
            yield RawRecord(row, record, warnings=tuple(warnings), rows=int(index == 0))


def _virtual(place: Mapping[str, Any]) -> bool:
    location = place.get("location")
    return isinstance(location, Mapping) and location.get("location_type") == "virtual"


def service_record(
    service: Mapping[str, Any],
    place: Mapping[str, Any] | None,
    online: Mapping[str, Any] | None = None,
    *,
    several: bool = False,
) -> tuple[dict[str, Any], list[str]]:
    """One service at one physical place (or none); a virtual place gives the online details."""
    warnings: list[str] = []
    location = place.get("location") if place else None
    location = location if isinstance(location, Mapping) else None
    organization = service.get("organization")
    phones = _list(place, "phones") + _list(service, "phones") + _list(location, "phones")
    contacts = _list(place, "contacts") + _list(service, "contacts") + _list(location, "contacts")
    person = contacts[0] if contacts else {}
    concerns, facets = _attribute_terms(service)
    schedules = (
        _list(place, "schedules") or _list(online, "schedules") or _list(service, "schedules")
    )
    record: dict[str, Any] = {
        "name": service.get("name"),
        "description": _description(service, place, with_eligibility="audience" not in facets),
        "organization": organization.get("name") if isinstance(organization, Mapping) else "",
        "concerns": concerns,
        "languages": _languages(service, warnings),
        "contact": {
            "phone": _phone(phones[0]) if phones else "",
            "email": service.get("email"),
            "website": service.get("url"),
        },
        "private_contact": {
            "name": person.get("name"),
            "email": person.get("email"),
            "phone": _phone(_list(person, "phones")[0]) if _list(person, "phones") else "",
        },
        "location": _location(location) if location is not None else None,
        "online": _online(online),
        "meetings": _schedules(schedules, warnings),
        "service_area": _service_area(service),
        "status": _STATUS.get(str(service.get("status") or "").lower()),
        "closure": _closure(service, schedules),
    }
    tags = [*facets.get("accessibility", []), *_accessibility(location)]
    record["accessibility"] = list(dict.fromkeys(tags))
    record["audience"] = facets.get("audience", [])
    for facet in ("format", "attendance"):
        if facets.get(facet):
            record[facet] = facets[facet][0]
    if not facets.get("attendance"):
        record["attendance"] = _attending_type(schedules)
    record.update(_cost(service, facets.get("cost")))
    _phone_service_without_place(record, warnings)
    service_id = str(service.get("id") or "")
    location_id = str((location or {}).get("id") or (place or {}).get("id") or "")
    if service_id:
        record["external_id"] = (
            f"{service_id}@{location_id}" if several and location_id else service_id
        )
    return record, warnings


def _list(value: Any, key: str) -> list[Mapping[str, Any]]:
    items = value.get(key) if isinstance(value, Mapping) else None
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def _phone(phone: Mapping[str, Any]) -> str:
    number = str(phone.get("number") or "").strip().strip("\"'")
    extension = phone.get("extension")
    return f"{number} x{extension}" if number and extension else number


def _description(
    service: Mapping[str, Any], place: Mapping[str, Any] | None, *, with_eligibility: bool
) -> str:
    parts = [str(service.get("description") or "").strip()]
    if place and place.get("description") and place["description"] != service.get("description"):
        parts.append(str(place["description"]).strip())
    if with_eligibility and service.get("eligibility_description"):
        parts.append(f"Who can come: {str(service['eligibility_description']).strip()}")
    return "\n\n".join(part for part in parts if part)


def _attribute_terms(service: Mapping[str, Any]) -> tuple[list[str], dict[str, list[str]]]:
    """Concern names, and facet values from terms coded `facet:value` (as our API writes)."""
    concerns: list[str] = []
    facets: dict[str, list[str]] = {}
    for attribute in _list(service, "attributes"):
        term = attribute.get("taxonomy_term")
        if not isinstance(term, Mapping):
            continue
        facet, _, value = str(term.get("code") or "").partition(":")
        if facet in _FACETS:
            if value and value not in facets.setdefault(facet, []):
                facets[facet].append(value)
            continue
        name = str(term.get("name") or term.get("code") or "").strip()
        if name and name not in concerns:
            concerns.append(name)
    return concerns, facets


def _phone_service_without_place(record: dict[str, Any], warnings: list[str]) -> None:
    """A service with nowhere to go and no join details, but a phone: a phone service.

    Agency directories (211, legal aid) list many services reached only by calling; without
    this they would have no place and no way to join, which the validation refuses.
    """
    location = record["location"] or {}
    placed = any(location.get(key) for key in ("address", "city", "postal_code", "lat"))
    phone = record["contact"]["phone"]
    if placed or record["online"] or not phone:
        return
    record["location"] = None
    record["online"] = {"phone": phone, "notes": "Call to reach this service."}
    if record.get("attendance") in (None, "", "in-person"):
        record["attendance"] = "phone"
    warnings.append("location: no address to go to; listed as a service reached by phone")


def _online(place: Mapping[str, Any] | None) -> dict[str, Any] | None:
    location = place.get("location") if place else None
    if not isinstance(location, Mapping) or not location.get("url"):
        return None
    notes = str((place or {}).get("description") or "")
    return {"url": location["url"], "notes": "" if notes == "Meets online" else notes}


def _attending_type(schedules: list[Mapping[str, Any]]) -> str:
    """Our API writes the attendance into `attending_type`; free text elsewhere is ignored."""
    for schedule in schedules:
        kind = str(schedule.get("attending_type") or "").strip().lower()
        if kind in ("in-person", "online", "phone", "hybrid"):
            return kind
    return ""


def _service_area(service: Mapping[str, Any]) -> list[str]:
    """Service areas named after a state or province (the rest cannot be mapped to one)."""
    codes = []
    for area in _list(service, "service_areas"):
        code = region_code(str(area.get("name") or ""))
        if code and code not in codes:
            codes.append(code)
    return codes


def _languages(service: Mapping[str, Any], warnings: list[str]) -> list[str]:
    codes: list[str] = []
    for language in _list(service, "languages"):
        code = str(language.get("code") or "").strip().lower()[:2]
        name = str(language.get("name") or "").strip().lower()
        found = code if code in ISO_639_1 else LANGUAGE_NAMES.get(name)
        if found is None:
            warnings.append(f"languages: {language.get('name') or code!r} is not known; left out")
        elif found not in codes:
            codes.append(found)
    return codes


def _location(location: Mapping[str, Any]) -> dict[str, Any]:
    addresses = _list(location, "addresses")
    physical = [a for a in addresses if a.get("address_type") == "physical"]
    address = (physical or addresses or [{}])[0]
    street = ", ".join(
        str(address.get(key)).strip() for key in ("address_1", "address_2") if address.get(key)
    )
    return {
        "name": location.get("name") or "",
        "address": street,
        "city": address.get("city") or "",
        "region": address.get("state_province") or "",
        "postal_code": address.get("postal_code") or "",
        "country": address.get("country") or "",
        "lat": location.get("latitude"),
        "lon": location.get("longitude"),
        "notes": _clip(str(location.get("description") or location.get("transportation") or "")),
    }


def _clip(text: str, limit: int = 1000) -> str:
    """Location notes are a line or two; a long location description is cut, not refused."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _schedules(schedules: list[Mapping[str, Any]], warnings: list[str]) -> list[dict[str, Any]]:
    """RRULE-style schedules → meeting rules; what a rule cannot say becomes a warning.

    HSDS gives a UTC offset, not a zone; a zone named in the description ("time zone
    America/Chicago", as our API writes) is used, else the place's zone applies.
    """
    rules: list[dict[str, Any]] = []
    for schedule in schedules:
        freq = str(schedule.get("freq") or "").strip().lower()
        byday = [day for day in re.split(r"[,\s]+", str(schedule.get("byday") or "")) if day]
        rule: dict[str, Any] = {
            "freq": freq,
            "byday": byday,
            "start": _clock(schedule.get("opens_at")),
            "end": _clock(schedule.get("closes_at")),
        }
        zone = _ZONE.search(str(schedule.get("description") or ""))
        if zone:
            rule["timezone"] = zone[1]
        if schedule.get("notes") and len(str(schedule["notes"])) <= 300:
            rule["note"] = schedule["notes"]
        if freq not in ("weekly", "monthly") or not byday:
            if freq:
                warnings.append("schedules: a rule without weekly days was kept as by arrangement")
            rule.update(freq="arrangement", byday=[])
        elif freq == "monthly" and not any(day[:1] in "-12345" for day in byday):
            warnings.append("schedules: a monthly rule without an ordinal day was read as weekly")
            rule["freq"] = "weekly"
        elif freq == "weekly":
            rule.update(_every_few_weeks(schedule, warnings))
        if rule not in rules:
            rules.append(rule)
    return rules


def _every_few_weeks(schedule: Mapping[str, Any], warnings: list[str]) -> dict[str, Any]:
    """`interval` 2 with the `dtstart` it counts from → every other week from that day."""
    interval = str(schedule.get("interval") or "1").strip()
    if interval in ("", "1", "1.0"):
        return {}
    start = str(schedule.get("dtstart") or "").strip()[:10]
    if not start:
        warnings.append(
            f"schedules: every {interval} weeks without a dtstart to count from was read as weekly"
        )
        return {}
    return {"interval": interval.removesuffix(".0"), "anchor": start}


def _closure(
    service: Mapping[str, Any], schedules: list[Mapping[str, Any]]
) -> dict[str, Any] | None:
    """A "temporarily closed" service: closed until its schedules are valid again, if said."""
    if str(service.get("status") or "").strip().lower() != _TEMPORARILY_CLOSED:
        return None
    starts = sorted(str(s.get("valid_from") or "")[:10] for s in schedules if s.get("valid_from"))
    return {"until": starts[-1] if starts else None, "reason": ""}


def _clock(value: Any) -> str:
    """ "18:30:00-05:00" → "18:30": the local time without its UTC offset."""
    match = _CLOCK.match(str(value or "").strip())
    return match[0] if match else str(value or "")


def _accessibility(location: Mapping[str, Any] | None) -> list[str]:
    labels = {label.lower(): tag for tag, label in ACCESSIBILITY.items()}
    tags: set[str] = set()
    for item in _list(location, "accessibility"):
        text = f"{item.get('description') or ''} {item.get('details') or ''}".strip().lower()
        tags.update([labels[text]] if text in labels else [])
        tags.update(tag for word, tag in _ACCESS_WORDS.items() if word in text)
    return sorted(tags)


def _cost(service: Mapping[str, Any], given: list[str] | None) -> dict[str, Any]:
    """Cost from a `cost:` term, an option named Free/Donation/Fee, an amount, or the fees text."""
    options = _list(service, "cost_options")
    fees = str(service.get("fees_description") or "").strip()
    named = [str(option.get("option") or "").strip().lower() for option in options]
    paid = any(_is_number(option.get("amount")) and option["amount"] > 0 for option in options)
    if given:
        cost = given[0]
    elif any(name in _COSTS for name in named):
        cost = next(name for name in named if name in _COSTS)
    elif paid:
        cost = "fee"
    elif fees:
        cost = _cost_from_text(fees)
    else:
        return {}
    described = [str(option.get("amount_description") or "") for option in options]
    note = next((text for text in described if text), "")
    if not note and fees.lower() not in _COSTS:
        note = fees
    if len(note) > 300:
        note = note[:297].rstrip() + "…"
    return {"cost": cost, "cost_note": note}


def _cost_from_text(text: str) -> str:
    """A price anywhere means a fee ("Free for members; $5 otherwise"); then free, donation."""
    lowered = text.lower()
    if re.search(r"[$€£]\s?\d", lowered):
        return "fee"
    if lowered.startswith(("free", "no cost", "no charge")):
        return "free"
    return "donation" if "donation" in lowered else "fee"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
