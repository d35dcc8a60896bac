"""Groups, organisations and concerns as Open Referral HSDS 3.0 objects.

A group is a *service*; where it meets is a *location* reached through a
*service_at_location* (an online group gets a virtual location); its meeting rules are
*schedules* (`freq` WEEKLY/MONTHLY, iCalendar `byday`, `opens_at`/`closes_at`); concerns are
terms of one taxonomy, and format, attendance, cost, audience and accessibility are terms of a
second one, linked as *attributes*.  HSDS wants UUIDs for every object, so objects we do not
store (terms, schedules, addresses…) get stable name-based UUIDs (uuid5).  Only public fields
are read.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from clearinghouse import geo, schedule, vocab
from clearinghouse.groups import cancellations_of, rule_of
from clearinghouse.models import Group, Meeting, Organization
from clearinghouse.search.facets import FACETS
from clearinghouse.taxonomy import ConcernTerm, Taxonomy

NAMESPACE = uuid.UUID("6f1b2c1e-2f55-4c55-9d0f-3c8f0b7f4a10")
CONCERN_TAXONOMY = "concerns"
ATTRIBUTE_TAXONOMY = "group-attributes"
TAXONOMIES = {
    CONCERN_TAXONOMY: (
        "Self-help group concerns",
        "What a group's members share: an illness, an addiction, a loss, caregiving, a life "
        "transition. Two levels; a parent term includes its children.",
    ),
    ATTRIBUTE_TAXONOMY: (
        "Self-help group attributes",
        "How a group works: format (peer-led or professional-expert), attendance, cost, "
        "audience and accessibility.",
    ),
}
# Facet name -> (label, value labels) for the facets HSDS carries as attribute terms.
ATTRIBUTE_FACETS: dict[str, tuple[str, Mapping[str, str]]] = {
    spec.name: (spec.label, spec.labels) for spec in FACETS if spec.hsds_attribute
}


def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(parts)))


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """HSDS fields are typed strings/numbers: leave out what we don't know rather than null."""
    return {key: value for key, value in data.items() if value is not None}


# --- taxonomies and terms -----------------------------------------------------------------


def taxonomy_id(name: str) -> str:
    return stable_id("taxonomy", name)


def taxonomy_json(name: str) -> dict[str, Any]:
    title, description = TAXONOMIES[name]
    return {"id": taxonomy_id(name), "name": title, "description": description, "version": "1"}


def concern_term_id(slug: str) -> str:
    return stable_id("term", CONCERN_TAXONOMY, slug)


def attribute_term_id(facet: str, value: str | None = None) -> str:
    return stable_id("term", ATTRIBUTE_TAXONOMY, facet, *([value] if value else []))


def concern_term_json(term: ConcernTerm) -> dict[str, Any]:
    return _clean(
        {
            "id": concern_term_id(term.slug),
            "code": term.slug,
            "name": term.label,
            "description": term.description,
            "parent_id": concern_term_id(term.parent) if term.parent else None,
            "taxonomy": TAXONOMIES[CONCERN_TAXONOMY][0],
            "taxonomy_id": taxonomy_id(CONCERN_TAXONOMY),
            "language": "en",
        }
    )


def attribute_term_json(facet: str, value: str | None = None) -> dict[str, Any]:
    facet_label, labels = ATTRIBUTE_FACETS[facet]
    return _clean(
        {
            "id": attribute_term_id(facet, value),
            "code": f"{facet}:{value}" if value else facet,
            "name": labels.get(value, value) if value else facet_label,
            "description": (
                f"{facet_label}: {labels.get(value, value)}"
                if value
                else f"{facet_label} of a group"
            ),
            "parent_id": attribute_term_id(facet) if value else None,
            "taxonomy": TAXONOMIES[ATTRIBUTE_TAXONOMY][0],
            "taxonomy_id": taxonomy_id(ATTRIBUTE_TAXONOMY),
            "language": "en",
        }
    )


def all_terms(taxonomy: Taxonomy) -> list[dict[str, Any]]:
    """Every term of both taxonomies, parents before their children."""
    terms = []
    for parent in taxonomy.parents():
        terms.append(concern_term_json(parent))
        terms += [concern_term_json(child) for child in taxonomy.children(parent.slug)]
    for facet, (_label, values) in ATTRIBUTE_FACETS.items():
        terms.append(attribute_term_json(facet))
        terms += [attribute_term_json(facet, value) for value in values]
    return terms


# --- organisations ----------------------------------------------------------------------


def organization_json(organization: Organization) -> dict[str, Any]:
    return _clean(
        {
            "id": organization.uuid,
            "name": organization.name,
            "description": organization.description or "",
            "website": organization.url or None,
        }
    )


# --- services ---------------------------------------------------------------------------


def service_list_json(group: Group, url: str) -> dict[str, Any]:
    """The one-to-one fields of a service (HSDS `service_list`)."""
    organization = group.organization
    return _clean(
        {
            "id": group.uuid,
            "organization_id": organization.uuid if organization else None,
            "name": group.name,
            "description": group.description,
            "url": group.website or url,
            "email": group.contact_email or None,
            "status": service_status(group),
            "fees_description": _fees(group),
            "eligibility_description": _eligibility(group),
            "application_process": (
                "Come to any meeting; newcomers are welcome."
                if group.open
                else "Closed group: contact the group before attending."
            ),
            "last_modified": iso(group.updated_at),
            "assured_date": group.verified_at.date().isoformat() if group.verified_at else None,
            "organization": organization_json(organization) if organization else None,
        }
    )


def service_status(group: Group) -> str:
    """HSDS service status: "temporarily closed" while a closure lasts, else "active"."""
    closed = schedule.closed_on(group, datetime.now(ZoneInfo("UTC")).date())
    return "temporarily closed" if closed else "active"


def service_minimal_json(group: Group) -> dict[str, Any]:
    """Just enough to tell what changed (HSDS `minimal`): id, name, status, last_modified."""
    return _clean(
        {
            "id": group.uuid,
            "name": group.name,
            "status": service_status(group),
            "last_modified": iso(group.updated_at),
        }
    )


def service_json(group: Group, url: str, taxonomy: Taxonomy) -> dict[str, Any]:
    """A fully nested service (HSDS compiled `service`)."""
    data = service_list_json(group, url)
    data.update(
        {
            "phones": _phones(group),
            "schedules": [
                _schedule(group, index, meeting) for index, meeting in enumerate(group.meetings)
            ],
            "service_areas": [
                _clean(
                    {
                        "id": stable_id("service_area", group.uuid, code),
                        "service_id": group.uuid,
                        "name": geo.region_name(code) or code,
                        "description": f"Serves {geo.region_name(code) or code}",
                    }
                )
                for code in group.service_area or []
            ],
            "service_at_locations": _service_at_locations(group),
            "languages": [
                {
                    "id": stable_id("language", group.uuid, code),
                    "service_id": group.uuid,
                    "name": vocab.label(vocab.LANGUAGES, code),
                    "code": code,
                }
                for code in group.languages or []
            ],
            "cost_options": [
                _clean(
                    {
                        "id": stable_id("cost_option", group.uuid),
                        "service_id": group.uuid,
                        "option": vocab.label(vocab.COSTS, group.cost),
                        "amount_description": group.cost_note or None,
                    }
                )
            ],
            "attributes": _attributes(group, taxonomy),
        }
    )
    return data


def _fees(group: Group) -> str:
    text = vocab.label(vocab.COSTS, group.cost)
    return f"{text}: {group.cost_note}" if group.cost_note else text


def _eligibility(group: Group) -> str | None:
    if not group.audience:
        return None
    return "For " + ", ".join(vocab.label(vocab.AUDIENCES, tag) for tag in group.audience)


def _phones(group: Group) -> list[dict[str, Any]]:
    phones = []
    if group.contact_phone:
        phones.append(
            {
                "id": stable_id("phone", group.uuid, "contact"),
                "service_id": group.uuid,
                "number": group.contact_phone,
                "type": "voice",
                "description": "Contact the group",
            }
        )
    if group.online_phone:
        phones.append(
            {
                "id": stable_id("phone", group.uuid, "join"),
                "service_id": group.uuid,
                "number": group.online_phone,
                "type": "voice",
                "description": "Join meetings by phone",
            }
        )
    return phones


def utc_offset_hours(zone: str | None, at: datetime | None = None) -> float | None:
    """HSDS schedules carry a UTC offset number, not a zone name: the offset in force now."""
    if not zone or not schedule.valid_timezone(zone):
        return None
    moment = (at or datetime.now(ZoneInfo("UTC"))).astimezone(ZoneInfo(zone))
    offset = moment.utcoffset()
    return offset.total_seconds() / 3600 if offset is not None else None


def _clock(value: Any, offset: float | None) -> str | None:
    if value is None:
        return None
    text = value.strftime("%H:%M")
    if offset is None:
        return text
    sign = "-" if offset < 0 else "+"
    minutes = round(abs(offset) * 60)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _schedule(group: Group, index: int, meeting: Meeting) -> dict[str, Any]:
    zone = meeting.timezone or (group.location.timezone if group.location else None)
    offset = utc_offset_hours(zone)
    rule = replace(rule_of(meeting), timezone=zone)
    description = schedule.describe(rule)
    if zone:
        description += f" (time zone {zone})"
    data: dict[str, Any] = {
        "id": stable_id("schedule", group.uuid, str(index)),
        "service_id": group.uuid,
        "description": description,
        "attending_type": group.attendance,
        "notes": _schedule_notes(group, meeting) or None,
    }
    if meeting.freq in ("weekly", "monthly") and meeting.byday:
        data.update(
            {
                "freq": meeting.freq.upper(),
                "interval": rule.interval,
                # iCalendar needs the first date when counting every other week.
                "dtstart": rule.anchor.isoformat() if rule.interval > 1 and rule.anchor else None,
                "byday": ",".join(meeting.byday),
                "wkst": "MO",
                "opens_at": _clock(meeting.start, offset),
                "closes_at": _clock(meeting.end, offset),
                "timezone": offset,
            }
        )
    if rule.closure is not None and rule.closure.until is not None:
        data["valid_from"] = rule.closure.until.isoformat()  # meetings start again that day
    return _clean(data)


def _schedule_notes(group: Group, meeting: Meeting) -> str:
    """The rule's note, a closure and the days with no meeting, in words (HSDS has no
    field for exceptions)."""
    closure = schedule.closure_of(group)
    lines = [schedule.closure_text(closure) + "."] if closure is not None else []
    if meeting.note:
        lines.append(meeting.note)
    days = cancellations_of(meeting.cancellations) + cancellations_of(group.cancellations)
    lines += [schedule.cancellation_text(day) + "." for day in sorted(days, key=lambda c: c.day)]
    return " ".join(lines)


def _service_at_locations(group: Group) -> list[dict[str, Any]]:
    places = []
    location = group.location
    if location is not None:
        location_id = stable_id("location", group.uuid)
        places.append(
            {
                "id": stable_id("service_at_location", group.uuid),
                "service_id": group.uuid,
                "location_id": location_id,
                "location": _clean(
                    {
                        "id": location_id,
                        "location_type": "physical",
                        "name": location.name or None,
                        "description": location.notes or None,
                        "latitude": location.lat,
                        "longitude": location.lon,
                        "addresses": [
                            {
                                "id": stable_id("address", group.uuid),
                                "location_id": location_id,
                                "address_1": location.address,
                                "city": location.city,
                                "state_province": location.region,
                                "postal_code": location.postal_code,
                                "country": location.country,
                                "address_type": "physical",
                            }
                        ],
                        "accessibility": [
                            {
                                "id": stable_id("accessibility", group.uuid, tag),
                                "location_id": location_id,
                                "description": vocab.label(vocab.ACCESSIBILITY, tag),
                            }
                            for tag in group.accessibility or []
                        ],
                    }
                ),
            }
        )
    if group.online_url:
        virtual_id = stable_id("location", group.uuid, "online")
        places.append(
            {
                "id": stable_id("service_at_location", group.uuid, "online"),
                "service_id": group.uuid,
                "location_id": virtual_id,
                "description": group.online_notes or "Meets online",
                "location": {
                    "id": virtual_id,
                    "location_type": "virtual",
                    "url": group.online_url,
                    "name": "Online",
                },
            }
        )
    return places


def _attributes(group: Group, taxonomy: Taxonomy) -> list[dict[str, Any]]:
    attributes = []
    for concern in group.concerns:
        term = taxonomy.get(concern.slug)
        term_json = (
            concern_term_json(term)
            if term is not None
            else {
                "id": concern_term_id(concern.slug),
                "code": concern.slug,
                "name": concern.label,
                "description": concern.description or "",
            }
        )
        attributes.append(_attribute(group, term_json, concern.label))
    for facet in ATTRIBUTE_FACETS:
        raw = getattr(group, facet)
        values = raw if isinstance(raw, list) else [raw]
        for value in values:
            if value in ATTRIBUTE_FACETS[facet][1]:
                term_json = attribute_term_json(facet, value)
                attributes.append(_attribute(group, term_json, term_json["name"]))
    return attributes


def _attribute(group: Group, term: dict[str, Any], value: str) -> dict[str, Any]:
    return {
        "id": stable_id("attribute", group.uuid, term["id"]),
        "link_id": group.uuid,
        "link_type": "service",
        "link_entity": "service",
        "taxonomy_term_id": term["id"],
        "taxonomy_term": term,
        "value": value,
    }
