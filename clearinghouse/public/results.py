"""The results page: run a search and shape it for the template (cards, chips, pages)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlencode

from flask import current_app, render_template, url_for
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from clearinghouse import versioned, vocab
from clearinghouse.extensions import db
from clearinghouse.models import Group, SyncState
from clearinghouse.public import present
from clearinghouse.schedule import Rule
from clearinghouse.search.base import FACETS, SORTS, Hit, SearchQuery, SearchUnavailable
from clearinghouse.taxonomy import Taxonomy

log = logging.getLogger(__name__)

SORT_LABELS = {
    "relevance": "Best match",
    "distance": "Nearest first",
    "name": "Name (A–Z)",
    "updated": "Recently updated",
}
RADIUS_CHOICES = (5, 10, 25, 50, 100)
# What each parameter is called on the page, for error messages that name it.
PARAM_LABELS = {
    "q": "What",
    "near": "Where",
    "lat": "Your location",
    "lon": "Your location",
    "radius": "Within",
    "unit": "Distance unit",
    "sort": "Sort by",
    "page": "Page",
    "per_page": "Results per page",
    "concern": "Topic",
    "format": "Led by",
    "attendance": "How to take part",
    "day": "Day",
    "time": "Time of day",
    "language": "Language",
    "cost": "Cost",
    "audience": "Who it is for",
    "accessibility": "Accessibility",
}
# Facet names as the public page words them (the API keeps the engine's plain labels).
FACET_LABELS = {
    "concern": "Topic",
    "format": "Led by",
    "attendance": "How to take part",
    "day": "Day",
    "time": "Time of day",
    "language": "Language",
    "cost": "Cost",
    "audience": "Who it is for",
    "accessibility": "Accessibility",
}
# Parameters a person sets in the search form itself, kept when filters are cleared.
WHERE_AND_WHAT = ("q", "near", "lat", "lon", "radius", "unit")


@dataclass(frozen=True)
class CardFacts:
    """What a result card shows of one version of a group (built once, see `versioned`)."""

    slug: str
    name: str
    concerns: tuple[str, ...]  # labels
    rules: tuple[Rule, ...]
    attendance: str  # label
    place: str  # "Chicago, IL" where a person can go, else ""
    format: str  # label
    cost: str  # label
    languages: tuple[str, ...]  # names
    lat: float | None
    lon: float | None
    approximate: bool


def card_facts(group: Group) -> CardFacts:
    location = group.location if present.has_place(group) else None
    return CardFacts(
        slug=group.slug,
        name=group.name,
        concerns=tuple(concern.label for concern in group.concerns),
        rules=tuple(present.rule_of(meeting) for meeting in group.meetings),
        attendance=vocab.label(vocab.ATTENDANCE, group.attendance),
        place=_town(location.city, location.region) if location is not None else "",
        format=vocab.label(vocab.FORMATS, group.format),
        cost=vocab.label(vocab.COSTS, group.cost),
        languages=tuple(present.language_names(group.languages or [])),
        lat=location.lat if location is not None else None,
        lon=location.lon if location is not None else None,
        approximate=bool(location and location.approximate),
    )


def _town(city: str | None, region: str | None) -> str:
    if not city:
        return ""
    return f"{city}, {region}" if region else city


@dataclass(frozen=True)
class Card:
    """One result as the list and the map show it."""

    group: CardFacts
    distance: str
    next_meeting: present.NextMeeting | None


@dataclass(frozen=True)
class Chip:
    label: str
    remove_url: str


def search_url(args: Iterable[tuple[str, str]]) -> str:
    pairs = [(key, value) for key, value in args if value not in ("", None)]
    return url_for("public.search") + ("?" + urlencode(pairs) if pairs else "")


def canonical_args(query: SearchQuery) -> list[tuple[str, str]]:
    """The query as (name, value) pairs, whatever shape `query_to_args` returns."""
    from clearinghouse.search.query import query_to_args

    args: Any = query_to_args(query)
    if isinstance(args, MultiDict):
        return list(args.items(multi=True))
    if isinstance(args, Mapping):
        pairs: list[tuple[str, str]] = []
        for key, value in args.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            pairs.extend((key, str(item)) for item in values if item not in (None, ""))
        return pairs
    return [(str(key), str(value)) for key, value in args]


def without(
    pairs: list[tuple[str, str]], name: str, value: str | None = None
) -> list[tuple[str, str]]:
    return [(k, v) for k, v in pairs if not (k == name and (value is None or v == value))]


def replaced(pairs: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    return [*without(pairs, name), (name, value)]


def cards_for(unit: str, *pages: tuple[Hit, ...]) -> list[list[Card]]:
    """Each list of hits as result cards, in rank order (a hydrate for `search_page`)."""
    facts = versioned.built("card", card_facts, {hit.id for hits in pages for hit in hits})
    cards = []
    for hits in pages:
        shown = []
        for hit in hits:
            group = facts.get(hit.id)
            if group is None:
                continue
            upcoming = present.next_of_rules(group.rules, count=1)
            shown.append(
                Card(
                    group=group,
                    distance=present.distance_text(hit.distance_mi, unit),
                    next_meeting=upcoming[0] if upcoming else None,
                )
            )
        cards.append(shown)
    return cards


def chips_for(query: SearchQuery, page: Any) -> list[Chip]:
    from clearinghouse.search.query import args_without

    labels = {
        (facet.name, value.value): (FACET_LABELS.get(facet.name, facet.label), value.label)
        for facet in page.facets
        for value in facet.values
    }
    chips = []
    for name in FACETS:
        for value in query.selected(name):
            facet_label, value_label = labels.get((name, value), (name.title(), value))
            chips.append(
                Chip(
                    label=f"{facet_label}: {value_label}",
                    remove_url=search_url(args_without(query, name, value)),
                )
            )
    return chips


def page_links(current: int, total: int, per_page: int) -> list[int | None]:
    """Page numbers to show: first, last and two around the current; None marks a gap."""
    last = max(1, -(-total // per_page))
    shown = sorted({1, last, *range(max(1, current - 2), min(last, current + 2) + 1)})
    links: list[int | None] = []
    for number in shown:
        if links and isinstance(links[-1], int) and number - links[-1] > 1:
            links.append(None)
        links.append(number)
    return links


def search_page(args: MultiDict[str, str], taxonomy: Taxonomy) -> tuple[str, int]:
    from clearinghouse.search.query import (
        QueryError,
        args_exactly_as_typed,
        args_for_page,
        parse_search_args,
    )
    from clearinghouse.search.service import record_miss, search_page

    try:
        query = parse_search_args(args, taxonomy)
    except QueryError as error:
        log.info("event=search_rejected param=%s", error.param)
        return _error_page(args, error.param, error.message, 400)
    try:
        page = search_page(query, partial(cards_for, query.unit), taxonomy)
    except SearchUnavailable:
        log.warning("event=search_unavailable")
        message = "Search is not available right now. Please try again in a few minutes."
        return _error_page(args, None, message, 503)
    if query.near is not None and page.total == 0:
        record_miss(query)
    log.info(
        "event=search total=%d has_place=%s facets=%d page=%d",
        page.total,
        query.near is not None,
        sum(len(v) for v in query.filters.values()),
        query.page,
    )
    pairs = canonical_args(query)
    context = {
        "query": query,
        "page": page,
        "pairs": pairs,
        "cards": page.groups,
        "online_cards": page.online,
        "chips": chips_for(query, page),
        "clear_url": search_url([(k, v) for k, v in pairs if k in WHERE_AND_WHAT]),
        "page_url": lambda number: search_url(args_for_page(query, number)),
        "page_links": page_links(query.page, page.total, query.per_page),
        "last_page": max(1, -(-page.total // query.per_page)),
        "online_url": search_url(
            [(k, v) for k, v in pairs if k in ("q", "concern")]
            + [("attendance", "online"), ("attendance", "phone")]
        ),
        "sort_labels": {s: SORT_LABELS.get(s, s) for s in SORTS},
        "radius_choices": RADIUS_CHOICES,
        "national": _national(page, query, taxonomy),
        "facet_labels": FACET_LABELS,
        "suggestions": page.suggestions,
        "reading": page.reading,
        "exact_url": search_url(args_exactly_as_typed(query)),
        "wider_url": lambda radius: search_url(
            replaced(without(pairs, "page"), "radius", str(radius))
        ),
        "tile_url": current_app.config.get("TILE_URL", ""),
        "error": None,
    }
    return render_template("public/results.html", **context), 200


def _national(page: Any, query: SearchQuery, taxonomy: Taxonomy) -> list[Any]:
    """National organisations for the concern searched for, when nothing was found."""
    if page.total:
        return []
    if page.suggestions is not None:
        return list(page.suggestions.national)
    return taxonomy.national_for(query.selected("concern") or taxonomy.resolve(query.q))


def _error_page(
    args: MultiDict[str, str], param: str | None, message: str, status: int
) -> tuple[str, int]:
    return (
        render_template(
            "public/results.html",
            query=None,
            page=None,
            cards=[],
            online_cards=[],
            chips=[],
            error={"param": param, "message": message},
            param_labels=PARAM_LABELS,
            typed={name: args.get(name, "")[:200] for name in ("q", "near", "radius")},
            radius_choices=RADIUS_CHOICES,
            sort_labels={s: SORT_LABELS.get(s, s) for s in SORTS},
            tile_url="",
        ),
        status,
    )


def concern_counts(taxonomy: Taxonomy) -> dict[str, int]:
    """Active groups per concern slug (parents include their children), from the facet counts.

    Cached until the index moves on (keyed by the outbox position it has applied).
    """
    from clearinghouse.search.query import parse_search_args
    from clearinghouse.search.service import run_search

    state = db.session.get(SyncState, "search")
    key = state.last_seq if state else 0
    cache = current_app.extensions.setdefault("public_concern_counts", {})
    if cache.get("key") == key:
        return dict(cache["counts"])
    try:
        page = run_search(parse_search_args(MultiDict([("per_page", "1")]), taxonomy))
    except SearchUnavailable:
        return {}
    counts = {
        value.value: value.count
        for facet in page.facets
        if facet.name == "concern"
        for value in facet.values
    }
    cache.update(key=key, counts=counts)
    return counts


def public_groups_by_id(ids: list[int]) -> dict[int, Group]:
    rows = db.session.scalars(select(Group).where(Group.id.in_(ids), Group.status == "active"))
    return {group.id: group for group in rows}
