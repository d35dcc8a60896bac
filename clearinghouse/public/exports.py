"""A search in other forms: a PDF to print or hand out, and an Atom feed to follow.

Both take exactly the parameters `/search` takes (one parser), answer a bad one with a 400
page naming it, and carry public fields only.  The feed lists the matching groups newest and
most recently changed first (the engines' `sort=updated`), up to `FEED_ENTRIES`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlencode

from flask import Response, abort, request, url_for

from clearinghouse.public import bp
from clearinghouse.public.atom import feed_xml
from clearinghouse.public.pdf import Section, render_pdf
from clearinghouse.public.printing import PrintedGroup, printed
from clearinghouse.search.base import Hit, SearchQuery, SearchUnavailable
from clearinghouse.search.query import QueryError, parse_search_args, query_to_args
from clearinghouse.search.service import SearchPage, search_page
from clearinghouse.taxonomy import Taxonomy, default_taxonomy

log = logging.getLogger(__name__)

FEED_ENTRIES = 50
# What each parameter is called on the search page, so a 400 names it as the person saw it.
PARAM_NAMES = {
    "q": "What",
    "near": "Where",
    "lat": "Your location",
    "lon": "Your location",
    "radius": "Within",
    "sort": "Sort by",
    "per_page": "Results per page",
}


def search_export_url(endpoint: str, pairs: Iterable[tuple[str, str]]) -> str:
    """The same search as a PDF or a feed (`pairs` as the results page has them)."""
    kept = [(k, v) for k, v in pairs if not (endpoint == "public.search_atom" and k == "page")]
    return url_for(endpoint) + ("?" + urlencode(kept) if kept else "")


def _query(taxonomy: Taxonomy) -> SearchQuery:
    try:
        return parse_search_args(request.args, taxonomy)
    except QueryError as error:
        log.info("event=search_export_rejected param=%s", error.param)
        label = PARAM_NAMES.get(error.param, error.param.replace("_", " ").capitalize())
        abort(400, description=f"{label} ({error.param}): {error.message}")


def _search(query: SearchQuery, taxonomy: Taxonomy) -> SearchPage[PrintedGroup]:
    def hydrate(*pages: tuple[Hit, ...]) -> list[list[PrintedGroup]]:
        facts = printed(hit.id for hits in pages for hit in hits)
        return [[facts[hit.id] for hit in hits if hit.id in facts] for hits in pages]

    try:
        return search_page(query, hydrate, taxonomy)
    except SearchUnavailable:
        log.warning("event=search_unavailable export=%s", request.endpoint)
        abort(503, description="Search is not available right now. Please try again soon.")


def describe(query: SearchQuery, taxonomy: Taxonomy) -> str:
    """ "Grief groups within 25 miles of 05401 matching “widow”" """
    concerns = [term.label for slug in query.selected("concern") if (term := taxonomy.get(slug))]
    text = (" and ".join(concerns) + " groups") if concerns else "Support groups"
    if query.near is not None:
        unit = "miles" if query.unit == "mi" else "km"
        radius = f"{query.radius:g}"
        text += f" within {radius} {unit} of {query.near_text or 'a point on the map'}"
    if query.q:
        text += f" matching “{query.q}”"
    return text


def _group_url(slug: str) -> str:
    return url_for("public.group_page", slug=slug, _external=True)


def _search_url(query: SearchQuery, endpoint: str = "public.search") -> str:
    args = query_to_args(query)
    return url_for(endpoint, _external=True) + ("?" + urlencode(args) if args else "")


@bp.route("/search.pdf")
def search_pdf() -> Response:
    """The page of results `/search` shows for these parameters (and its online panel), as PDF."""
    taxonomy = default_taxonomy()
    query = _query(taxonomy)
    page = _search(query, taxonomy)
    first = query.offset + 1 if page.groups else 0
    today = datetime.now(UTC)
    intro = [
        f"{page.total} group{'' if page.total == 1 else 's'} found; "
        f"this list shows {first}–{query.offset + len(page.groups)}.",
        f"Printed {today:%B} {today.day}, {today.year} from {_search_url(query)}",
        "Groups change: please check a group's page or call before you go.",
    ]
    sections = [Section("", page.groups)]
    if query.near is not None and page.online:
        sections.append(Section("Online and phone groups", page.online))
    body = render_pdf(describe(query, taxonomy), intro, sections, _group_url)
    log.info("event=search_pdf total=%d shown=%d", page.total, len(page.groups))
    response = Response(body, content_type="application/pdf")
    response.headers["Content-Disposition"] = 'inline; filename="support-groups.pdf"'
    return response


@bp.route("/search.atom")
def search_atom() -> Response:
    """The groups matching these parameters, newest and most recently changed first."""
    taxonomy = default_taxonomy()
    query = _query(taxonomy)
    newest = replace(query, sort="updated", page=1, per_page=FEED_ENTRIES)
    page = _search(newest, taxonomy)
    groups = sorted(
        {group.id: group for group in [*page.groups, *page.online]}.values(),
        key=lambda group: group.updated_at,
        reverse=True,
    )[:FEED_ENTRIES]
    feed_query = replace(query, page=1)
    self_url = _search_url(feed_query, "public.search_atom")
    body = feed_xml(
        title=describe(query, taxonomy),
        feed_id=self_url,
        self_url=self_url,
        page_url=_search_url(feed_query),
        groups=groups,
        group_url=_group_url,
        now=datetime.now(UTC),
    )
    log.info("event=search_atom entries=%d", len(groups))
    return Response(body, content_type="application/atom+xml; charset=utf-8")
