"""The results page: run a search and shape it for the template (cards, chips, pages)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlencode

from flask import current_app, render_template, url_for
from werkzeug.datastructures import MultiDict

from clearinghouse import bodies, i18n, schedule, vocab
from clearinghouse.extensions import db
from clearinghouse.i18n import (
    N_,
    gettext,
    localized_message,
    message_patterns,
    ngettext,
    translated,
)
from clearinghouse.models import Group, SyncState
from clearinghouse.public import present
from clearinghouse.public.exports import search_export_url
from clearinghouse.public.printing import LEGEND, printed_by_slug
from clearinghouse.schedule import Closure, Rule
from clearinghouse.search.base import SORTS, Hit, SearchQuery, SearchUnavailable
from clearinghouse.search.facets import BY_NAME, FACETS
from clearinghouse.search.service import Facet, FacetValue, Suggestions
from clearinghouse.search.when import WHEN_LABELS
from clearinghouse.taxonomy import Taxonomy

log = logging.getLogger(__name__)

SORT_LABELS = {
    "relevance": N_("Best match"),
    "distance": N_("Nearest first"),
    "name": N_("Name (A–Z)"),
    "updated": N_("Recently updated"),
    "soonest": N_("Soonest first"),
}
RADIUS_CHOICES = (5, 10, 25, 50, 100)
# What each parameter is called on the page, for error messages that name it.
PARAM_LABELS = {
    "q": N_("What"),
    "near": N_("Where"),
    "lat": N_("Your location"),
    "lon": N_("Your location"),
    "radius": N_("Within"),
    "unit": N_("Distance unit"),
    "sort": N_("Sort by"),
    "starts_within": N_("When"),
    "page": N_("Page"),
    "per_page": N_("Results per page"),
} | {spec.name: spec.public_label for spec in FACETS}
# The search errors a person meets (worded by search/query.py and geo.py for pages and API
# alike); `%(…)s` stands for the values in them.
SEARCH_MESSAGES = message_patterns(
    (
        N_(
            "We couldn't find “%(place)s”. Try a US ZIP code (60614), a city and state "
            "(Springfield, IL), a state (Illinois), or a Canadian city or postal code "
            "(Toronto, ON or M5V)."
        ),
        N_(
            "Enter a place. Try a US ZIP code (60614), a city and state (Springfield, IL), "
            "a state (Illinois), or a Canadian city or postal code (Toronto, ON or M5V)."
        ),
        N_(
            "We couldn't find “%(place)s”: “%(region)s” isn't a US state or Canadian province. "
            "Try a US ZIP code (60614), a city and state (Springfield, IL), a state (Illinois), "
            "or a Canadian city or postal code (Toronto, ON or M5V)."
        ),
        N_(
            "“%(place)s” isn't a ZIP or postal code we know. Check it, or try a city and state "
            "(Springfield, IL)."
        ),
        N_("We couldn't find “%(place)s” in %(region)s. Check the spelling, or try a ZIP code."),
        N_("“%(place)s” matches several places: %(places)s — add the state."),
        N_("“%(place)s” matches several places: %(places)s — add the state or province."),
        N_("%(value)s is not allowed; use one of: %(allowed)s"),
        N_("%(value)s is not allowed; use %(allowed)s"),
        N_("%(value)s is not a number"),
        N_("%(value)s is not a whole number"),
        N_("%(value)s is out of range; use more than 0 and at most %(limit)s"),
        N_("%(value)s is out of range; use %(low)s to %(high)s"),
        N_("give one value, not several (%(values)s)"),
        N_("give both lat and lon (decimal degrees), or neither"),
        N_("sort=distance needs a place: give near, or lat and lon"),
    )
)
# Parameters a person sets in the search form itself, kept when filters are cleared.
WHERE_AND_WHAT = ("q", "near", "lat", "lon", "radius", "unit", "tz")
# A facet with more values than FOLD_AFTER shows the first FIRST_VALUES, the rest under "More".
FIRST_VALUES = 6
FOLD_AFTER = 8


@dataclass(frozen=True)
class CardFacts:
    """What a result card shows of one version of a group (from its stored public body)."""

    slug: str
    name: str
    concerns: tuple[str, ...]  # labels
    rules: tuple[Rule, ...]
    attendance: str  # label
    place: str  # "Chicago, IL" where a person can go, else ""
    format: str  # label
    cost: str  # label
    languages: tuple[str, ...]  # names
    joinable_anywhere: bool  # online, phone or hybrid: times also shown in the reader's zone
    lat: float | None
    lon: float | None
    approximate: bool
    closure: Closure | None = None  # temporarily closed (labelled while it lasts)


def card_facts(group: Group) -> CardFacts:
    location = group.location if present.has_place(group) else None
    return CardFacts(
        slug=group.slug,
        name=group.name,
        concerns=tuple(i18n.concern_label(c.slug, c.label) for c in group.concerns),
        rules=tuple(present.rule_of(meeting) for meeting in group.meetings),
        attendance=translated(vocab.label(vocab.ATTENDANCE, group.attendance)),
        place=_town(location.city, location.region) if location is not None else "",
        format=translated(vocab.label(vocab.FORMATS, group.format)),
        cost=translated(vocab.label(vocab.COSTS, group.cost)),
        languages=tuple(present.language_names(group.languages or [])),
        joinable_anywhere=present.joinable_anywhere(group.attendance),
        lat=location.lat if location is not None else None,
        lon=location.lon if location is not None else None,
        approximate=bool(location and location.approximate),
        closure=schedule.closure_of(group),
    )


def card_facts_of_body(body: Mapping[str, Any]) -> CardFacts:
    """`card_facts` from a group's stored public body (`bodies`), without the ORM: the same
    facts, read from the same fields."""
    attendance = body["attendance"]
    location = body["location"] if attendance in ("in-person", "hybrid") else None
    return CardFacts(
        slug=body["slug"],
        name=body["name"],
        concerns=tuple(i18n.concern_label(c["slug"], c["label"]) for c in body["concerns"]),
        rules=tuple(bodies.rules_of_body(body)),
        attendance=translated(vocab.label(vocab.ATTENDANCE, attendance)),
        place=_town(location["city"], location["region"]) if location is not None else "",
        format=translated(vocab.label(vocab.FORMATS, body["format"])),
        cost=translated(vocab.label(vocab.COSTS, body["cost"])),
        languages=tuple(present.language_names(body["languages"])),
        joinable_anywhere=present.joinable_anywhere(attendance),
        lat=location["lat"] if location is not None else None,
        lon=location["lon"] if location is not None else None,
        approximate=bool(location and location["approximate"]),
        closure=bodies.closure_of_body(body),
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
    tz: str = ""  # the reader's zone for the group page link, "" when unknown or not needed
    closed: str = ""  # "Temporarily closed until January 10, 2027: renovation", or ""


@dataclass(frozen=True)
class Chip:
    label: str
    remove_url: str


def search_url(args: Iterable[tuple[str, str]]) -> str:
    pairs = [(key, value) for key, value in args if value not in ("", None)]
    pairs += i18n.link_args()
    return url_for("public.search", lang=None) + ("?" + urlencode(pairs) if pairs else "")


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


def reader_zone(query: SearchQuery, args: Mapping[str, str]) -> str | None:
    """Whose clock to show times on too: the place searched, else the browser's `tz`, else none.

    A `tz` that is not a real zone is ignored, never an error.
    """
    return schedule.viewer_zone(query.near.timezone if query.near else None, args.get("tz"))


def cards_for(
    unit: str, *pages: tuple[Hit, ...], viewer_tz: str | None = None, now: datetime | None = None
) -> list[list[Card]]:
    """Each list of hits as result cards, in rank order (a hydrate for `service.search_page`).

    Groups joined from anywhere show their next meeting in `viewer_tz` too; `now` is the
    search's moment (so "When" and the next meeting shown agree), else the clock.
    """
    # From the stored public bodies, one query for the page (see `clearinghouse.bodies`).
    found = bodies.public_bodies(db.session, {hit.id for hits in pages for hit in hits})
    facts = {group_id: card_facts_of_body(body) for group_id, body in found.items()}
    today = datetime.now(UTC).date()
    cards = []
    for hits in pages:
        shown = []
        for hit in hits:
            group = facts.get(hit.id)
            if group is None:
                continue
            upcoming = present.next_of_rules(group.rules, count=1, now=now)
            if group.joinable_anywhere:
                upcoming = present.seen_from(upcoming, viewer_tz)
            shown.append(
                Card(
                    group=group,
                    distance=present.distance_text(hit.distance_mi, unit),
                    next_meeting=upcoming[0] if upcoming else None,
                    tz=(viewer_tz or "") if group.joinable_anywhere else "",
                    closed=present.closure_words(group.closure, today) if group.closure else "",
                )
            )
        cards.append(shown)
    return cards


def chips_for(query: SearchQuery, page: Any) -> list[Chip]:
    from clearinghouse.search.query import args_without, query_to_args

    labels = {
        (facet.name, value.value): value.label for facet in page.facets for value in facet.values
    }
    chips = []
    if query.starts_within:
        chips.append(
            Chip(
                label=gettext("When: %(when)s", when=gettext(WHEN_LABELS[query.starts_within])),
                remove_url=search_url(query_to_args(replace(query, starts_within="", page=1))),
            )
        )
    for spec in FACETS:
        for value in query.selected(spec.name):
            value_label = shown_value(spec.name, value, labels.get((spec.name, value), value))
            chips.append(
                Chip(
                    label=f"{gettext(spec.public_label)}: {value_label}",
                    remove_url=search_url(args_without(query, spec.name, value)),
                )
            )
    return chips


@dataclass(frozen=True)
class Summary:
    """The search said back in words: the heading, and the form's fields filled in again."""

    title: str  # "Groups near 60614"
    heading: str  # "2 groups within 25 miles of 60614 for “grief”"
    distance: str  # "25 miles", or "" without a place
    near: str  # the place as typed; "" for a point from "use my location"
    lat: str
    lon: str
    radius: str


def summary(query: SearchQuery, total: int) -> Summary:
    distance = f"{_number(query.radius)} {_unit_words(query.unit)}" if query.near else ""
    point = query.near is not None and query.near.kind == "point"
    heading = place_heading(query, total, distance)
    if query.q:
        heading += " " + gettext("for “%(q)s”", q=query.q)
    if query.near:
        title = gettext("Groups near %(place)s", place=query.near_text or gettext("you"))
    else:
        title = gettext("Search results")
    return Summary(
        title=title,
        heading=heading,
        distance=distance,
        near=query.near_text if query.near and not point else "",
        lat=str(round(query.near.lat, 3)) if query.near and point else "",
        lon=str(round(query.near.lon, 3)) if query.near and point else "",
        radius=_number(query.radius),
    )


def place_heading(query: SearchQuery, total: int, distance: str) -> str:
    """ "2 groups within 25 miles of 60614" (the embed's heading, and the start of the page's)."""
    heading = (
        ngettext("%(num)d group", "%(num)d groups", total) if total else gettext("No groups found")
    )
    if query.near:
        heading += " " + gettext(
            "within %(distance)s of %(place)s",
            distance=distance,
            place=query.near_text or gettext("your location"),
        )
    return heading


def shown_value(facet: str, value: str, label: str) -> str:
    """A facet value's label in the reader's language (concerns and languages by name)."""
    if facet == "concern":
        return i18n.concern_label(value, label)
    if facet == "language":
        return i18n.language_name(value, vocab.LANGUAGES)
    return translated(label)


def _number(value: float) -> str:
    """A radius as people write it: 25, 12.5."""
    return str(round(value, 1)).removesuffix(".0")


def _unit_words(unit: str) -> str:
    return gettext("miles") if unit == "mi" else "km"


@dataclass(frozen=True)
class Link:
    url: str
    text: str


def wider_links(query: SearchQuery, suggestions: Suggestions | None) -> list[Link]:
    """Wider searches to offer when a place search finds nothing; the farthest if none helps."""
    pairs = without(canonical_args(query), "page")
    units = _unit_words(query.unit)
    wider = suggestions.wider if suggestions else []
    links = []
    for option in wider:
        radius = round(option.radius)
        groups = ngettext("%(num)d group", "%(num)d groups", option.count)
        url = search_url(replaced(pairs, "radius", str(radius)))
        links.append(
            Link(url, gettext("Within %(distance)s", distance=f"{radius} {units}") + f" ({groups})")
        )
    if wider and not any(option.count for option in wider) and query.radius_mi < 500:
        farthest = 500 if query.unit == "mi" else 800
        url = search_url(replaced(pairs, "radius", str(farthest)))
        links.append(Link(url, gettext("within %(distance)s", distance=f"{farthest} {units}")))
    return links


@dataclass(frozen=True)
class FacetBox:
    """One facet's checkboxes: the first few, the rest folded under "More"."""

    name: str
    legend: str  # the public label
    more_label: str  # what "More" is more of, for screen readers
    first: list[FacetValue]
    rest: list[FacetValue]
    rest_open: bool  # a folded value is ticked


def facet_boxes(facets: list[Facet]) -> list[FacetBox]:
    boxes = []
    for facet in facets:
        if not facet.values:
            continue
        fold = FIRST_VALUES if len(facet.values) > FOLD_AFTER else len(facet.values)
        rest = facet.values[fold:]
        values = [
            dataclasses.replace(value, label=shown_value(facet.name, value.value, value.label))
            for value in facet.values
        ]
        legend = gettext(BY_NAME[facet.name].public_label)
        boxes.append(
            FacetBox(
                name=facet.name,
                legend=legend,
                more_label=legend.lower(),
                first=values[:fold],
                rest=values[fold:],
                rest_open=any(value.selected for value in rest),
            )
        )
    return boxes


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


def render_search(args: MultiDict[str, str], taxonomy: Taxonomy) -> tuple[str, int]:
    """The /search page for these arguments: results, or a 400/503 page that says why."""
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
        hydrate = partial(cards_for, query.unit, viewer_tz=reader_zone(query, args), now=query.now)
        page = search_page(query, hydrate, taxonomy)
    except SearchUnavailable:
        log.warning("event=search_unavailable")
        message = gettext("Search is not available right now. Please try again in a few minutes.")
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
        "summary": summary(query, page.total),
        "facet_boxes": facet_boxes(page.facets),
        "cards": page.groups,
        "has_map": any(card.group.lat is not None for card in page.groups),
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
        "sort_labels": {
            s: gettext(SORT_LABELS.get(s, s))
            for s in SORTS
            if s != "distance" or query.near is not None
        },
        "radius_choices": RADIUS_CHOICES,
        "when_labels": {value: gettext(label) for value, label in WHEN_LABELS.items()},
        "national": present.helplines(_national(page, query, taxonomy)),
        "wider_links": wider_links(query, page.suggestions),
        "reading": page.reading,
        "exact_url": search_url(args_exactly_as_typed(query)),
        "tile_url": current_app.config.get("TILE_URL", ""),
        "printed_groups": printed_by_slug(c.group.slug for c in [*page.groups, *page.online]),
        "printed_legend": LEGEND,
        "pdf_url": search_export_url("public.search_pdf", pairs),
        "atom_url": search_export_url("public.search_atom", pairs),
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
            error={
                "param": param,
                "label": gettext(PARAM_LABELS.get(param, param)) if param else "",
                "message": localized_message(message, SEARCH_MESSAGES),
            },
            typed={name: args.get(name, "")[:200] for name in ("q", "near", "radius")},
            radius_choices=RADIUS_CHOICES,
            sort_labels={s: gettext(SORT_LABELS.get(s, s)) for s in SORTS},
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
    if not page.degraded:  # the fallback's counts are kept only for this answer
        cache.update(key=key, counts=counts)
    return counts
