"""The search contract every engine satisfies: SearchQuery in, SearchResult out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from typing import Protocol, TypeVar

from clearinghouse.geo import Place
from clearinghouse.search.facets import BY_NAME

SORTS = ("relevance", "distance", "name", "updated", "soonest")
MAX_RADIUS_MI = 500.0
MAX_PER_PAGE = 100
KM_PER_MI = 1.609344


# What the words of q were taken to mean (search/understanding.py reads them; the engines
# match and rank by them).
@dataclass(frozen=True)
class Clause:
    """Holds for a group whose text has all `words`, or that has one of the concerns or
    audiences; `prefix`: the last word may also be the start of a longer word."""

    words: tuple[str, ...]
    concerns: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    prefix: bool = False
    related: tuple[str, ...] = ()  # named by words inside a phrase: only in the relaxed retry


@dataclass(frozen=True)
class Understood:
    """What q was taken to mean.

    A group matches when it meets one of the clauses that name something (a concern or an
    audience: "depression and anxiety" wants either, both rank first) and every clause that
    names nothing; with `any_clause` (the relaxed retry), one clause of any kind is enough.
    """

    clauses: tuple[Clause, ...] = ()
    concern_weights: tuple[tuple[str, int], ...] = ()
    audience_weights: tuple[tuple[str, int], ...] = ()
    any_clause: bool = False
    loose_words: tuple[str, ...] = ()  # the words worth finding alone, for the relaxed retry

    @property
    def concerns(self) -> tuple[str, ...]:
        """Named concerns, the most weighty first."""
        ranked = sorted(self.concern_weights, key=lambda item: -item[1])
        return tuple(slug for slug, _weight in ranked)

    @property
    def audiences(self) -> tuple[str, ...]:
        return tuple(audience for audience, _weight in self.audience_weights)

    @property
    def named(self) -> bool:
        return bool(self.concern_weights or self.audience_weights)

    def requirements(self) -> tuple[tuple[Clause, ...], ...]:
        """The clauses as all-of (outer) any-of (inner), for the engines."""
        if self.any_clause:
            return (self.clauses,) if self.clauses else ()
        naming = tuple(c for c in self.clauses if c.concerns or c.audiences)
        plain_words = tuple((c,) for c in self.clauses if not (c.concerns or c.audiences))
        return ((naming,) if naming else ()) + plain_words

    def relaxed(self) -> Understood:
        """The retry when nothing matched: groups for any concern named, else any audience,
        else groups with any of the words that say something."""
        named = tuple(
            Clause(words=c.words, concerns=(*c.concerns, *c.related))
            for c in self.clauses
            if c.concerns or c.related
        )
        named = named or tuple(clause for clause in self.clauses if clause.audiences)
        if not named:
            named = tuple(Clause(words=(word,)) for word in self.loose_words)
        return replace(self, clauses=named, any_clause=True)


@dataclass(frozen=True)
class SearchQuery:
    """A validated search; built only by `query.parse_search_args`."""

    q: str = ""
    near: Place | None = None
    near_text: str = ""
    radius: float = 25.0
    unit: str = "mi"
    # The selected facet values per facet name, as given (concern slugs unexpanded).
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The concern filter with each parent expanded to include its children.
    concern_filter: frozenset[str] = frozenset()
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    # What the words were taken to mean (`understanding.understand`, set by the service);
    # None: every word of q required of the text.
    understood: Understood | None = None
    exact: bool = False  # search the words as typed: no spelling correction
    # The "When" filter (a value of `when.STARTS_WITHIN`), "" for any time; see search/when.py.
    starts_within: str = ""
    # The searcher's zone: the place searched, else the browser's `tz`; None when unknown.
    viewer_tz: str | None = None
    # The moment "now" means for starts_within and sort=soonest (aware); set by the parser
    # when either is asked for (tests pass their own), else None.
    now: datetime | None = None

    @property
    def radius_mi(self) -> float:
        return self.radius if self.unit == "mi" else self.radius / KM_PER_MI

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def selected(self, facet: str) -> tuple[str, ...]:
        return self.filters.get(facet, ())


@dataclass(frozen=True)
class Hit:
    id: int
    score: float = 0.0
    distance_mi: float | None = None


@dataclass(frozen=True)
class SearchResult:
    """Ids in rank order for the page, the total, facet counts, and the online side list."""

    hits: tuple[Hit, ...]
    total: int
    facets: dict[str, dict[str, int]]
    online: tuple[Hit, ...] = ()
    online_total: int = 0
    # Answered by the fallback engine while the configured one is down (see search/fallback.py).
    degraded: bool = False


@dataclass(frozen=True)
class ListingDoc:
    """What the engines index for one active group; built by `documents.build_document`."""

    id: int
    uuid: str
    name: str
    description: str
    organization: str
    concern_text: str  # labels and lay synonyms of the group's concerns
    concerns: tuple[str, ...]  # own concern slugs and their parents
    format: str
    attendance: tuple[str, ...]  # the attendance values this group matches (hybrid matches 3)
    days: tuple[str, ...]  # mon…sun
    times: tuple[str, ...]  # morning…night
    languages: tuple[str, ...]
    cost: str
    audience: tuple[str, ...]
    accessibility: tuple[str, ...]
    lat: float | None
    lon: float | None
    service_area: tuple[str, ...]  # regions an online/phone group serves; () = everywhere
    region: str
    updated_at: str  # ISO 8601, UTC
    name_sort: str
    # The first sort key of every order: 0 normal, 1 may be out of date, 2 temporarily closed
    # (documents.standing_of).
    standing: int = 0
    # When it meets (search/when.py): the zone of its times ("" none given) and its weekly
    # meetings as [start, end) local minutes of the week.
    meet_zone: str = ""
    meet_slots: tuple[tuple[int, int], ...] = ()

    @property
    def has_place(self) -> bool:
        return self.lat is not None and self.lon is not None

    def facet_values(self, facet: str) -> tuple[str, ...]:
        """The values of one facet, from the field the registry names."""
        values: str | tuple[str, ...] = getattr(self, BY_NAME[facet].field)
        return (values,) if isinstance(values, str) else values


class Searcher(Protocol):
    """What answers searches: an engine, or the engine behind its fallback."""

    name: str

    def search(self, query: SearchQuery) -> SearchResult: ...


class SearchBackend(Protocol):
    """An engine: keeps documents by group id and answers SearchQuery."""

    name: str

    def search(self, query: SearchQuery) -> SearchResult: ...

    def upsert(self, docs: Iterable[ListingDoc]) -> None: ...

    def remove(self, ids: Iterable[int]) -> None: ...

    def rebuild(self, docs: Iterable[ListingDoc]) -> int:
        """Build a fresh index from `docs` and switch to it; searches keep answering meanwhile."""
        ...

    def indexed(self) -> dict[int, str]:
        """Every indexed group id with the `updated_at` it was indexed at (for checks)."""
        ...

    def count(self) -> int: ...

    def ping(self) -> bool: ...


class SearchUnavailable(RuntimeError):
    """The engine cannot be reached; writes go on and the outbox waits."""


T = TypeVar("T")


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size` (the last may be shorter), read lazily: how engines write."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
