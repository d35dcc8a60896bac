"""The partner embed: `/embed.js` puts a search box and results from `/embed` on any site.

`/embed` is the one page another site may frame (`frame-ancestors *`, no X-Frame-Options);
every other page keeps `frame-ancestors 'none'`.  It sets no cookie (no session, no CSRF
token: its only form is a GET search) and opens group pages in a new tab, since those may
not be framed.  It tells the page framing it its height by postMessage; `/embed.js` accepts
that message only from this site's origin and from its own iframe.
"""

from __future__ import annotations

import logging
from functools import partial

from flask import Response, render_template, request, send_from_directory

from clearinghouse.public import bp
from clearinghouse.public.results import canonical_args, cards_for
from clearinghouse.resources import resource_dir
from clearinghouse.search.base import SearchUnavailable
from clearinghouse.search.query import QueryError, parse_search_args
from clearinghouse.search.service import search_page
from clearinghouse.taxonomy import default_taxonomy

log = logging.getLogger(__name__)

EMBED_PER_PAGE = "10"
# The framed page's policy: ours for everything it loads, anyone may frame it.
EMBED_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors *"
)


@bp.route("/embed.js")
def embed_script() -> Response:
    """The partner snippet's script (a file in static/js, served at a stable address)."""
    response = send_from_directory(resource_dir("static") / "js", "embed.js", max_age=3600)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/embed")
def embed() -> Response:
    """A compact search (box and first results) for framing on a partner's page."""
    taxonomy = default_taxonomy()
    args = request.args.copy()
    args.setdefault("per_page", EMBED_PER_PAGE)
    context: dict[str, object] = {"error": None, "page": None, "cards": [], "query": None}
    status = 200
    try:
        query = parse_search_args(args, taxonomy)
        page = search_page(query, partial(cards_for, query.unit), taxonomy)
        pairs = [(k, v) for k, v in canonical_args(query) if k != "per_page"]
        context.update(query=query, page=page, cards=page.groups, pairs=pairs)
        context["concern_labels"] = [
            term.label for slug in query.selected("concern") if (term := taxonomy.get(slug))
        ]
    except QueryError as error:
        log.info("event=embed_rejected param=%s", error.param)
        context["error"] = f"{error.param}: {error.message}"
        status = 400
    except SearchUnavailable:
        log.warning("event=search_unavailable page=embed")
        context["error"] = "Search is not available right now. Please try again soon."
        status = 503
    typed = {name: args.get(name, "")[:200] for name in ("q", "near", "concern")}
    response = Response(render_template("public/embed.html", typed=typed, **context), status)
    response.headers["Content-Security-Policy"] = EMBED_POLICY
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response
