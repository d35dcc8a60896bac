"""A group as public JSON (the shape in docs/architecture.md), shared by the API, feeds and exports.

Only public fields are read here; private contact details never pass through this module.
A place, a schedule rule and the contact details have the shapes of `clearinghouse.groups`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from clearinghouse.groups import (
    cancellation_values,
    closure_values,
    contact_values,
    location_values,
    online_values,
    rule_of,
    schedule_values,
)
from clearinghouse.models import Group, Meeting
from clearinghouse.schedule import describe
from clearinghouse.search.base import KM_PER_MI


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def meeting_json(meeting: Meeting) -> dict[str, Any]:
    """A schedule rule as public JSON: the shared schedule values, the rule in words and the
    days it does not meet."""
    return {
        **schedule_values(meeting),
        "text": describe(rule_of(meeting)),
        "cancellations": cancellation_values(meeting.cancellations),
    }


def group_json(group: Group, *, url: str) -> dict[str, Any]:
    """The public JSON of one group; `url` is its public page (search results add a distance
    with `placed`)."""
    return placed(group_body(group), url=url)


def placed(body: dict[str, Any], *, url: str, distance_mi: float | None = None) -> dict[str, Any]:
    """A copy of `group_body`'s answer with this request's page URL and distance in it."""
    data = dict(body)
    data["url"] = url
    if distance_mi is not None:
        data["distance"] = {
            "mi": round(distance_mi, 2),
            "km": round(distance_mi * KM_PER_MI, 2),
        }
    return data


def group_body(group: Group) -> dict[str, Any]:
    """Everything of `group_json` that depends on the group alone (`url` left empty)."""
    has_online = bool(group.online_url or group.online_phone or group.online_notes)
    return {
        "id": group.uuid,
        "slug": group.slug,
        "name": group.name,
        "description": group.description,
        "url": None,
        "organization": (
            {"name": group.organization.name, "url": group.organization.url}
            if group.organization
            else None
        ),
        "concerns": [{"slug": c.slug, "label": c.label} for c in group.concerns],
        "format": group.format,
        "attendance": group.attendance,
        "open": group.open,
        "time_limited": group.time_limited,
        "cost": group.cost,
        "cost_note": group.cost_note,
        "languages": list(group.languages or []),
        "audience": list(group.audience or []),
        "accessibility": list(group.accessibility or []),
        "location": location_values(group.location),
        "online": online_values(group) if has_online else None,
        "service_area": list(group.service_area or []),
        "meetings": [meeting_json(m) for m in group.meetings],
        "closure": closure_values(group),
        "cancellations": cancellation_values(group.cancellations),
        "contact": contact_values(group),
        "verified_at": _iso(group.verified_at),
        "updated_at": _iso(group.updated_at),
    }
