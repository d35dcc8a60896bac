"""The database engine's SQL for one SearchQuery (pure: strings and bound parameters, no I/O).

A document's facet values are one `text[]` column, `terms`, of `facet=value` strings plus
`EVERY` (the empty string, which every document has), under one GIN index: filters are
`terms && [...]`, and the counts of every facet are one pass over the matching documents
(`unnest(terms)` grouped; the count of `EVERY` is the total).  With facets selected, each
selected facet's values are counted without its own filter in the same pass (one `FILTER`ed
count per selected facet), so counts are disjunctive as the contract says.  Three statements
answer a search: those counts, the page in the requested order, and for a place search the
online and phone groups that serve its region.  Values always travel as bound parameters;
only the table name and the registry's facet names are spelt into SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from clearinghouse.search.base import Clause, SearchQuery
from clearinghouse.search.database_when import soonest_key, when_clause
from clearinghouse.search.elastic_query import MAX_WORD_CHARS, stem
from clearinghouse.search.embedded_search import (
    EARTH_RADIUS_MI,
    ONLINE_LIMIT,
    WEIGHT_SCORE,
    WHOLE_WORDS_SCORE,
    bounding_box,
)
from clearinghouse.search.facets import FACETS
from clearinghouse.search.understanding import plain

FACET_NAMES = tuple(spec.name for spec in FACETS)
EVERY = ""  # the term every document has: its count is the total


def term(facet: str, value: str) -> str:
    """How one facet value is kept in `terms` (facet names hold no "=")."""
    return f"{facet}={value}"


def read_term(stored: str) -> tuple[str, str]:
    facet, _, value = stored.partition("=")
    return facet, value


# ts_rank weights for D, C, B, A (description, organisation, concerns, name): the engines'
# field weights 1, 2, 5, 10 scaled into PostgreSQL's 0–1.
RANK_WEIGHTS = "{0.1, 0.2, 0.5, 1.0}"


def tsquery(words: Iterable[str], prefix: bool = False) -> str | None:
    """A to_tsquery text requiring every word's stem; with `prefix`, the last one may also
    be the start of a longer word ("caregiv" finds "caregivers", as FTS5's "word"* does).

    The words are those the other engines match (`search_words`, letters and digits only, so
    no tsquery operator or quote can get in), stemmed as the documents were; a word with no
    stem (the "s" of "parkinson's") is in no document and says nothing, so it is left out.
    """
    stemmed = (stem(word[:MAX_WORD_CHARS]) for word in words)
    terms = [f"'{term}'" for term in stemmed if term]
    if not terms:
        return None
    if prefix:
        terms[-1] += ":*"
    return " & ".join(terms)


def _rank(match: str) -> str:
    return f"ts_rank('{RANK_WEIGHTS}', words, {match})::float8"


class SearchStatements:
    """The SQL and parameters of one search on `table`."""

    def __init__(self, table: str, query: SearchQuery) -> None:
        self.table = table
        self.query = query
        self.params: dict[str, Any] = {}
        self.understood = query.understood or plain(query.q)
        self.scored = query.sort == "relevance" and bool(self.understood.clauses)
        self._clauses: list[Clause] = []  # numbered as their parameters are
        # What the understood clauses hold for, and (ranking by relevance) how well.
        self.match = self._match() if self.understood.clauses else None
        self.filters: dict[str, str] = {}
        for facet in FACET_NAMES:
            selected = query.selected(facet)
            if not selected:
                continue
            values = sorted(query.concern_filter) if facet == "concern" else list(selected)
            self.params[f"v_{facet}"] = [term(facet, value) for value in values]
            self.filters[facet] = f"terms && CAST(:v_{facet} AS text[])"
        if query.near is not None:
            min_lat, max_lat, min_lon, max_lon = bounding_box(
                query.near.lat, query.near.lon, query.radius_mi
            )
            self.params.update(
                lat0=query.near.lat,
                lon0=query.near.lon,
                radius=query.radius_mi,
                min_lat=min_lat,
                max_lat=max_lat,
                min_lon=min_lon,
                max_lon=max_lon,
                region=query.near.region or None,
            )
        self.when = when_clause(query, self.params) if query.starts_within else None

    # -- the understood words -------------------------------------------------------------

    def _match(self) -> str:
        """All of the requirements, each any of its clauses (`Understood.requirements`)."""
        requirements = []
        for any_of in self.understood.requirements():
            options = [self._clause_match(clause) for clause in any_of]
            requirements.append(f"({' OR '.join(options) or 'FALSE'})")
        return " AND ".join(requirements) or "FALSE"

    def _clause_match(self, clause: Clause) -> str:
        """A clause holds when the text has its words (the last maybe a word start) or the
        group has one of its concerns or audiences."""
        number = len(self._clauses)
        self._clauses.append(clause)
        options = []
        whole = tsquery(clause.words)
        if whole is not None:
            self.params[f"whole{number}"] = whole
            options.append(f"words @@ to_tsquery('simple', :whole{number})")
            if clause.prefix:
                self.params[f"start{number}"] = tsquery(clause.words, prefix=True)
                options[-1] = f"words @@ to_tsquery('simple', :start{number})"
        for facet, values in (("concern", clause.concerns), ("audience", clause.audiences)):
            if values:
                self.params[f"{facet}{number}"] = [term(facet, value) for value in values]
                options.append(f"terms && CAST(:{facet}{number} AS text[])")
        return f"({' OR '.join(options) or 'FALSE'})"

    @property
    def score(self) -> str:
        """The embedded engine's score: each named concern's and audience's weight, then a
        clause's words found whole over found as word starts, then (without a place, where
        distance decides among equals) ts_rank with the engines' field weights."""
        if not self.scored:
            return "0.0::float8"
        with_rank = self.query.near is None
        parts = []
        for number, clause in enumerate(self._clauses):
            if f"whole{number}" not in self.params:
                continue  # found by its concerns alone: adds nothing
            whole = f"to_tsquery('simple', :whole{number})"
            if not with_rank:
                parts.append(f"CASE WHEN words @@ {whole} THEN {WHOLE_WORDS_SCORE!r} ELSE 0 END")
                continue
            started = ""
            if clause.prefix:
                start = f"to_tsquery('simple', :start{number})"
                started = f" WHEN words @@ {start} THEN {_rank(start)}"
            parts.append(
                f"CASE WHEN words @@ {whole} THEN {WHOLE_WORDS_SCORE!r} + {_rank(whole)}"
                f"{started} ELSE 0 END"
            )
        for facet, named in (
            ("concern", self.understood.concern_weights),
            ("audience", self.understood.audience_weights),
        ):
            for index, (value, weight) in enumerate(named):
                self.params[f"{facet}_weight{index}"] = term(facet, value)
                parts.append(
                    f"CASE WHEN CAST(:{facet}_weight{index} AS text) = ANY(terms)"
                    f" THEN {weight * WEIGHT_SCORE!r} ELSE 0 END"
                )
        return f"({' + '.join(parts) or '0'})::float8"

    # -- pieces ---------------------------------------------------------------------------

    @property
    def distance(self) -> str:
        """The great-circle (haversine) distance in miles on the mean-radius sphere."""
        return (
            f"(2 * {EARTH_RADIUS_MI!r} * asin(least(1.0, sqrt("
            "power(sin(radians(lat - :lat0) / 2), 2)"
            " + cos(radians(:lat0)) * cos(radians(lat)) * power(sin(radians(lon - :lon0) / 2), 2)"
            "))))"
        )

    def scope(self) -> list[str]:
        """The words and the place: what every count and hit is within."""
        clauses = [self.match] if self.match is not None else []
        if self.query.near is not None:
            clauses += [
                "lat BETWEEN :min_lat AND :max_lat",
                "lon BETWEEN :min_lon AND :max_lon",
                f"{self.distance} <= :radius",
            ]
        if self.when is not None:
            clauses.append(self.when)
        return clauses

    def selections(self, skip: str | None = None) -> list[str]:
        return [clause for facet, clause in self.filters.items() if facet != skip]

    @staticmethod
    def where(clauses: list[str]) -> str:
        return f"WHERE {' AND '.join(clauses)}" if clauses else ""

    def order(self) -> str:
        """The requested order after the listing's standing (documents.standing_of), the group
        id last so pages never overlap or skip; by relevance: best first, then nearer, then by
        name (without words, just by name)."""
        query = self.query
        if query.sort == "distance" and query.near is not None:
            return "standing, distance, id"
        if query.sort == "updated":
            return "standing, updated_at DESC, id"
        if query.sort == "soonest":
            return f"standing, {soonest_key(query, self.params)}, name_sort, id"
        if self.scored:
            nearer = "distance, " if query.near is not None else ""
            return f"standing, score DESC, {nearer}name_sort, id"
        return "standing, name_sort, id"

    # -- statements -----------------------------------------------------------------------

    @property
    def whole_table_facet(self) -> str | None:
        """The facet whose counts are the whole table's, read from the kept counts
        (`<table>_counts`) instead of counted: with no words and no place, every facet when
        nothing is selected (EVERY), else the one facet selected (counted without its own
        selection); None when every count needs the matching documents."""
        if self.scope() or len(self.filters) > 1:
            return None
        return next(iter(self.filters), EVERY)

    def kept_counts_sql(self) -> str:
        return f"SELECT term, n FROM {self.table}_counts WHERE n > 0"

    def counts_sql(self) -> str | None:
        """Rows of (term, count under every selection, then one count per selected facet
        under every selection but its own); see `counted`.  None when the kept counts
        answer everything.

        A document counts when it meets all the selections but at most one: each selected
        facet is counted over the documents that meet all the others.
        """
        kept = self.whole_table_facet
        if kept == EVERY:
            return None
        selected = [facet for facet in self.filters if facet != kept]
        clauses = self.scope()
        if kept is not None:
            clauses += self.selections()  # count what meets it; the kept table has the rest
            selected = []
        elif len(selected) > 1:
            meets_all_but_one = [
                f"({' AND '.join(self.selections(skip=facet))})" for facet in selected
            ]
            clauses.append(f"({' OR '.join(meets_all_but_one)})")
        flags = "".join(f", {self.filters[facet]} AS in_{facet}" for facet in selected)

        def meeting(skip: str | None) -> str:
            wanted = [f"in_{facet}" for facet in selected if facet != skip]
            return f" FILTER (WHERE {' AND '.join(wanted)})" if wanted else ""

        counts = ", ".join(
            [f"count(*){meeting(None)}", *(f"count(*){meeting(facet)}" for facet in selected)]
        )
        # OFFSET 0 keeps the selections computed once per document, not once per term
        # (without any, the planner may count in parallel).
        fence = " OFFSET 0" if flags else ""
        return (
            f"SELECT term, {counts} FROM (SELECT terms{flags} FROM {self.table}"
            f" {self.where(clauses)}{fence}) AS matching, unnest(matching.terms) AS term"
            " GROUP BY term"
        )

    def counted(self, rows: list[Any], kept: list[Any]) -> tuple[int, dict[str, dict[str, int]]]:
        """The total and each facet's counts (no zeros), from the rows of `counts_sql` and
        of `kept_counts_sql` (read when `whole_table_facet` says so)."""
        whole_table = self.whole_table_facet
        counted = [] if whole_table is not None else list(self.filters)
        total = 0
        facets: dict[str, dict[str, int]] = {facet: {} for facet in FACET_NAMES}
        for source, stored, everything, *without_own in [
            *(("counted", *row) for row in rows),
            *(("kept", *row) for row in kept),
        ]:
            facet, value = read_term(stored)
            if (source == "kept") != (whole_table in (EVERY, facet)):
                continue
            if stored == EVERY:
                total = int(everything or 0)
                continue
            if facet not in facets:
                continue  # a facet no longer in the registry (the table predates a change)
            count = without_own[counted.index(facet)] if facet in counted else everything
            if count:
                facets[facet][value] = int(count)
        return total, facets

    def page_sql(self) -> str:
        """(id, score, distance) of the page's hits in order."""
        distance = self.distance if self.query.near is not None else "NULL::double precision"
        self.params.update(limit=self.query.per_page, offset=self.query.offset)
        return (
            f"SELECT id, {self.score} AS score, {distance} AS distance FROM {self.table}"
            f" {self.where(self.scope() + self.selections())}"
            f" ORDER BY {self.order()} LIMIT :limit OFFSET :offset"
        )

    def online_sql(self) -> str:
        """(id, score, total) of the online and phone groups serving the place's region."""
        clauses = [
            "remote",
            "lat IS NULL",
            "(cardinality(service_area) = 0 OR CAST(:region AS text) = ANY(service_area))",
        ]
        if self.match is not None:
            clauses.append(self.match)
        clauses += self.selections()
        if self.when is not None:
            clauses.append(self.when)
        order = "standing, " + ("score DESC, name_sort, id" if self.scored else "name_sort, id")
        if self.query.sort == "soonest":
            order = self.order()
        return (
            f"SELECT id, {self.score} AS score, count(*) OVER () FROM {self.table}"
            f" {self.where(clauses)} ORDER BY {order} LIMIT {ONLINE_LIMIT}"
        )
