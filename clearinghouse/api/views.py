"""Partner API routes: each parses its parameters, calls one function, answers JSON."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlencode

from flask import Response, request, stream_with_context, url_for
from sqlalchemy import func, select

from clearinghouse import bodies, geo
from clearinghouse.api import bp, feed, meeting_guide
from clearinghouse.api.http import (
    ApiProblem,
    bad_param,
    check_params,
    current_key,
    int_param,
    json_response,
    public_group_or_404,
    set_last_modified,
    single,
    streamed,
)
from clearinghouse.api.openapi import openapi_document
from clearinghouse.extensions import db
from clearinghouse.groups import public_url, public_urls
from clearinghouse.models import Group, GroupStatus, Location, group_concerns
from clearinghouse.public import present
from clearinghouse.search import service
from clearinghouse.search.base import Hit, SearchQuery, SearchUnavailable
from clearinghouse.search.facets import FACET_NAMES
from clearinghouse.search.query import (
    MAX_RESULT_WINDOW,
    QueryError,
    parse_search_args,
    query_to_args,
)
from clearinghouse.serialize import group_json, placed
from clearinghouse.taxonomy import Taxonomy, default_taxonomy

log = logging.getLogger(__name__)

SEARCH_PARAMS = (
    "q",
    "near",
    "lat",
    "lon",
    "radius",
    "unit",
    *FACET_NAMES,
    "sort",
    "starts_within",
    "tz",
    "exact",
    "page",
    "per_page",
)
DEFAULT_CHANGES_LIMIT = 100
MAX_CHANGES_LIMIT = 1000


def _latest(groups: Iterable[Group]) -> None:
    """Last-Modified: the newest change among the groups answered."""
    stamps = [group.updated_at for group in groups if group.updated_at]
    if stamps:
        set_last_modified(max(stamps).replace(tzinfo=UTC))


@bp.get("/groups")
def groups() -> Response:
    """Search: the same parser, engine and rules as the public /search page."""
    check_params(SEARCH_PARAMS)
    try:
        query = parse_search_args(request.args, default_taxonomy())
    except QueryError as error:
        bad_param(error.param, error.message)
    try:
        hydrate = partial(_hits_json, now=query.now, viewer_tz=query.viewer_tz)
        page = service.search_page(query, hydrate)
    except SearchUnavailable:
        log.warning("event=api_search_unavailable")
        raise ApiProblem(
            503, "search is briefly unavailable; retry in a minute", headers={"Retry-After": "60"}
        ) from None
    # Last-Modified: the newest change among the groups answered (ISO stamps sort by time).
    stamps = [item["updated_at"] for item in [*page.groups, *page.online] if item["updated_at"]]
    if stamps:
        set_last_modified(datetime.fromisoformat(max(stamps)))
    links = _links(query, page.total, list(query_to_args(query)))
    response = json_response(
        {
            "data": page.groups,
            "online": page.online,
            "facets": {
                facet.name: [
                    {"value": value.value, "label": value.label, "count": value.count}
                    for value in facet.values
                ]
                for facet in page.facets
            },
            "meta": _meta(query, page.total, page.degraded),
            "links": links,
            "understood": page.reading.as_json() if page.reading else None,
        }
    )
    # The same links as an RFC 8288 Link header, for clients that page generically.
    relations = [f'<{url}>; rel="{rel}"' for rel, url in links.items() if url and rel != "self"]
    if relations:
        response.headers["Link"] = ", ".join(relations)
    return response


def _hits_json(
    *pages: tuple[Hit, ...], now: datetime | None = None, viewer_tz: str | None = None
) -> list[list[dict[str, Any]]]:
    """Each list of hits as public JSON (with its page URL, distance and next meeting): the
    stored bodies of the page, read in one query, with this request's fields put in."""
    found = bodies.public_bodies(db.session, {hit.id for hits in pages for hit in hits})
    url = public_urls()
    return [
        [
            placed(body, url=url(body["slug"]), distance_mi=hit.distance_mi)
            | {"next_meeting": _next_meeting(body, now, viewer_tz)}
            for hit in hits
            if (body := found.get(hit.id)) is not None
        ]
        for hits in pages
    ]


def _next_meeting(
    body: dict[str, Any], now: datetime | None, viewer_tz: str | None
) -> dict[str, Any] | None:
    joinable = present.joinable_anywhere(body["attendance"])
    return present.next_meeting_json(bodies.rules_of_body(body), joinable, now, viewer_tz)


def _meta(query: SearchQuery, total: int, degraded: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"total": total, "page": query.page, "per_page": query.per_page}
    # True while the search engine is down and the database's own search answers instead:
    # results may be incomplete, misspellings are not corrected and the order may differ.
    meta["degraded"] = degraded
    if query.near is not None:
        meta["near"] = {
            "text": query.near_text,
            "label": query.near.label,
            "lat": query.near.lat,
            "lon": query.near.lon,
            "radius": query.radius,
            "unit": query.unit,
        }
    return meta


def _links(query: SearchQuery, total: int, args: list[tuple[str, str]]) -> dict[str, str | None]:
    base = url_for("api.groups", _external=True)

    def page_url(page: int) -> str:
        pairs = [(k, v) for k, v in args if k != "page"]
        if page != 1:
            pairs.append(("page", str(page)))
        return base + ("?" + urlencode(pairs) if pairs else "")

    last_page = min(max(1, -(-total // query.per_page)), MAX_RESULT_WINDOW // query.per_page)
    return {
        "self": page_url(query.page),
        "next": page_url(query.page + 1) if query.page < last_page else None,
        "prev": page_url(min(query.page - 1, last_page)) if query.page > 1 else None,
    }


@bp.get("/groups/<group_id>")
def group(group_id: str) -> Response:
    check_params(())
    found = public_group_or_404(group_id)
    _latest([found])
    rules = [present.rule_of(meeting) for meeting in found.meetings]
    joinable = present.joinable_anywhere(found.attendance)
    return json_response(
        group_json(found, url=public_url(found.slug))
        | {"next_meeting": present.next_meeting_json(rules, joinable)}
    )


@bp.get("/concerns")
def concerns() -> Response:
    """The concern taxonomy as a tree, with lay synonyms and active group counts."""
    check_params(())
    tax = default_taxonomy()
    direct = _direct_counts()
    data = []
    for parent in tax.parents():
        children = tax.children(parent.slug)
        data.append(
            {
                **_term_json(parent, _count(tax, parent.slug, direct)),
                "children": [_term_json(child, direct.get(child.slug, 0)) for child in children],
            }
        )
    return json_response({"data": data})


def _term_json(term: Any, count: int) -> dict[str, Any]:
    return {
        "slug": term.slug,
        "label": term.label,
        "description": term.description,
        "synonyms": list(term.synonyms),
        "count": count,
    }


def _direct_counts() -> dict[str, int]:
    rows = db.session.execute(
        select(group_concerns.c.concern_slug, func.count())
        .join(Group, Group.id == group_concerns.c.group_id)
        .where(Group.status == GroupStatus.ACTIVE)
        .group_by(group_concerns.c.concern_slug)
    )
    return {slug: count for slug, count in rows}


def _count(tax: Taxonomy, slug: str, direct: dict[str, int]) -> int:
    """Groups a search for this parent finds: tagged with it or any child, each counted once."""
    slugs = tax.expand([slug])
    if sum(direct.get(s, 0) for s in slugs) == 0:
        return 0
    return (
        db.session.scalar(
            select(func.count(func.distinct(group_concerns.c.group_id)))
            .join(Group, Group.id == group_concerns.c.group_id)
            .where(Group.status == GroupStatus.ACTIVE, group_concerns.c.concern_slug.in_(slugs))
        )
        or 0
    )


@bp.get("/changes")
def changes() -> Response:
    """Every listing change after `since`, in commit order; removals are tombstones."""
    check_params(("since", "limit"))
    since_text = single("since")
    limit = int_param("limit", DEFAULT_CHANGES_LIMIT, 1, MAX_CHANGES_LIMIT)
    since = 0
    if since_text is not None:
        try:
            since = feed.decode_cursor(db.session(), since_text)
        except feed.CursorError as error:
            bad_param("since", str(error))
    page = feed.changes_after(db.session(), since, limit)
    return json_response(
        {
            "changes": [feed.change_json(change) for change in page.changes],
            "next": feed.encode_cursor(page.next_seq),
            "has_more": page.has_more,
        }
    )


@bp.get("/export.ndjson")
def export() -> Response:
    """Every public group, one JSON per line; continue with /changes?since=<X-Changes-Cursor>."""
    check_params(())
    cursor = feed.encode_cursor(feed.head_seq(db.session()))
    key = current_key()
    log.info("event=api_export key=%s cursor=%s", key.prefix if key else "-", cursor)

    def lines() -> Iterator[str]:
        for item in feed.iter_active_groups():
            yield (
                json.dumps(group_json(item, url=public_url(item.slug)), ensure_ascii=False) + "\n"
            )

    return streamed(
        stream_with_context(lines()),
        "application/x-ndjson",
        {"X-Changes-Cursor": cursor},
    )


@bp.get("/meeting-guide.json")
def meeting_guide_feed() -> Response:
    """Public groups as a Meeting Guide JSON feed, optionally for some concerns or regions."""
    check_params(("concern", "region"))
    tax = default_taxonomy()
    concerns_wanted = _split(request.args.getlist("concern"))
    regions = _split(request.args.getlist("region"))
    for slug in concerns_wanted:
        if slug not in tax:
            bad_param("concern", f"{slug[:40]!r} is not a concern slug; see /api/v1/concerns")
    for code in regions:
        if not geo.region_name(code):
            bad_param("region", f"{code[:20]!r} is not a US state or Canadian province code")
    query = select(Group).where(Group.status == GroupStatus.ACTIVE)
    if concerns_wanted:
        query = query.where(
            Group.id.in_(
                select(group_concerns.c.group_id).where(
                    group_concerns.c.concern_slug.in_(tax.expand(concerns_wanted))
                )
            )
        )
    if regions:
        query = query.where(
            Group.id.in_(
                select(Location.group_id).where(Location.region.in_([r.upper() for r in regions]))
            )
        )

    def chunks() -> Iterator[str]:
        yield "["
        first = True
        for item in feed.stream_rows(query.order_by(Group.id), Group.id):
            for entry in meeting_guide.group_meetings(item, url=public_url(item.slug)):
                yield ("" if first else ",") + json.dumps(entry, ensure_ascii=False)
                first = False
        yield "]"

    return streamed(stream_with_context(chunks()), "application/json")


def _split(values: list[str]) -> list[str]:
    parts = [part.strip() for value in values for part in value.split(",")]
    return list(dict.fromkeys(part for part in parts if part))


@bp.get("/openapi.json")
def openapi() -> Response:
    check_params(())
    return json_response(openapi_document(request.url_root.rstrip("/")))
