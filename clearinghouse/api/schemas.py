"""JSON Schemas of the partner API's responses, used by its OpenAPI document (openapi.py)."""

from __future__ import annotations

from typing import Any

from clearinghouse.vocab import ATTENDANCE, COSTS, FORMATS

STRING_OR_NULL: dict[str, Any] = {"type": ["string", "null"]}


def _object(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """A closed object whose properties are all required except `optional` ones."""
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [{"type": "null"}, schema]}


CANCELLATIONS: dict[str, Any] = {
    "type": "array",
    "items": _object(
        {
            "date": {"type": "string", "format": "date", "description": "No meeting that day"},
            "reason": {"type": "string"},
        }
    ),
}

GROUP = _object(
    {
        "id": {"type": "string", "format": "uuid"},
        "slug": {"type": "string"},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "url": {"type": "string", "format": "uri", "description": "The group's public page"},
        "organization": _nullable(_object({"name": {"type": "string"}, "url": STRING_OR_NULL})),
        "concerns": {
            "type": "array",
            "items": _object({"slug": {"type": "string"}, "label": {"type": "string"}}),
        },
        "format": {"enum": list(FORMATS)},
        "attendance": {"enum": list(ATTENDANCE)},
        "open": {
            "type": "boolean",
            "description": "Open to newcomers (false: closed/registration)",
        },
        "time_limited": {"type": "boolean"},
        "cost": {"enum": list(COSTS)},
        "cost_note": {"type": "string"},
        "languages": {"type": "array", "items": {"type": "string"}, "description": "ISO 639-1"},
        "audience": {"type": "array", "items": {"type": "string"}},
        "accessibility": {"type": "array", "items": {"type": "string"}},
        "location": _nullable(
            _object(
                {
                    "name": {"type": "string"},
                    "address": {"type": "string"},
                    "city": {"type": "string"},
                    "region": {"type": "string"},
                    "postal_code": {"type": "string"},
                    "country": {"type": "string"},
                    "lat": {"type": ["number", "null"]},
                    "lon": {"type": ["number", "null"]},
                    "approximate": {
                        "type": "boolean",
                        "description": "A ZIP or city centre, not a street address",
                    },
                    "timezone": STRING_OR_NULL,
                    "notes": {"type": "string"},
                }
            )
        ),
        "online": _nullable(
            _object({"url": STRING_OR_NULL, "phone": STRING_OR_NULL, "notes": {"type": "string"}})
        ),
        "service_area": {"type": "array", "items": {"type": "string"}},
        "meetings": {
            "type": "array",
            "items": _object(
                {
                    "freq": {"enum": ["weekly", "monthly", "arrangement"]},
                    "byday": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": (
                            "iCalendar BYDAY: TU, 2TU (second Tuesday), -1FR (last Friday)"
                        ),
                    },
                    "start": STRING_OR_NULL,
                    "end": STRING_OR_NULL,
                    "timezone": STRING_OR_NULL,
                    "interval": {
                        "type": "integer",
                        "description": "Weekly rules: every this many weeks (2: every other week)",
                    },
                    "anchor": {
                        **STRING_OR_NULL,
                        "description": (
                            "A date it meets (YYYY-MM-DD): the weeks are counted from it when "
                            "interval is over 1; null otherwise"
                        ),
                    },
                    "text": {"type": "string"},
                    "cancellations": CANCELLATIONS,
                }
            ),
        },
        "closure": _nullable(
            {
                **_object(
                    {
                        "until": {
                            **STRING_OR_NULL,
                            "description": (
                                "The day meetings start again (YYYY-MM-DD); null: until "
                                "further notice"
                            ),
                        },
                        "reason": {"type": "string"},
                    }
                ),
                "description": (
                    "Temporarily closed: still listed, no meetings before `until`; null when "
                    "open. A closure whose `until` has passed is over"
                ),
            }
        ),
        "cancellations": {
            **CANCELLATIONS,
            "description": "Days the whole group does not meet",
        },
        "contact": _object(
            {"phone": STRING_OR_NULL, "email": STRING_OR_NULL, "website": STRING_OR_NULL}
        ),
        "verified_at": STRING_OR_NULL,
        "updated_at": STRING_OR_NULL,
        "distance": _object({"mi": {"type": "number"}, "km": {"type": "number"}}),
        "next_meeting": _nullable(
            {
                **_object(
                    {
                        "start": {"type": "string"},
                        "timezone": STRING_OR_NULL,
                        "viewer_start": STRING_OR_NULL,
                    }
                ),
                "description": (
                    "The next meeting (search results and a single group): `start` in the "
                    "group's zone, ISO 8601 with its offset (a date alone when the meeting has "
                    "no set time); `viewer_start` the same moment in the searcher's zone (the "
                    "place searched, else `tz`) for groups joined online or by phone"
                ),
            }
        ),
    },
    optional=("distance", "next_meeting"),
)

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "invalid_params": {
            "type": "array",
            "items": _object({"name": {"type": "string"}, "reason": {"type": "string"}}),
        },
    },
    "required": ["type", "title", "status", "detail"],
}

FACET_VALUE = _object(
    {"value": {"type": "string"}, "label": {"type": "string"}, "count": {"type": "integer"}}
)
UNDERSTOOD = _nullable(
    {
        **_object(
            {
                "q": {"type": "string", "description": "The words as typed"},
                "concerns": {
                    "type": "array",
                    "items": _object({"slug": {"type": "string"}, "label": {"type": "string"}}),
                    "description": "Concerns the words name, who is asking first",
                },
                "audiences": {
                    "type": "array",
                    "items": _object({"value": {"type": "string"}, "label": {"type": "string"}}),
                },
                "corrected": {
                    **STRING_OR_NULL,
                    "description": "The words searched instead of misspelt ones (exact=1: never)",
                },
                "relaxed": {
                    "type": "boolean",
                    "description": "No group held every word: groups for the concerns named",
                },
                "notice": {
                    **STRING_OR_NULL,
                    "description": "What to tell the person when the answer is not for q exactly",
                },
            }
        ),
        "description": "What the words were taken to mean; null when q has no words",
    }
)
SEARCH_RESPONSE = _object(
    {
        "data": {"type": "array", "items": {"$ref": "#/components/schemas/Group"}},
        "online": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/Group"},
            "description": "Online and phone groups matching the other filters (with near)",
        },
        "facets": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": FACET_VALUE},
        },
        "meta": _object(
            {
                "total": {"type": "integer"},
                "page": {"type": "integer"},
                "per_page": {"type": "integer"},
                "degraded": {
                    "type": "boolean",
                    "description": "True while the search engine is down and the database's "
                    "own search answers: results may be incomplete (no misspelling "
                    "correction, another order); also sent as the X-Search-Degraded: 1 header",
                },
                "near": _object(
                    {
                        "text": {"type": "string"},
                        "label": {"type": "string"},
                        "lat": {"type": "number"},
                        "lon": {"type": "number"},
                        "radius": {"type": "number"},
                        "unit": {"enum": ["mi", "km"]},
                    }
                ),
            },
            optional=("near",),
        ),
        "links": _object(
            {"self": {"type": "string"}, "next": STRING_OR_NULL, "prev": STRING_OR_NULL}
        ),
        "understood": UNDERSTOOD,
    }
)
TERM = {
    "slug": {"type": "string"},
    "label": {"type": "string"},
    "description": {"type": "string"},
    "synonyms": {"type": "array", "items": {"type": "string"}},
    "count": {"type": "integer", "description": "Public groups a search for it finds"},
}
CONCERNS_RESPONSE = _object(
    {
        "data": {
            "type": "array",
            "items": _object({**TERM, "children": {"type": "array", "items": _object(TERM)}}),
        }
    }
)
CHANGE = _object(
    {
        "seq": {"type": "integer"},
        "action": {"enum": ["upsert", "remove"]},
        "id": {"type": "string", "format": "uuid"},
        "group": {
            "oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Group"}],
            "description": "The group as it is now (upsert); null for remove",
        },
    }
)
CHANGES_RESPONSE = _object(
    {
        "changes": {"type": "array", "items": CHANGE},
        "next": {"type": "string", "description": "Pass as since= to continue"},
        "has_more": {"type": "boolean"},
    }
)
_STAMP = {"type": ["string", "null"], "format": "date-time"}
WEBHOOK = _object(
    {
        "id": {"type": "string", "format": "uuid"},
        "url": {"type": "string"},
        "concerns": {"type": "array", "items": {"type": "string"}},
        "regions": {"type": "array", "items": {"type": "string"}},
        "state": {"enum": ["active", "paused"]},
        "cursor": {"type": "string", "description": "Every change up to this seq is handled"},
        "failing_since": _STAMP,
        "last_error": {"type": "string"},
        "paused_at": _STAMP,
        "created_at": _STAMP,
    }
)
WEBHOOK_CREATED = _object(
    {
        **WEBHOOK["properties"],
        "secret": {
            "type": "string",
            "description": "Signs every delivery (HMAC-SHA256); shown only in this answer",
        },
    }
)
WEBHOOKS_RESPONSE = _object({"data": {"type": "array", "items": WEBHOOK}})
WEBHOOK_REQUEST = _object(
    {
        "url": {
            "type": "string",
            "maxLength": 2000,
            "description": "The https:// address each change is POSTed to",
        },
        "concerns": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Concern slugs (children included); leave out for all",
        },
        "regions": {
            "type": "array",
            "items": {"type": "string"},
            "description": "US state / Canadian province codes; leave out for all",
        },
        "since": {
            "type": "string",
            "pattern": "^[0-9]{1,18}$",
            "description": "Start after this cursor (an export's X-Changes-Cursor); default now",
        },
    },
    optional=("concerns", "regions", "since"),
)
MEETING_GUIDE_ENTRY = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "slug": {"type": "string"},
        "day": {"type": "integer", "minimum": 0, "maximum": 6, "description": "Sunday = 0"},
        "time": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
        "end_time": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
        "timezone": {"type": "string"},
        "types": {"type": "array", "items": {"type": "string"}},
        "location": {"type": "string"},
        "address": {"type": "string"},
        "city": {"type": "string"},
        "state": {"type": "string"},
        "postal_code": {"type": "string"},
        "country": {"type": "string"},
        "latitude": {"type": "number"},
        "longitude": {"type": "number"},
        "approximate": {"enum": ["yes", "no"]},
        "conference_url": {"type": "string"},
        "conference_url_notes": {"type": "string"},
        "conference_phone": {"type": "string"},
        "notes": {"type": "string"},
        "group": {"type": "string"},
        "updated": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$"},
        "url": {"type": "string"},
    },
    "required": ["name", "slug", "day", "time", "types", "updated", "url"],
    "additionalProperties": False,
}
