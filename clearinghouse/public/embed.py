"""The partner embed: `/embed.js` puts a search box and results from `/embed` on any site.

`/embed` is the one page another site may frame (`frame-ancestors *`, no X-Frame-Options);
every other page keeps `frame-ancestors 'none'`.  It sets no cookie (no session, no CSRF
token: its only form is a GET search) and opens group pages in a new tab, since those may
not be framed.  It tells the page framing it its height by postMessage; `/embed.js` accepts
that message only from this site's origin and from its own iframe.
"""

from __future__ import annotations

import logging
import re
from functools import partial

from flask import Response, render_template, request

from clearinghouse import i18n
from clearinghouse.i18n import gettext
from clearinghouse.public import bp
from clearinghouse.public.results import (
    _number,
    _unit_words,
    canonical_args,
    cards_for,
    place_heading,
    reader_zone,
)
from clearinghouse.resources import resource_dir
from clearinghouse.search.base import SearchUnavailable
from clearinghouse.search.query import QueryError, parse_search_args
from clearinghouse.search.service import search_page
from clearinghouse.taxonomy import default_taxonomy

log = logging.getLogger(__name__)

EMBED_PER_PAGE = "10"
_HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{6})")
# WCAG AA for normal text: the accent carries white button text and links on white.
MIN_CONTRAST = 4.5
# The framed page's policy: ours for everything it loads, anyone may frame it.
EMBED_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors *"
)


@bp.route("/embed.js")
def embed_script() -> Response:
    """The partner snippet's script (a file in static/js, served at a stable address)."""
    script = (resource_dir("static") / "js" / "embed.js").read_bytes()  # 2 KB, read whole
    response = Response(script, mimetype="text/javascript")
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    response.add_etag()
    response.make_conditional(request)
    return response


def accent_colour(value: str | None) -> str | None:
    """A partner's `data-accent` as "#rrggbb" when it reads on white (4.5:1), else None."""
    match = _HEX_COLOUR.fullmatch((value or "").strip())
    if match is None:
        return None
    colour = "#" + match[1].lower()
    return colour if contrast_with_white(colour) >= MIN_CONTRAST else None


def contrast_with_white(colour: str) -> float:
    """WCAG 2 contrast ratio of an "#rrggbb" colour against white."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


@bp.route("/embed/theme.css")
def embed_theme() -> Response:
    """The partner's accent colour as CSS (a file, since the framed page allows no inline style)."""
    colour = accent_colour(request.args.get("accent"))
    if colour is None:
        return Response("/* no usable accent: the default colours apply */\n", mimetype="text/css")
    darker = "#" + "".join(f"{int(int(colour[i : i + 2], 16) * 0.75):02x}" for i in (1, 3, 5))
    css = f":root {{ --accent: {colour}; --accent-dark: {darker}; }}\n"
    response = Response(css, mimetype="text/css")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
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
        page = search_page(
            query,
            partial(
                cards_for, query.unit, viewer_tz=reader_zone(query, request.args), now=query.now
            ),
            taxonomy,
        )
        pairs = [(k, v) for k, v in canonical_args(query) if k != "per_page"]
        pairs += i18n.link_args()
        distance = f"{_number(query.radius)} {_unit_words(query.unit)}" if query.near else ""
        heading = place_heading(query, page.total, distance)
        context.update(query=query, page=page, cards=page.groups, pairs=pairs, heading=heading)
        context["concern_labels"] = [
            i18n.concern_label(term.slug, term.label)
            for slug in query.selected("concern")
            if (term := taxonomy.get(slug))
        ]
    except QueryError as error:
        log.info("event=embed_rejected param=%s", error.param)
        context["error"] = f"{error.param}: {error.message}"
        status = 400
    except SearchUnavailable:
        log.warning("event=search_unavailable page=embed")
        context["error"] = gettext("Search is not available right now. Please try again soon.")
        status = 503
    typed = {name: args.get(name, "")[:200] for name in ("q", "near", "concern")}
    context["accent"] = (accent_colour(args.get("accent")) or "").lstrip("#")
    response = Response(render_template("public/embed.html", typed=typed, **context), status)
    response.headers["Content-Security-Policy"] = EMBED_POLICY
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response
