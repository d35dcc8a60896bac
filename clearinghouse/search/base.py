"""The search contract every engine satisfies: SearchQuery in, SearchResult out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from clearinghouse.geo import Place
from clearinghouse.search.facets import BY_NAME

SORTS = ("relevance", "distance", "name", "updated")
MAX_RADIUS_MI = 500.0
MAX_PER_PAGE = 100
KM_PER_MI = 1.609344


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
