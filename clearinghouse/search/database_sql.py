"""The database engine's SQL for one SearchQuery (pure: strings and bound parameters, no I/O).

Three statements answer a search: the total and every facet's counts in one (a `GROUP BY`
per facet over `unnest` of its column; a selected facet is counted without its own filter,
so counts are disjunctive as the contract says), the page in the requested order, and for a
place search the online and phone groups that serve its region.  Values always travel as
bound parameters; only the table name and the registry's column names are spelt into SQL.
"""

from __future__ import annotations

from typing import Any

from clearinghouse.search.base import SearchQuery
from clearinghouse.search.database_when import soonest_key, when_clause
from clearinghouse.search.elastic_query import MAX_WORD_CHARS, stem
from clearinghouse.search.embedded_search import EARTH_RADIUS_MI, ONLINE_LIMIT, bounding_box
from clearinghouse.search.facets import FACETS
from clearinghouse.search.query import search_words

# Facet name -> its text[] column (the registry's names are identifiers already).
FACET_COLUMNS = {spec.name: f"f_{spec.name}" for spec in FACETS}
# ts_rank weights for D, C, B, A (description, organisation, concerns, name): the engines'
# field weights 1, 2, 5, 10 scaled into PostgreSQL's 0–1.
RANK_WEIGHTS = "{0.1, 0.2, 0.5, 1.0}"


def tsquery(q: str) -> str | None:
    """A to_tsquery text for q: every word's stem required, the last one also as a prefix.

    The words are those the other engines match (`search_words`, letters and digits only, so
    no tsquery operator or quote can get in), stemmed as the documents were.
    """
    stemmed = [stem(word[:MAX_WORD_CHARS]) for word in search_words(q)]
    if not stemmed:
        return None
    terms = [f"'{term}'" for term in stemmed]
    terms[-1] += ":*"  # "caregiv" finds "caregivers", as FTS5's "word"* does
    return " & ".join(terms)


class SearchStatements:
    """The SQL and parameters of one search on `table`."""

    def __init__(self, table: str, query: SearchQuery) -> None:
        self.table = table
        self.query = query
        self.params: dict[str, Any] = {}
        self.text = tsquery(query.q)
        if self.text is not None:
            self.params["tsq"] = self.text
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
        self.when = when_clause(query, self.params) if query.starts_within else None

    # -- pieces ---------------------------------------------------------------------------

    @property
    def score(self) -> str:
        if self.text is None:
            return "0.0"
        return f"ts_rank('{RANK_WEIGHTS}', words, to_tsquery('simple', :tsq))"

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
        """The text and the place: what every count and hit is within."""
        clauses = []
        if self.text is not None:
            clauses.append("words @@ to_tsquery('simple', :tsq)")
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
        """The requested order, after the listing's standing (documents.standing_of)."""
        query = self.query
        if query.sort == "distance" and query.near is not None:
            return "standing, distance, id"
        if query.sort == "updated":
            return "standing, updated_at DESC, id"
        if query.sort == "soonest":
            return f"standing, {soonest_key(query, self.params)}, name_sort, id"
        if query.sort == "relevance" and self.text is not None:
            return "standing, score DESC, name_sort, id"
        return "standing, name_sort, id"

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
        if self.text is not None:
            clauses.append("words @@ to_tsquery('simple', :tsq)")
        clauses += self.selections()
        if self.when is not None:
            clauses.append(self.when)
        order = "standing, " + ("score DESC, name_sort, id" if self.text else "name_sort, id")
        if self.query.sort == "soonest":
            order = self.order()
        return (
            f"SELECT id, {self.score} AS score, count(*) OVER () FROM {self.table}"
            f" {self.where(clauses)} ORDER BY {order} LIMIT {ONLINE_LIMIT}"
        )
