"""The OpenAPI 3.1 document of the partner API, served at /api/v1/openapi.json.

Tests check every documented route's live responses against these schemas and fuzz the API
from this document with schemathesis, so it has to say exactly what the code does.
"""

from __future__ import annotations

import math
from typing import Any

from clearinghouse.api.schemas import (
    CHANGES_RESPONSE,
    CONCERNS_RESPONSE,
    GROUP,
    MEETING_GUIDE_ENTRY,
    PROBLEM,
    SEARCH_RESPONSE,
    WEBHOOK_CREATED,
    WEBHOOK_REQUEST,
    WEBHOOKS_RESPONSE,
)
from clearinghouse.search.base import KM_PER_MI, MAX_PER_PAGE, MAX_RADIUS_MI, SORTS
from clearinghouse.search.facets import FACETS, FacetSpec
from clearinghouse.search.when import DESCRIBES_WHEN, STARTS_WITHIN

MAX_RADIUS_KM = math.floor(MAX_RADIUS_MI * KM_PER_MI)


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def _json(
    description: str, schema: dict[str, Any], headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = headers
    return response


COMMON_ERRORS = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "403": {"$ref": "#/components/responses/Forbidden"},
    "429": {"$ref": "#/components/responses/TooManyRequests"},
    "431": _problem("Request headers too large"),
}


def _operation(
    operation_id: str,
    summary: str,
    ok: dict[str, Any],
    parameters: list[dict[str, Any]] | None = None,
    *,
    bad_request: bool = True,
    not_found: bool = False,
    extra: dict[str, Any] | None = None,
    public: bool = False,
) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": ok, **({} if public else COMMON_ERRORS)}
    if public:
        responses["431"] = COMMON_ERRORS["431"]
    if bad_request:
        responses["400"] = _problem(
            "A parameter is unknown or not allowed; `invalid_params` names it"
        )
    if not_found:
        responses["404"] = _problem("No public group with this id")
    responses.update(extra or {})
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "parameters": parameters or [],
        "responses": responses,
    }
    if public:
        operation["security"] = []
    return operation


def _created(operation: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A POST: its success is 201, and it takes a request body."""
    operation["responses"]["201"] = operation["responses"].pop("200")
    operation["requestBody"] = body
    return operation


def _deleted(operation: dict[str, Any]) -> dict[str, Any]:
    """A DELETE: its success is 204 with no body."""
    operation["responses"]["204"] = operation["responses"].pop("200")
    return operation


def _or_empty(schema: dict[str, Any]) -> dict[str, Any]:
    """The search parser reads an empty value as "not given" (as the public form sends it)."""
    return {"anyOf": [schema, {"const": ""}]}


def _query(
    name: str, schema: dict[str, Any], description: str, *, repeat: bool = False
) -> dict[str, Any]:
    parameter: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
    }
    if repeat:
        parameter.update(schema={"type": "array", "items": schema}, style="form", explode=True)
    else:
        parameter["schema"] = schema
    return parameter


def _choices(values: list[str], note: str = "") -> dict[str, Any]:
    """A value from a list, described rather than enforced by `enum`: the parser also takes
    other spellings (any case, spaces for hyphens, comma-separated lists)."""
    return {
        "type": "string",
        "description": "One of: " + ", ".join(values) + (f" ({note})" if note else ""),
        "examples": values[:3],
    }


FACET_EXAMPLES = {"concern": ["grief-loss", "alcohol"], "language": ["es"]}


def facet_item(spec: FacetSpec) -> dict[str, Any]:
    """The schema of one facet value, from the registry (help text, or the allowed list)."""
    if spec.help:
        return {
            "type": "string",
            "description": spec.help[0].upper() + spec.help[1:],
            "examples": FACET_EXAMPLES.get(spec.name, list(spec.allowed[:1])),
        }
    return _choices(list(spec.allowed))


def search_parameters() -> list[dict[str, Any]]:
    facets = [
        _query(
            spec.name,
            facet_item(spec),
            f"Filter by {spec.label.lower()}: repeat it, or separate values with commas, for "
            "OR within the facet; different facets combine with AND",
            repeat=True,
        )
        for spec in FACETS
    ]
    return [
        _query("q", {"type": "string"}, "Free text; never an error (long text is cut short)"),
        _query("near", {"type": "string"}, "ZIP, 'City, ST', state or Canadian postal area"),
        _query(
            "lat",
            _or_empty({"type": "number", "minimum": -90, "maximum": 90}),
            "Latitude (with lon)",
        ),
        _query(
            "lon",
            _or_empty({"type": "number", "minimum": -180, "maximum": 180}),
            "Longitude (with lat)",
        ),
        _query(
            "radius",
            _or_empty({"type": "number", "exclusiveMinimum": 0, "maximum": MAX_RADIUS_KM}),
            f"Default 25; at most {MAX_RADIUS_MI:g} mi ({MAX_RADIUS_KM} km)",
        ),
        _query("unit", _choices(["mi", "km"]), "Unit of radius and distances; default mi"),
        *facets,
        _query(
            "starts_within",
            _choices(list(STARTS_WITHIN)),
            "When: " + DESCRIBES_WHEN + "; a meeting with no end time is taken to last an hour"
            " (weekday names such as Tuesday are accepted too)",
        ),
        _query(
            "tz",
            {"type": "string", "examples": ["America/New_York"]},
            "The searcher's IANA time zone, for starts_within and next_meeting.viewer_start when"
            " no place is given (a place's own zone wins); an unknown zone is ignored",
        ),
        _query(
            "sort",
            _choices(list(SORTS)),
            "Default relevance (nearer first among equals), or distance with a place and no "
            "words (distance needs a place); soonest: meeting now first, then by how soon the "
            "next meeting starts (groups with no set weekly time last)",
        ),
        _query(
            "exact",
            _choices(["0", "1"]),
            "1: search the words exactly as typed, without correcting misspellings",
        ),
        _query(
            "page",
            _or_empty({"type": "integer", "minimum": 1}),
            "Page number, from 1; results stop at 10,000 (page × per_page)",
        ),
        _query(
            "per_page",
            _or_empty({"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}),
            f"Results per page (1–{MAX_PER_PAGE}, default 20)",
        ),
    ]


def openapi_document(server: str = "") -> dict[str, Any]:
    """The whole OpenAPI 3.1 document; `server` is the site's root URL."""
    cursor_header = {
        "X-Changes-Cursor": {
            "description": "Pass as since= to /changes to continue after this export",
            "schema": {"type": "string"},
        }
    }
    paths: dict[str, Any] = {
        "/groups": {
            "get": _operation(
                "searchGroups",
                "Search groups with the public site's parameters",
                _json(
                    "A page of results",
                    {"$ref": "#/components/schemas/SearchResponse"},
                    {
                        "Link": {
                            "description": 'links.next and links.prev as rel="next"/"prev"',
                            "schema": {"type": "string"},
                        }
                    },
                ),
                search_parameters(),
                extra={"503": _problem("The search engine is briefly unavailable")},
            )
        },
        "/groups/{id}": {
            "get": _operation(
                "getGroup",
                "One public group",
                _json("The group", {"$ref": "#/components/schemas/Group"}),
                [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": "The group's UUID",
                    }
                ],
                not_found=True,
            )
        },
        "/concerns": {
            "get": _operation(
                "listConcerns",
                "The concern taxonomy with synonyms and counts",
                _json("Parents with their children", CONCERNS_RESPONSE),
            )
        },
        "/changes": {
            "get": _operation(
                "listChanges",
                "Every listing change after a cursor, in commit order",
                _json("Changes", {"$ref": "#/components/schemas/ChangesResponse"}),
                [
                    _query(
                        "since",
                        {"type": "string", "pattern": "^[0-9]{1,18}$"},
                        "A cursor from 'next' or X-Changes-Cursor; omit to start at the beginning",
                    ),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 1000},
                        "Changes per response (default 100)",
                    ),
                ],
            )
        },
        "/export.ndjson": {
            "get": _operation(
                "exportGroups",
                "Every public group, one JSON object per line (streamed)",
                {
                    "description": "Newline-delimited JSON of Group objects",
                    "headers": cursor_header,
                    "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                },
            )
        },
        "/meeting-guide.json": {
            "get": _operation(
                "meetingGuideFeed",
                "Public groups as a Meeting Guide JSON feed (one entry per meeting day)",
                _json(
                    "Meeting Guide entries",
                    {"type": "array", "items": {"$ref": "#/components/schemas/MeetingGuideEntry"}},
                ),
                [
                    _query(
                        "concern",
                        {"type": "string"},
                        "Concern slug (parents include children)",
                        repeat=True,
                    ),
                    _query(
                        "region", {"type": "string"}, "State or province code, e.g. IL", repeat=True
                    ),
                ],
            )
        },
        "/webhooks": {
            "get": _operation(
                "listWebhooks",
                "This key's webhook subscriptions",
                _json("Subscriptions", WEBHOOKS_RESPONSE),
            ),
            "post": _created(
                _operation(
                    "createWebhook",
                    "Subscribe a URL to every change (optionally of some concerns or regions)",
                    _json(
                        "The subscription, with its signing secret (shown once)", WEBHOOK_CREATED
                    ),
                ),
                {"required": True, "content": {"application/json": {"schema": WEBHOOK_REQUEST}}},
            ),
        },
        "/webhooks/{id}": {
            "delete": _deleted(
                _operation(
                    "deleteWebhook",
                    "Delete one of this key's subscriptions",
                    {"description": "Deleted"},
                    [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    extra={"404": _problem("This key has no subscription with this id")},
                )
            )
        },
        "/openapi.json": {
            "get": _operation(
                "openapi",
                "This document (no key needed)",
                _json("OpenAPI 3.1", {"type": "object"}),
                public=True,
            )
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Self-help group clearinghouse partner API",
            "version": "1.0.0",
            "description": (
                "Search, page through and sync the public directory of self-help groups. "
                "Send 'Authorization: Bearer <key>'. Errors are RFC 9457 problem+json. "
                "JSON responses carry an ETag (send If-None-Match for a 304) and are gzipped "
                "for clients that accept it."
            ),
        },
        "servers": [{"url": f"{server}/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Group": GROUP,
                "Problem": PROBLEM,
                "SearchResponse": SEARCH_RESPONSE,
                "ChangesResponse": CHANGES_RESPONSE,
                "MeetingGuideEntry": MEETING_GUIDE_ENTRY,
            },
            "responses": {
                "Unauthorized": _problem("No key, a malformed key or an unknown key"),
                "Forbidden": _problem("The key has been revoked"),
                "TooManyRequests": {
                    **_problem("The key's rate limit is used up"),
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                },
            },
        },
    }
