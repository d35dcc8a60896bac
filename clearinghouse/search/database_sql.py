"""The database engine's SQL for one SearchQuery (pure: strings and bound parameters, no I/O).

Three statements answer a search: the total and every facet's counts in one (a `GROUP BY`
per facet over `unnest` of its column; a selected facet is counted without its own filter,
so counts are disjunctive as the contract says), the page in the requested order, and for a
place search the online and phone groups that serve its region.  Values always travel as
bound parameters; only the table name and the registry's column names are spelt into SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from clearinghouse.search.base import Clause, SearchQuery
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

# Facet name -> its text[] column (the registry's names are identifiers already).
FACET_COLUMNS = {spec.name: f"f_{spec.name}" for spec in FACETS}
# ts_rank weights for D, C, B, A (description, organisation, concerns, name): the engines'
# field weights 1, 2, 5, 10 scaled into PostgreSQL's 0–1.
RANK_WEIGHTS = "{0.1, 0.2, 0.5, 1.0}"


def tsquery(words: Iterable[str], prefix: bool = False) -> str | None:
    """A to_tsquery text requiring every word's stem; with `prefix`, the last one may also
    be the start of a longer word ("caregiv" finds "caregivers", as FTS5's "word"* does).

    The words are those the other engines match (`search_words`, letters and digits only, so
    no tsquery operator or quote can get in), stemmed as the documents were.
    """
    terms = [f"'{stem(word[:MAX_WORD_CHARS])}'" for word in words]
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
        for facet, column in FACET_COLUMNS.items():
            selected = query.selected(facet)
            if not selected:
                continue
            values = sorted(query.concern_filter) if facet == "concern" else list(selected)
            self.params[f"v_{facet}"] = values
            self.filters[facet] = f"{column} && CAST(:v_{facet} AS text[])"
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
                self.params[f"{facet}{number}"] = list(values)
                options.append(f"{FACET_COLUMNS[facet]} && CAST(:{facet}{number} AS text[])")
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
                self.params[f"{facet}_weight{index}"] = value
                parts.append(
                    f"CASE WHEN CAST(:{facet}_weight{index} AS text) = ANY({FACET_COLUMNS[facet]})"
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
        return clauses

    def selections(self, skip: str | None = None) -> list[str]:
        return [clause for facet, clause in self.filters.items() if facet != skip]

    @staticmethod
    def where(clauses: list[str]) -> str:
        return f"WHERE {' AND '.join(clauses)}" if clauses else ""

    def order(self) -> str:
        """The requested order, the group id last so pages never overlap or skip; by
        relevance: best first, then nearer, then by name (without words, just by name)."""
        query = self.query
        if query.sort == "distance" and query.near is not None:
            return "distance, id"
        if query.sort == "updated":
            return "updated_at DESC, id"
        if self.scored:
            nearer = "distance, " if query.near is not None else ""
            return f"score DESC, {nearer}name_sort, id"
        return "name_sort, id"

    # -- statements -----------------------------------------------------------------------

    def counts_sql(self) -> str:
        """Rows of (facet, value, count), and ('', '', total) for the whole matching set.

        The unselected facets share one pass (they are all counted under every selection);
        each selected facet gets its own, without its own filter.
        """
        unselected = [facet for facet in FACET_COLUMNS if facet not in self.filters]
        branches = [
            f"SELECT '' AS facet, '' AS value, count(*) AS n FROM scope"
            f" {self.where(self.selections())}"
        ]
        if unselected:
            pairs = ", ".join(f"('{facet}', {FACET_COLUMNS[facet]})" for facet in unselected)
            branches.append(
                f"SELECT facet, value, count(*) FROM scope"
                f" CROSS JOIN LATERAL (VALUES {pairs}) AS f(facet, vals)"
                f" CROSS JOIN LATERAL unnest(f.vals) AS value"
                f" {self.where(self.selections())} GROUP BY facet, value"
            )
        for facet in self.filters:
            column = FACET_COLUMNS[facet]
            branches.append(
                f"SELECT '{facet}', value, count(*) FROM scope, unnest(scope.{column}) AS value"
                f" {self.where(self.selections(skip=facet))} GROUP BY value"
            )
        columns = ", ".join(FACET_COLUMNS.values())
        return (
            f"WITH scope AS MATERIALIZED (SELECT {columns} FROM {self.table}"
            f" {self.where(self.scope())}) {' UNION ALL '.join(branches)}"
        )

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
        order = "score DESC, name_sort, id" if self.scored else "name_sort, id"
        return (
            f"SELECT id, {self.score} AS score, count(*) OVER () FROM {self.table}"
            f" {self.where(clauses)} ORDER BY {order} LIMIT {ONLINE_LIMIT}"
        )
