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

from indexer.readers import FormatError, RawRecord, undecodable

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
_STATUS = {"inactive": "inactive", "defunct": "archived", "temporarily closed": "inactive"}


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
        from indexer.meeting_guide import looks_like_feed

        hint = "; use --format meeting-guide" if looks_like_feed(sample) else ""
        if any("meetings" in item for item in sample):
            hint = "; use --format json"
        raise FormatError(
            f"{path.name}: not HSDS services (no item has HSDS service fields such as "
            f"service_at_locations, schedules or organization){hint}"
        )
    return items


def read_services(items: list[Any]) -> Iterator[RawRecord]:
    for row, service in enumerate(items, start=1):
        if not isinstance(service, Mapping):
            yield RawRecord(row, None, "is not an object with fields", "record")
            continue
        if message := undecodable(dict(service)):
            yield RawRecord(row, None, message, "record")
            continue
        places = [
            sal for sal in service.get("service_at_locations") or [] if isinstance(sal, Mapping)
        ]
        targets: list[Mapping[str, Any] | None] = [*places] or [None]
        for place in targets:
            record, warnings = service_record(service, place, several=len(places) > 1)
            yield RawRecord(row, record, warnings=tuple(warnings))


def service_record(
    service: Mapping[str, Any], place: Mapping[str, Any] | None, *, several: bool
) -> tuple[dict[str, Any], list[str]]:
    warnings: list[str] = []
    location = (place or {}).get("location") if place else None
    location = location if isinstance(location, Mapping) else None
    organization = service.get("organization")
    virtual = bool(location and location.get("location_type") == "virtual")
    phones = _list(place, "phones") + _list(service, "phones") + _list(location, "phones")
    contacts = _list(place, "contacts") + _list(service, "contacts") + _list(location, "contacts")
    person = contacts[0] if contacts else {}
    record: dict[str, Any] = {
        "name": service.get("name"),
        "description": _description(service, place),
        "organization": organization.get("name") if isinstance(organization, Mapping) else "",
        "concerns": _terms(service),
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
        "location": None if virtual or location is None else _location(location, warnings),
        "online": {"url": location.get("url")} if virtual and location else None,
        "meetings": _schedules(_list(place, "schedules") or _list(service, "schedules"), warnings),
        "accessibility": _accessibility(location),
        "status": _STATUS.get(str(service.get("status") or "").lower()),
    }
    cost = _cost(service)
    record.update(cost)
    service_id = str(service.get("id") or "")
    location_id = str((location or {}).get("id") or (place or {}).get("id") or "")
    if service_id:
        record["external_id"] = (
            f"{service_id}@{location_id}" if several and location_id else service_id
        )
    return record, warnings


def _list(value: Any, key: str) -> list[Mapping[str, Any]]:
    items = value.get(key) if isinstance(value, Mapping) else None
    return [item for item in items or [] if isinstance(item, Mapping)]


def _phone(phone: Mapping[str, Any]) -> str:
    number = str(phone.get("number") or "").strip().strip("\"'")
    extension = phone.get("extension")
    return f"{number} x{extension}" if number and extension else number


def _description(service: Mapping[str, Any], place: Mapping[str, Any] | None) -> str:
    parts = [str(service.get("description") or "").strip()]
    if place and place.get("description") and place["description"] != service.get("description"):
        parts.append(str(place["description"]).strip())
    if service.get("eligibility_description"):
        parts.append(f"Who can come: {str(service['eligibility_description']).strip()}")
    return "\n\n".join(part for part in parts if part)


def _terms(service: Mapping[str, Any]) -> list[str]:
    """Taxonomy terms attached to the service: their names (codes when nameless)."""
    names: list[str] = []
    for attribute in _list(service, "attributes"):
        term = attribute.get("taxonomy_term")
        if isinstance(term, Mapping):
            name = str(term.get("name") or term.get("code") or "").strip()
            if name and name not in names:
                names.append(name)
    return names


def _languages(service: Mapping[str, Any], warnings: list[str]) -> list[str]:
    from clearinghouse.vocab import ISO_639_1, LANGUAGE_NAMES

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


def _location(location: Mapping[str, Any], warnings: list[str]) -> dict[str, Any]:
    addresses = _list(location, "addresses")
    physical = [a for a in addresses if a.get("address_type") == "physical"]
    address = (physical or addresses or [{}])[0]
    street = ", ".join(
        str(address.get(key) or "").strip()
        for key in ("address_1", "address_2")
        if address.get(key)
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
        "notes": location.get("transportation") or "",
    }


def _schedules(schedules: list[Mapping[str, Any]], warnings: list[str]) -> list[dict[str, Any]]:
    """RRULE-style schedules → meeting rules; what a rule cannot say becomes a warning."""
    rules: list[dict[str, Any]] = []
    for schedule in schedules:
        freq = str(schedule.get("freq") or "").strip().lower()
        byday = [
            day.strip()
            for day in re.split(r"[,\s]+", str(schedule.get("byday") or ""))
            if day.strip()
        ]
        start, end = schedule.get("opens_at") or "", schedule.get("closes_at") or ""
        zone = schedule.get("timezone") if isinstance(schedule.get("timezone"), str) else None
        if freq not in ("weekly", "monthly") or not byday:
            if schedule.get("description") or freq:
                warnings.append(
                    "schedules: a schedule without weekly days was kept as by arrangement"
                )
            rules.append({"freq": "arrangement", "byday": [], "start": start, "end": end})
            continue
        if freq == "monthly" and not any(day[:1] in "-12345" for day in byday):
            warnings.append("schedules: a monthly rule without an ordinal day was read as weekly")
            freq = "weekly"
        rule: dict[str, Any] = {"freq": freq, "byday": byday, "start": start, "end": end}
        if zone:
            rule["timezone"] = zone
        if rule not in rules:
            rules.append(rule)
    return rules


def _accessibility(location: Mapping[str, Any] | None) -> list[str]:
    text = " ".join(
        f"{item.get('description') or ''} {item.get('details') or ''}"
        for item in _list(location, "accessibility")
    ).lower()
    return sorted({tag for word, tag in _ACCESS_WORDS.items() if word in text})


def _cost(service: Mapping[str, Any]) -> dict[str, Any]:
    options = _list(service, "cost_options")
    fees = str(service.get("fees_description") or "").strip()
    paid = any(
        (option.get("amount") or 0) > 0 for option in options if _is_number(option.get("amount"))
    )
    if not paid and not fees:
        return {}
    note = fees or "; ".join(
        str(option.get("option") or "") for option in options if option.get("option")
    )
    if len(note) > 300:
        note = note[:297].rstrip() + "…"
    return {"cost": "fee" if paid or fees else "free", "cost_note": note}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
