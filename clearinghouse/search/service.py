"""Search for the public pages and the API alike: the engine's ids, hydrated from the store.

`run_search` asks the configured engine, loads the active groups for the hit ids in one
query (rank order kept, anything no longer active dropped), labels the facets and, when a
place search finds nothing, works out what to offer instead.  `record_miss` counts an empty
public search by concern, region and day only — nothing about the person.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from clearinghouse.extensions import db
from clearinghouse.groups import groups_by_id
from clearinghouse.models import Group, SearchMiss, utcnow
from clearinghouse.search import get_search, note_degraded
from clearinghouse.search.base import Hit, SearchQuery, SearchResult
from clearinghouse.search.facets import FACETS
from clearinghouse.search.reading import Reading, read_search
from clearinghouse.taxonomy import NationalResource, Taxonomy, default_taxonomy

log = logging.getLogger(__name__)
H = TypeVar("H")

WIDER_RADII_MI = (50.0, 100.0)


@dataclass(frozen=True)
class GroupHit:
    """One result: the group (active, with its relations loaded) and how far it is."""

    group: Group
    distance_mi: float | None = None
    score: float = 0.0


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool = False
    parent: str | None = None  # concern facet: the parent's slug for a child, else None


@dataclass(frozen=True)
class Facet:
    name: str
    label: str
    values: list[FacetValue]


@dataclass(frozen=True)
class WiderOption:
    radius: float  # in the query's unit
    count: int


@dataclass(frozen=True)
class Suggestions:
    """What to offer when a place search finds nothing nearby."""

    wider: list[WiderOption]
    national: list[NationalResource]
    start_a_group: bool = True


@dataclass(frozen=True)
class SearchPage(Generic[H]):
    """One page of answers: `groups` and `online` as the caller's hydrate made them."""

    query: SearchQuery
    groups: list[H]
    total: int
    facets: list[Facet]
    online: list[H]
    online_total: int
    suggestions: Suggestions | None = None
    reading: Reading | None = None  # what the words were taken to mean (None: no words)
    # Answered by the fallback engine while the configured one is down: may be incomplete.
    degraded: bool = False


def run_search(query: SearchQuery, taxonomy: Taxonomy | None = None) -> SearchPage[GroupHit]:
    """Search the configured engine; the page's groups as ORM objects (`GroupHit`)."""
    return search_page(query, _hydrate, taxonomy)


def search_page(
    query: SearchQuery,
    hydrate: Callable[[tuple[Hit, ...], tuple[Hit, ...]], list[list[H]]],
    taxonomy: Taxonomy | None = None,
) -> SearchPage[H]:
    """Search the configured engine and hydrate the page; raises SearchUnavailable if down.

    `hydrate` turns the hits and the online hits into what the caller shows, leaving out
    groups that are no longer active (the API's gives cached JSON).  While the engine is
    down the fallback answers: the page is `degraded`, and so is the response (a header).
    """
    taxonomy = taxonomy or default_taxonomy()
    searched, result, reading = read_search(get_search(), query, taxonomy)
    if result.degraded:
        note_degraded()
    groups, online = hydrate(result.hits, result.online)
    suggestions = None
    if query.near is not None and result.total == 0:
        suggestions = _suggestions(searched, taxonomy)
    return SearchPage(
        query=query,
        groups=groups,
        total=result.total,
        facets=facet_list(query, result, taxonomy),
        online=online,
        online_total=result.online_total,
        suggestions=suggestions,
        reading=reading,
        degraded=result.degraded,
    )


def record_miss(query: SearchQuery) -> None:
    """Count an empty public search by concern, region and day (no query text, no person)."""
    concerns = query.selected("concern") or ("",)
    region = (query.near.region or "") if query.near is not None else ""
    today = utcnow().date()
    try:
        for concern in concerns:
            miss = db.session.scalar(
                select(SearchMiss).where(
                    SearchMiss.concern == concern,
                    SearchMiss.region == region,
                    SearchMiss.day == today,
                )
            )
            if miss is None:
                miss = SearchMiss(concern=concern, region=region, day=today, count=0)
                db.session.add(miss)
            miss.count += 1
        db.session.commit()
    except SQLAlchemyError as error:  # a lost count must never break the search page
        db.session.rollback()
        log.warning("event=search_miss_not_recorded error=%s", type(error).__name__)


def _hydrate(*pages: tuple[Hit, ...]) -> list[list[GroupHit]]:
    """The active groups for each list of hits, in rank order, loaded together."""
    by_id = load_active({hit.id for hits in pages for hit in hits})
    return [
        [
            GroupHit(group=by_id[hit.id], distance_mi=hit.distance_mi, score=hit.score)
            for hit in hits
            if hit.id in by_id
        ]
        for hits in pages
    ]


def load_active(ids: Collection[int]) -> dict[int, Group]:
    """The active groups among `ids`, with everything a result shows.

    Hits whose group is no longer active (the index not yet in step) are left out, and logged.
    """
    by_id = groups_by_id(db.session, ids)
    dropped = len(set(ids) - by_id.keys())
    if dropped:
        log.info("event=search_hits_dropped count=%d reason=not_active_or_gone", dropped)
    return by_id


def facet_list(query: SearchQuery, result: SearchResult, taxonomy: Taxonomy) -> list[Facet]:
    """Every facet with labelled values: counted ones, plus selected ones even at zero."""
    facets = []
    for spec in FACETS:
        counts = result.facets.get(spec.name, {})
        selected = set(query.selected(spec.name))
        if spec.name == "concern":
            values = _concern_values(counts, selected, taxonomy)
        else:
            shown = [v for v in spec.allowed if counts.get(v) or v in selected]
            if spec.name == "language":  # by how many groups, then name: there are 180+ codes
                shown.sort(key=lambda v: (-counts.get(v, 0), spec.label_of(v)))
            values = [
                FacetValue(v, spec.label_of(v), counts.get(v, 0), v in selected) for v in shown
            ]
        facets.append(Facet(name=spec.name, label=spec.label, values=values))
    return facets


def _concern_values(
    counts: dict[str, int], selected: set[str], taxonomy: Taxonomy
) -> list[FacetValue]:
    values = []
    for term in taxonomy:  # each parent followed by its children, in taxonomy order
        if counts.get(term.slug) or term.slug in selected:
            values.append(
                FacetValue(
                    term.slug,
                    term.label,
                    counts.get(term.slug, 0),
                    term.slug in selected,
                    term.parent,
                )
            )
    return values


def _suggestions(query: SearchQuery, taxonomy: Taxonomy) -> Suggestions:
    """Wider radii that would find something, national resources, and starting a group."""
    wider: list[WiderOption] = []
    backend = get_search()
    for radius_mi in sorted({query.radius_mi * 2, *WIDER_RADII_MI}):
        if radius_mi <= query.radius_mi or radius_mi > 500:
            continue
        radius = radius_mi if query.unit == "mi" else round(radius_mi * 1.609344)
        wider_query = replace(query, radius=radius, page=1, per_page=1)
        wider_result = backend.search(wider_query)
        if wider_result.degraded:
            note_degraded()
        count = wider_result.total
        wider.append(WiderOption(radius=radius, count=count))
        if count:
            break
    concerns = list(query.selected("concern")) or taxonomy.resolve(query.q)
    return Suggestions(wider=wider, national=taxonomy.national_for(concerns))
