"""Benchmark the database engine (PostgreSQL tsvector + GIN) beside the other engines.

    .venv/bin/python bench/search_database.py --start --docs 100000 --beside embedded
    .venv/bin/python bench/search_database.py --url postgresql+psycopg://… --beside elasticsearch \
        --es-url http://127.0.0.1:9200   # or --start-es: a throwaway node

The same synthetic documents and query mix as `search_embedded.py` and `search_elastic.py`,
so the figures line up.  The database engine is the fallback while Elasticsearch is down and
the PostgreSQL peer baseline of the speed benchmark (the same code, `search/database.py`);
the last table is what a searcher waits for during an outage: the query answered through
`FallbackSearch` with Elasticsearch refusing connections (breaker closed: the refusal is
paid, then the database answers) and with the breaker open (straight to the database).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_timing import searched_queries, timed_mix
from search_embedded import synthetic_docs

from clearinghouse.search.database import DatabaseBackend
from clearinghouse.search.elastic import ElasticBackend
from clearinghouse.search.fallback import CircuitBreaker, FallbackSearch


def load(name: str, backend: object, docs: int) -> None:
    started = time.perf_counter()
    indexed = backend.rebuild(synthetic_docs(docs))  # type: ignore[attr-defined]
    print(f"{name} rebuild: {indexed} documents in {time.perf_counter() - started:.1f} s")
    edits = [replace(doc, name=doc.name + " (edited)") for doc in synthetic_docs(500, seed=9)]
    started = time.perf_counter()
    backend.upsert(edits)  # type: ignore[attr-defined]
    print(f"{name} upsert: 500 documents in {(time.perf_counter() - started) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50, help="searches per query kind")
    parser.add_argument("--url", help="PostgreSQL SQLAlchemy URL (a table bench_<pid> is used)")
    parser.add_argument("--start", action="store_true", help="start a throwaway PostgreSQL")
    parser.add_argument(
        "--beside",
        action="append",
        default=[],
        choices=["embedded", "elasticsearch"],
        help="also load and time this engine on the same documents (repeatable)",
    )
    parser.add_argument("--es-url", default=os.environ.get("CLEARINGHOUSE_ES_URL"))
    parser.add_argument(
        "--start-es", action="store_true", help="start a throwaway Elasticsearch node (1 GB heap)"
    )
    options = parser.parse_args()
    logging.disable(logging.WARNING)  # the outage runs log every refused request
    server = None
    if options.start:
        from tests.services.postgres import PostgresServer

        server = PostgresServer().start()
        options.url = server.url
    es_node = None
    if options.start_es:
        from tests.services.elastic import ElasticsearchServer

        es_node = ElasticsearchServer(heap="1g").start()
        options.es_url = es_node.url
    if not options.url:
        parser.error("give --url postgresql+psycopg://…, or --start a throwaway server")
    if "elasticsearch" in options.beside and not options.es_url:
        parser.error("--beside elasticsearch needs --es-url (or CLEARINGHOUSE_ES_URL)")
    queries = searched_queries()
    print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    database = DatabaseBackend(options.url, f"bench_{os.getpid()}")
    elastic = None
    try:
        load("database", database, options.docs)
        timed_mix("database engine (PostgreSQL)", database, queries, options.runs)
        if "embedded" in options.beside:
            from clearinghouse.search.embedded import EmbeddedBackend

            folder = tempfile.mkdtemp(prefix="bench-database-")
            embedded = EmbeddedBackend(str(Path(folder) / "search.db"))
            load("embedded", embedded, options.docs)
            timed_mix("embedded engine (SQLite)", embedded, queries, options.runs)
            embedded.close()
        if "elasticsearch" in options.beside:
            elastic = ElasticBackend(options.es_url, f"bench-db-{os.getpid()}")
            load("elasticsearch", elastic, options.docs)
            timed_mix("Elasticsearch", elastic, queries, options.runs)
        # Elasticsearch down: a port nothing listens on refuses every request.
        dead = ElasticBackend("http://127.0.0.1:9", "down", timeout=1.5)
        closed = CircuitBreaker(failures_to_open=10**9)  # never opens: every search pays
        timed_mix(
            "outage, breaker closed (refused, then the database)",
            FallbackSearch(dead, database, closed),
            queries,
            options.runs,
        )
        opened = CircuitBreaker(failures_to_open=1, cool_down=10**9)
        timed_mix(
            "outage, breaker open (straight to the database)",
            FallbackSearch(dead, database, opened),
            queries,
            options.runs,
        )
    finally:
        database.drop()
        if elastic is not None:
            names = list(elastic.client.indices.get_alias(index=f"{elastic.alias}-*"))
            if names:
                elastic.client.indices.delete(index=",".join(names))
        if server is not None:
            server.stop()
        if es_node is not None:
            es_node.close()
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
