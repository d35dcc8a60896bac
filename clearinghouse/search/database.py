"""The database engine: the search contract answered by PostgreSQL itself, no search server.

One table (`search_documents` by default) in the clearinghouse's own PostgreSQL database holds
a row per indexed group: the words as a weighted `tsvector` (GIN index), the place as
latitude and longitude (a bounding box narrows, the great-circle distance decides), every
facet value of the registry in one `text[]` column (a GIN index; counts by `GROUP BY` over
`unnest`, see `database_sql`) and the sort keys.  It is kept like any engine —
`indexer/sync.py` applies the outbox to it through `upsert` and `remove`, and `rebuild`
fills a fresh table from the live tables and swaps it in by renaming, in one transaction —
so it can answer on its own, as the primary engine (`CLEARINGHOUSE_SEARCH=database`, the
benchmark's PostgreSQL baseline), or as the fallback while Elasticsearch is down
(`search/fallback.py`), from its own outbox cursor.

Text is analysed in Python exactly as for Elasticsearch (`elastic_query.stems`: letters and
digits, accents folded, Porter stems) and handed to PostgreSQL's `simple` configuration, so
all three engines match the same words, and the words are matched and ranked as they were
understood (`SearchQuery.understood`: clauses, concern and audience weights, word starts)
as the other engines do (`database_sql`).  Like Elasticsearch it tells `read_search` which
words it holds (`known_words`) but offers no vocabulary, so misspellings are corrected
against the taxonomy's words alone; ranking among equals is `ts_rank` with the engines'
field weights (close to, not the same as, bm25).
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from clearinghouse.search.base import (
    Hit,
    ListingDoc,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    batches,
)
from clearinghouse.search.database_sql import EVERY, FACET_NAMES, SearchStatements, term
from clearinghouse.search.database_when import WHEN_COLUMNS, WHEN_DDL, WHEN_VALUES, when_row
from clearinghouse.search.elastic_query import MAX_WORD_CHARS, stem, stems

log = logging.getLogger(__name__)

BATCH = 1000
SCHEMA_COMMENT = "clearinghouse search documents v3"  # v3: terms, standing, meet_*
_TABLE = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")


def _schema(table: str, stamp: str) -> list[str]:
    """The DDL of one table generation; index names are unique per build."""
    return [
        f"""CREATE TABLE {table} (
            id bigint PRIMARY KEY,
            uuid text NOT NULL,
            updated_at text NOT NULL,
            name_sort text COLLATE "C" NOT NULL,
            lat double precision,
            lon double precision,
            remote boolean NOT NULL,
            service_area text[] NOT NULL,
            standing smallint NOT NULL DEFAULT 0,
            terms text[] NOT NULL,
            {WHEN_DDL}
            words tsvector NOT NULL
        )""",
        f"COMMENT ON TABLE {table} IS '{SCHEMA_COMMENT}'",
        f"CREATE INDEX ix_{stamp}_words ON {table} USING gin (words)",
        f"CREATE INDEX ix_{stamp}_place ON {table} (lat, lon) WHERE lat IS NOT NULL",
        f"CREATE INDEX ix_{stamp}_name ON {table} (standing, name_sort, id)",
        f"CREATE INDEX ix_{stamp}_updated ON {table} (standing, updated_at DESC, id)",
        f"CREATE INDEX ix_{stamp}_terms ON {table} USING gin (terms)",
        # The online and phone groups beside a place search, in name order, without
        # walking every document's name.
        f"CREATE INDEX ix_{stamp}_remote ON {table} (standing, name_sort, id)"
        " WHERE remote AND lat IS NULL",
        # How many documents have each term (EVERY: all of them), kept by every write, so
        # counts over the whole table are read, not counted (`database_sql`).
        f"DROP TABLE IF EXISTS {table}_counts",
        f"CREATE TABLE {table}_counts (term text PRIMARY KEY, n bigint NOT NULL)",
    ]


def _upsert_sql(table: str) -> str:
    updates = ", ".join(
        f"{column} = EXCLUDED.{column}"
        for column in (
            "uuid",
            "updated_at",
            "name_sort",
            "lat",
            "lon",
            "remote",
            "service_area",
            "standing",
            "terms",
            *WHEN_COLUMNS,
            "words",
        )
    )
    # Weights A–D: name, concerns' labels and synonyms, organisation, description.
    words = (
        "setweight(to_tsvector('simple', :name), 'A')"
        " || setweight(to_tsvector('simple', :concern_text), 'B')"
        " || setweight(to_tsvector('simple', :organization), 'C')"
        " || setweight(to_tsvector('simple', :description), 'D')"
    )
    return (
        f"INSERT INTO {table} (id, uuid, updated_at, name_sort, lat, lon, remote, service_area,"
        f" standing, terms, {', '.join(WHEN_COLUMNS)}, words) VALUES (:id, :uuid, :updated_at,"
        f" :name_sort, :lat, :lon, :remote, CAST(:service_area AS text[]), :standing,"
        f" CAST(:terms AS text[]), {WHEN_VALUES}, {words})"
        f" ON CONFLICT (id) DO UPDATE SET {updates}"
    )


def _row(doc: ListingDoc) -> dict[str, Any]:
    return {
        "id": doc.id,
        "uuid": doc.uuid,
        "updated_at": doc.updated_at,
        "name_sort": doc.name_sort,
        "lat": doc.lat if doc.has_place else None,
        "lon": doc.lon if doc.has_place else None,
        "remote": "online" in doc.attendance or "phone" in doc.attendance,
        "service_area": list(doc.service_area),
        "standing": doc.standing,
        "name": stems(doc.name),
        "concern_text": stems(doc.concern_text),
        "organization": stems(doc.organization),
        "description": stems(doc.description),
        "terms": [
            EVERY,
            *dict.fromkeys(
                term(facet, value) for facet in FACET_NAMES for value in doc.facet_values(facet)
            ),
        ],
        **when_row(doc),
    }


class DatabaseBackend:
    """`SearchBackend` on PostgreSQL; safe to share between threads (a connection pool)."""

    name = "database"

    def __init__(
        self,
        url: str,
        table: str = "search_documents",
        *,
        statement_timeout_ms: int = 10_000,
        pool_size: int = 5,
    ) -> None:
        if not _TABLE.match(table):
            raise ValueError(f"{table!r} is not a usable table name (a-z, 0-9, _)")
        if not url.startswith("postgresql"):
            raise ValueError(
                "the database search engine needs PostgreSQL; on SQLite the embedded engine "
                "is the database's own search (CLEARINGHOUSE_SEARCH=embedded)"
            )
        self.table = table
        self.statement_timeout_ms = statement_timeout_ms
        self.engine: Engine = create_engine(
            url, pool_size=pool_size, max_overflow=2 * pool_size, pool_pre_ping=True
        )
        self._schema_ready = False

    # -- connections ----------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """One read-only snapshot: every statement of a search sees the same documents."""
        self._ensure_schema()
        with self._unavailable_on_error("search"), self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                conn.execute(text("SET TRANSACTION READ ONLY"))
                conn.execute(
                    text(f"SET LOCAL statement_timeout = {int(self.statement_timeout_ms)}")
                )
                yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._unavailable_on_error("write"), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _unavailable_on_error(self, action: str) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as error:
            log.warning(
                "event=search_failed engine=database action=%s error=%s",
                action,
                type(error).__name__,
            )
            raise SearchUnavailable(
                f"the database search table {self.table} cannot be used ({action}: "
                f"{type(error).__name__})"
            ) from error

    def _ensure_schema(self) -> None:
        """Create the table on first use (and reset it if its layout is from another version)."""
        if self._schema_ready:
            return
        with self._write() as conn:
            # One process at a time: two web workers starting together must not both create.
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:t))"), {"t": self.table})
            comment = conn.scalar(
                text("SELECT obj_description(to_regclass(:t), 'pg_class')"), {"t": self.table}
            )
            if comment != SCHEMA_COMMENT:
                exists = conn.scalar(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": self.table})
                if exists:
                    log.warning(
                        "event=database_index_reset table=%s reason=schema_changed"
                        " action='run: clearinghouse index rebuild'",
                        self.table,
                    )
                    conn.execute(text(f"DROP TABLE {self.table}"))
                for statement in _schema(self.table, secrets.token_hex(4)):
                    conn.execute(text(statement))
        self._schema_ready = True

    def close(self) -> None:
        """Close the pool's connections (the table stays)."""
        self.engine.dispose()

    def drop(self) -> None:
        """Drop the table and close the pool (tests)."""
        with self._write() as conn:
            for table in (self.table, f"{self.table}_new"):
                conn.execute(text(f"DROP TABLE IF EXISTS {table}, {table}_counts"))
        self._schema_ready = False
        self.engine.dispose()

    # -- the protocol ---------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        statements = SearchStatements(self.table, query)
        params = statements.params
        with self._read() as conn:
            counts_sql = statements.counts_sql()
            counted = [] if counts_sql is None else conn.execute(text(counts_sql), params).all()
            kept: list[Any] = []
            if statements.whole_table_facet is not None:
                kept = list(conn.execute(text(statements.kept_counts_sql())).all())
            total, facets = statements.counted(list(counted), kept)
            hits: tuple[Hit, ...] = ()
            if total > query.offset:
                rows = conn.execute(text(statements.page_sql()), statements.params).all()
                hits = tuple(Hit(id=int(i), score=float(s), distance_mi=d) for i, s, d in rows)
            online: tuple[Hit, ...] = ()
            online_total = 0
            if query.near is not None:
                rows = conn.execute(text(statements.online_sql()), statements.params).all()
                online = tuple(Hit(id=int(i), score=float(s)) for i, s, _n in rows)
                online_total = int(rows[0][2]) if rows else 0
        log.debug(
            "event=search engine=database total=%d took_ms=%.1f",
            total,
            (time.perf_counter() - started) * 1000,
        )
        return SearchResult(
            hits=hits, total=total, facets=facets, online=online, online_total=online_total
        )

    def upsert(self, docs: Iterable[ListingDoc]) -> None:
        self._ensure_schema()
        sql = text(_upsert_sql(self.table))
        for batch in batches(docs, BATCH):
            rows = [_row(doc) for doc in batch]
            with self._write() as conn:
                before = self._lock_and_count(conn, [row["id"] for row in rows])
                conn.execute(sql, rows)
                after = Counter(term for row in rows for term in row["terms"])
                self._adjust_counts(conn, after, before)

    def remove(self, ids: Iterable[int]) -> None:
        self._ensure_schema()
        sql = text(f"DELETE FROM {self.table} WHERE id = ANY(CAST(:ids AS bigint[]))")
        for batch in batches(ids, BATCH):
            with self._write() as conn:
                before = self._lock_and_count(conn, batch)
                conn.execute(sql, {"ids": list(batch)})
                self._adjust_counts(conn, Counter(), before)

    def _lock_and_count(self, conn: Connection, ids: list[int]) -> Counter[str]:
        """Take the table's write lock (writers one at a time, so the kept counts stay
        exact) and count the terms the documents `ids` have now."""
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:t))"), {"t": f"{self.table}/w"})
        rows = conn.execute(
            text(
                f"SELECT term, count(*) FROM {self.table}, unnest(terms) AS term"
                " WHERE id = ANY(CAST(:ids AS bigint[])) GROUP BY term"
            ),
            {"ids": list(ids)},
        )
        return Counter({str(term): int(n) for term, n in rows})

    def _adjust_counts(self, conn: Connection, after: Counter[str], before: Counter[str]) -> None:
        changes = {term: after[term] - before[term] for term in after.keys() | before.keys()}
        changed = sorted(term for term, change in changes.items() if change)
        if not changed:
            return
        conn.execute(
            text(
                f"INSERT INTO {self.table}_counts AS kept (term, n)"
                " SELECT * FROM unnest(CAST(:terms AS text[]), CAST(:changes AS bigint[]))"
                " ON CONFLICT (term) DO UPDATE SET n = kept.n + EXCLUDED.n"
            ),
            {"terms": changed, "changes": [changes[term] for term in changed]},
        )

    def rebuild(self, docs: Iterable[ListingDoc]) -> int:
        """Fill `<table>_new`, then drop the old table and rename the new one, atomically."""
        self._ensure_schema()
        started = time.perf_counter()
        new = f"{self.table}_new"
        with self._write() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {new}"))
            for statement in _schema(new, secrets.token_hex(4)):
                conn.execute(text(statement))
        sql = text(_upsert_sql(new))
        count = 0
        for batch in batches(docs, BATCH):
            with self._write() as conn:
                conn.execute(sql, [_row(doc) for doc in batch])
            count += len(batch)
        with self._write() as conn:
            conn.execute(
                text(
                    f"INSERT INTO {new}_counts (term, n) SELECT term, count(*)"
                    f" FROM {new}, unnest(terms) AS term GROUP BY term"
                )
            )
            # Built, even with no documents at all (see `built`).
            conn.execute(
                text(f"INSERT INTO {new}_counts VALUES (:every, 0) ON CONFLICT DO NOTHING"),
                {"every": EVERY},
            )
            conn.execute(text(f"ANALYZE {new}"))
            # Searches waiting on the old table's lock look the name up again once it is free.
            conn.execute(text(f"DROP TABLE {self.table}, {self.table}_counts"))
            conn.execute(text(f"ALTER TABLE {new} RENAME TO {self.table}"))
            conn.execute(text(f"ALTER TABLE {new}_counts RENAME TO {self.table}_counts"))
        log.info(
            "event=database_rebuild table=%s documents=%d took_ms=%.0f",
            self.table,
            count,
            (time.perf_counter() - started) * 1000,
        )
        return count

    def built(self) -> bool:
        """Whether the table was ever filled (written or rebuilt) since it was created: false
        after a reset, which `indexer.sync.sync_fallback` answers with a rebuild."""
        with self._read() as conn:
            sql = f"SELECT EXISTS (SELECT 1 FROM {self.table}_counts WHERE term = :every)"
            return bool(conn.scalar(text(sql), {"every": EVERY}))

    def known_words(self, words: Iterable[str]) -> set[str]:
        """The words some document holds (as their stems), so they are never "corrected"."""
        stemmed = {word: stem(word[:MAX_WORD_CHARS]) for word in words}
        if not stemmed:
            return set()
        sql = (
            "SELECT term FROM unnest(CAST(:terms AS text[])) AS term WHERE EXISTS"
            f" (SELECT 1 FROM {self.table}"
            " WHERE words @@ to_tsquery('simple', quote_literal(term)))"
        )
        with self._read() as conn:
            found = set(conn.scalars(text(sql), {"terms": sorted(set(stemmed.values()))}))
        return {word for word, term in stemmed.items() if term in found}

    def indexed(self) -> dict[int, str]:
        with self._read() as conn:
            rows = conn.execute(text(f"SELECT id, updated_at FROM {self.table}")).all()
        return {int(id_): str(updated_at) for id_, updated_at in rows}

    def count(self) -> int:
        with self._read() as conn:
            return int(conn.scalar(text(f"SELECT count(*) FROM {self.table}")) or 0)

    def ping(self) -> bool:
        try:
            with self._read() as conn:
                conn.execute(text(f"SELECT 1 FROM {self.table} LIMIT 1")).all()
        except SearchUnavailable:
            return False
        return True


__all__ = ["DatabaseBackend"]
