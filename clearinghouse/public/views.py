"""Public pages: home, search results, group pages and calendars, concerns, start a group."""

from __future__ import annotations

import functools
import logging

from flask import (
    Response,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from clearinghouse import groups, schedule
from clearinghouse.extensions import db
from clearinghouse.i18n import N_, concern_label
from clearinghouse.models import Group
from clearinghouse.public import bp, present
from clearinghouse.public.ics import group_calendar
from clearinghouse.public.jsonld import group_jsonld
from clearinghouse.public.results import concern_counts, render_search
from clearinghouse.taxonomy import Taxonomy, default_taxonomy, normalize

log = logging.getLogger(__name__)

SUGGEST_LIMIT = 8


bp.add_app_template_global(present.long_date, "long_date")


@bp.route("/")
def home() -> str:
    """Where a search starts: what and where, browse by concern, what groups are."""
    return render_template(
        "public/home.html",
        parents=default_taxonomy().parents(),
        counts=concern_counts(default_taxonomy()),
    )


@bp.route("/search")
def search() -> tuple[str, int]:
    """Results for the search parameters (docs/api.md); bad ones get a 400 page naming them."""
    return render_search(request.args, default_taxonomy())


def public_group(slug: str) -> Group:
    """An active group by slug, or a friendly 404 (pending and archived groups are private)."""
    group = groups.active_group(db.session, slug=slug)
    if group is None:
        merged = groups.merged_into_slug(db.session, slug)
        if merged is not None:  # a duplicate merged by staff: its old address still works
            args = {**(request.view_args or {}), "slug": merged}
            abort(redirect(url_for(str(request.endpoint), **args), 301))
        abort(404, description=N_("We couldn't find that group. It may have stopped meeting."))
    return group


@bp.route("/groups/<slug>")
def group_page(slug: str) -> str:
    group = public_group(slug)
    page_url = groups.public_url(group.slug)
    return render_template(
        "public/group.html",
        group=group,
        facts=present.group_facts(group),
        checked=present.checked_note(group),
        schedule_lines=present.schedule_lines(group),
        notices=present.schedule_notices(group),
        # Online and phone groups read in the reader's zone too: `tz` from a search or the browser.
        next_meetings=present.next_meetings(
            group, count=4, viewer_tz=schedule.viewer_zone(request.args.get("tz"))
        ),
        jsonld=group_jsonld(group, page_url=page_url),
        can_add_to_calendar=any(m.freq != "arrangement" and m.byday for m in group.meetings),
    )


@bp.route("/groups/<slug>.ics")
def group_ics(slug: str) -> Response:
    group = public_group(slug)
    page_url = groups.public_url(group.slug)
    body = group_calendar(group, page_url=page_url)
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{group.slug}.ics"'
    return response


@bp.route("/concerns")
def concerns() -> str:
    tax = default_taxonomy()
    return render_template(
        "public/concerns.html",
        tree=[(parent, tax.children(parent.slug)) for parent in tax.parents()],
        counts=concern_counts(tax),
    )


@bp.route("/concerns/suggest")
def concern_suggest() -> Response:
    """Concern suggestions while typing (progressive enhancement for the search box)."""
    text = request.args.get("q", "")[:100]
    return jsonify(suggestions(default_taxonomy(), text))


def suggestions(tax: Taxonomy, text: str, limit: int = SUGGEST_LIMIT) -> list[dict[str, str]]:
    """Concerns the text names (synonyms included) first, then labels and lay words it begins."""
    wanted = normalize(text)
    if not wanted:
        return []
    slugs = list(tax.resolve(text))
    labels, lay_words = _suggest_index(tax)
    by_label = [slug for slug, label in labels if _starts(label, wanted)]
    by_synonym = [slug for slug, words in lay_words if any(_starts(w, wanted) for w in words)]
    for slug in [*by_label, *by_synonym]:
        if slug not in slugs:
            slugs.append(slug)
    found = []
    for slug in slugs[:limit]:
        found_term = tax.get(slug)
        if found_term is None:
            continue
        parent = tax.get(found_term.parent) if found_term.parent else None
        found.append(
            {
                "slug": found_term.slug,
                "label": concern_label(found_term.slug, found_term.label),
                "parent": concern_label(parent.slug, parent.label) if parent else "",
            }
        )
    return found


@functools.cache
def _suggest_index(
    tax: Taxonomy,
) -> tuple[list[tuple[str, str]], list[tuple[str, tuple[str, ...]]]]:
    """Normalised labels and synonyms, computed once per taxonomy."""
    labels = [(term.slug, normalize(term.label)) for term in tax]
    lay_words = [(term.slug, tuple(normalize(s) for s in term.synonyms)) for term in tax]
    return labels, lay_words


def _starts(phrase: str, wanted: str) -> bool:
    """Whether the phrase, or one of its words, begins with what was typed."""
    return phrase.startswith(wanted) or any(word.startswith(wanted) for word in phrase.split())


@bp.route("/concerns/<slug>")
def concern(slug: str) -> str:
    tax = default_taxonomy()
    term = tax.get(slug)
    if term is None:
        abort(404, description=N_("We don't have a concern by that name. Try browsing the list."))
    return render_template(
        "public/concern.html",
        term=term,
        parent=tax.get(term.parent) if term.parent else None,
        children=tax.children(term.slug),
        national=present.helplines(tax.national_for([term.slug])),
        counts=concern_counts(tax),
    )


@bp.route("/start-a-group")
def start_a_group() -> str:
    return render_template("public/start_a_group.html")


@bp.route("/about")
def about() -> str:
    return render_template("public/about.html")
