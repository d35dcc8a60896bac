"""The embedded search engine: SQLite FTS5 + R*Tree in its own file, no server.

Tables: `docs` (one row per indexed group: sort keys, place, service area), `terms` (every
facet value seen, with a live count of documents), `fv` (which document has which facet
value), `fts` (FTS5, porter stemming over name, description, organisation and the concerns'
labels and lay synonyms) and `geo` (R*Tree of points).  Reads happen in one transaction per
search on a per-thread connection (WAL: readers never wait for writers); writes are
serialised by a lock.  `rebuild` fills a fresh set of `*_new` tables and swaps them in by
renaming, in one transaction, so searches answer from the old index until the instant of
the switch.  See `embedded_search` for how a query is answered.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from clearinghouse.search.base import (
    ListingDoc,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    batches,
)
from clearinghouse.search.elastic_query import stem
from clearinghouse.search.embedded_columns import ColumnCache, snapshot_position
from clearinghouse.search.embedded_search import EmbeddedSearch, ScoreCache
from clearinghouse.search.facets import FACET_NAMES

log = logging.getLogger(__name__)

TABLES = ("docs", "terms", "fv", "fts", "geo")
BATCH = 2000
SCHEMA_VERSION = "4"
# Older layouts brought up to date in place (no rebuild): version -> its DDL.  Documents
# gain the new values as they are next written, or all at once by `index rebuild`.
UPGRADES = {
    "3": (
        "ALTER TABLE docs ADD COLUMN standing INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE docs ADD COLUMN meet_zone TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE docs ADD COLUMN meet_slots TEXT NOT NULL DEFAULT ''",
    )
}
KEEP_CHANGES = 20_000
VOCABULARY_SECONDS = 300.0  # a word new to the index is corrected toward at most this late


def _schema(suffix: str, stamp: str) -> list[str]:
    """The DDL of one generation of tables; index names are unique per build."""
    s = suffix
    return [
        f"""CREATE TABLE docs{s} (
            id INTEGER PRIMARY KEY,
            uuid TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            name_sort TEXT NOT NULL,
            has_place INTEGER NOT NULL,
            lat REAL,
            lon REAL,
            remote INTEGER NOT NULL,
            service_area TEXT NOT NULL,
            standing INTEGER NOT NULL DEFAULT 0,
            meet_zone TEXT NOT NULL DEFAULT '',
            meet_slots TEXT NOT NULL DEFAULT ''
        )""",
        f"CREATE INDEX ix_docs_name_{stamp} ON docs{s} (name_sort, id)",
        f"CREATE INDEX ix_docs_updated_{stamp} ON docs{s} (updated_at, id)",
        f"""CREATE TABLE terms{s} (
            id INTEGER PRIMARY KEY,
            facet TEXT NOT NULL,
            value TEXT NOT NULL,
            n INTEGER NOT NULL DEFAULT 0,
            UNIQUE (facet, value)
        )""",
        f"""CREATE TABLE fv{s} (
            term INTEGER NOT NULL,
            doc INTEGER NOT NULL,
            PRIMARY KEY (term, doc)
        ) WITHOUT ROWID""",
        f"CREATE INDEX ix_fv_doc_{stamp} ON fv{s} (doc, term)",
        f"""CREATE VIRTUAL TABLE fts{s} USING fts5(
            name, description, organization, concern_text,
            tokenize = 'porter unicode61 remove_diacritics 2'
        )""",
        f"CREATE VIRTUAL TABLE geo{s} USING rtree(id, min_lat, max_lat, min_lon, max_lon)",
    ]


class EmbeddedBackend:
    """The SearchBackend on SQLite; safe to share between the threads of one process."""

    name = "embedded"

    def __init__(self, path: str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._connections_lock = threading.Lock()
        self._columns = ColumnCache()
        self._scores = ScoreCache()
        self._vocabulary: tuple[str, float, frozenset[str]] | None = None
        self._ensure_schema()

    # -- connections ----------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute("PRAGMA cache_size = -8192")
            self._local.conn = conn
            with self._connections_lock:
                # Threads come and go (werkzeug starts one per request): close what the
                # finished ones left behind, or each would hold two file descriptors.
                finished = [c for thread, c in self._connections if not thread.is_alive()]
                self._connections = [
                    (thread, c) for thread, c in self._connections if thread.is_alive()
                ]
                self._connections.append((threading.current_thread(), conn))
            for old in finished:
                old.close()
        return conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every statement of a search sees the same snapshot."""
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection this backend opened (tests; the app keeps one backend)."""
        with self._connections_lock:
            for _thread, conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    def _ensure_schema(self) -> None:
        with self._write() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS changes (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " doc INTEGER NOT NULL)"
            )
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', ?)",
                (secrets.token_hex(8),),
            )
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is not None and row[0] in UPGRADES:
                # Documents keep standing 0 until the worker's standing job requeues them.
                for statement in UPGRADES[row[0]]:
                    conn.execute(statement)
                conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))
                log.info("event=embedded_index_upgraded path=%s to=%s", self.path, SCHEMA_VERSION)
            elif row is None or row[0] != SCHEMA_VERSION:
                if row is not None:
                    log.warning(
                        "event=embedded_index_reset path=%s reason=schema_changed"
                        " action='run: clearinghouse index rebuild'",
                        self.path,
                    )
                _drop(conn, "")
                _drop(conn, "_new")
                for statement in _schema("", secrets.token_hex(4)):
                    conn.execute(statement)
                conn.execute("DELETE FROM changes")
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)",
                    (SCHEMA_VERSION,),
                )

    # -- the protocol ---------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        try:
            with self._read() as conn:
                position = snapshot_position(conn)
                columns = self._columns.get(conn, position)
                scores = (self._scores, position)
                result = EmbeddedSearch(conn, columns, query, scores).run()
        except sqlite3.Error as error:  # locked past the timeout, unreadable file: a 503
            log.error("event=search_failed engine=embedded path=%s error=%s", self.path, error)
            raise SearchUnavailable(f"the search index at {self.path} cannot be read") from error
        log.debug(
            "event=search engine=embedded total=%d took_ms=%.1f",
            result.total,
            (time.perf_counter() - started) * 1000,
        )
        return result

    def warm(self) -> None:
        """Load now what a first search would: the columns, both orders, the vocabulary.

        `serve` calls this before the fork (the workers share what it loaded) and again in
        each worker before it takes a request.
        """
        with self._read() as conn:
            columns = self._columns.get(conn)
        columns.name_order()
        columns.updated_rank()
        columns.facet_terms()
        self.vocabulary()

    def upsert(self, docs: Iterable[ListingDoc]) -> None:
        for batch in batches(docs, BATCH):
            with self._write() as conn:
                terms = _term_ids(conn, "")
                _delete(conn, [doc.id for doc in batch])
                added = _insert(conn, "", batch, terms)
                conn.executemany(
                    "UPDATE terms SET n = n + ? WHERE id = ?",
                    [(count, term) for term, count in added.items()],
                )
                _log_changes(conn, [doc.id for doc in batch])

    def remove(self, ids: Iterable[int]) -> None:
        for batch in batches(ids, BATCH):
            with self._write() as conn:
                _delete(conn, list(batch))
                _log_changes(conn, list(batch))

    def rebuild(self, docs: Iterable[ListingDoc]) -> int:
        started = time.perf_counter()
        stamp = secrets.token_hex(4)
        with self._write() as conn:
            _drop(conn, "_new")
            for statement in _schema("_new", stamp):
                conn.execute(statement)
        terms: dict[tuple[str, str], int] = {}
        count = 0
        for batch in batches(docs, BATCH):
            with self._write() as conn:
                _insert(conn, "_new", batch, terms)
            count += len(batch)
        with self._write() as conn:
            conn.execute(
                "UPDATE terms_new SET n = (SELECT count(*) FROM fv_new WHERE term = terms_new.id)"
            )
            _drop(conn, "")
            for table in TABLES:
                conn.execute(f"ALTER TABLE {table}_new RENAME TO {table}")
            conn.execute("DELETE FROM changes")
            conn.execute("UPDATE meta SET value = ? WHERE key = 'epoch'", (secrets.token_hex(8),))
        log.info(
            "event=embedded_rebuild documents=%d took_ms=%.0f",
            count,
            (time.perf_counter() - started) * 1000,
        )
        return count

    def vocabulary(self) -> frozenset[str]:
        """Every term the index holds (Porter stems), for correcting misspelt words; read
        again after a rebuild or after VOCABULARY_SECONDS."""
        with self._read() as conn:
            epoch = conn.execute("SELECT value FROM meta WHERE key = 'epoch'").fetchone()[0]
            cached = self._vocabulary
            if cached is not None and cached[0] == epoch and cached[1] > time.monotonic():
                return cached[2]
            conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_vocabulary"
                " USING fts5vocab(main, fts, row)"
            )
            terms = frozenset(row[0] for row in conn.execute("SELECT term FROM fts_vocabulary"))
        self._vocabulary = (epoch, time.monotonic() + VOCABULARY_SECONDS, terms)
        return terms

    def known_words(self, words: Iterable[str]) -> set[str]:
        """The words the index holds (as their stems)."""
        vocabulary = self.vocabulary()
        return {word for word in words if stem(word) in vocabulary}

    def indexed(self) -> dict[int, str]:
        with self._read() as conn:
            return dict(conn.execute("SELECT id, updated_at FROM docs").fetchall())

    def count(self) -> int:
        with self._read() as conn:
            return int(conn.execute("SELECT count(*) FROM docs").fetchone()[0])

    def ping(self) -> bool:
        try:
            with self._read() as conn:
                conn.execute("SELECT count(*) FROM meta").fetchone()
        except sqlite3.Error as error:
            log.warning("event=search_ping_failed engine=embedded error=%s", error)
            return False
        return True


# -- writing documents ---------------------------------------------------------------------


def _log_changes(conn: sqlite3.Connection, ids: list[int]) -> None:
    """Tell readers' in-memory columns which documents to re-read; keep the log short."""
    conn.executemany("INSERT INTO changes (doc) VALUES (?)", [(id_,) for id_ in ids])
    conn.execute(
        "DELETE FROM changes WHERE seq <= (SELECT max(seq) FROM changes) - ?", (KEEP_CHANGES,)
    )


def _drop(conn: sqlite3.Connection, suffix: str) -> None:
    for table in TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table}{suffix}")


def _term_ids(conn: sqlite3.Connection, suffix: str) -> dict[tuple[str, str], int]:
    rows = conn.execute(f"SELECT facet, value, id FROM terms{suffix}").fetchall()
    return {(facet, value): id_ for facet, value, id_ in rows}


def _delete(conn: sqlite3.Connection, ids: list[int]) -> None:
    """Remove documents (absent ids are fine) and take them out of the value counts."""
    params = [(id_,) for id_ in ids]
    placeholders = ",".join("?" * len(ids))
    conn.executemany(
        "UPDATE terms SET n = n - ? WHERE id = ?",
        [
            (count, term)
            for term, count in conn.execute(
                f"SELECT term, count(*) FROM fv WHERE doc IN ({placeholders}) GROUP BY term", ids
            ).fetchall()
        ],
    )
    conn.executemany("DELETE FROM fv WHERE doc = ?", params)
    conn.executemany("DELETE FROM fts WHERE rowid = ?", params)
    conn.executemany("DELETE FROM geo WHERE id = ?", params)
    conn.executemany("DELETE FROM docs WHERE id = ?", params)


def _insert(
    conn: sqlite3.Connection, suffix: str, docs: list[ListingDoc], terms: dict[tuple[str, str], int]
) -> Counter[int]:
    """Insert documents (ids not present); returns how many documents gained each term."""
    s = suffix
    conn.executemany(
        f"INSERT INTO docs{s} (id, uuid, updated_at, name_sort, has_place, lat, lon, remote,"
        " service_area, standing, meet_zone, meet_slots)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                doc.id,
                doc.uuid,
                doc.updated_at,
                doc.name_sort,
                int(doc.has_place),
                doc.lat,
                doc.lon,
                int("online" in doc.attendance or "phone" in doc.attendance),
                f",{','.join(doc.service_area)}," if doc.service_area else "",
                doc.standing,
                doc.meet_zone,
                ",".join(f"{start}-{end}" for start, end in doc.meet_slots),
            )
            for doc in docs
        ],
    )
    conn.executemany(
        f"INSERT INTO fts{s} (rowid, name, description, organization, concern_text)"
        " VALUES (?, ?, ?, ?, ?)",
        [(d.id, d.name, d.description, d.organization, d.concern_text) for d in docs],
    )
    conn.executemany(
        f"INSERT INTO geo{s} (id, min_lat, max_lat, min_lon, max_lon) VALUES (?, ?, ?, ?, ?)",
        [(d.id, d.lat, d.lat, d.lon, d.lon) for d in docs if d.has_place],
    )
    added: Counter[int] = Counter()
    pairs: list[tuple[int, int]] = []
    for doc in docs:
        for facet in FACET_NAMES:
            for value in dict.fromkeys(doc.facet_values(facet)):
                term = terms.get((facet, value))
                if term is None:
                    cursor = conn.execute(
                        f"INSERT INTO terms{s} (facet, value, n) VALUES (?, ?, 0)", (facet, value)
                    )
                    term = terms[(facet, value)] = int(cursor.lastrowid or 0)
                pairs.append((term, doc.id))
                added[term] += 1
    conn.executemany(f"INSERT INTO fv{s} (term, doc) VALUES (?, ?)", pairs)
    return added
