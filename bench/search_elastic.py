"""Benchmark the Elasticsearch engine: rebuild N synthetic documents, time a mix of searches.

    .venv/bin/python bench/search_elastic.py --start                  # 100k, a node of its own
    .venv/bin/python bench/search_elastic.py --start --docs 750000 --heap 2g
    .venv/bin/python bench/search_elastic.py --url http://127.0.0.1:9200

The documents and the query mix are the embedded benchmark's (bench/search_embedded.py), so
the two engines' numbers compare.  `--start` runs a throwaway single-node Elasticsearch from
the distribution ./scripts/test fetched; otherwise `--url` (default $CLEARINGHOUSE_ES_URL)
names a cluster, where the benchmark uses (and then deletes) its own alias.  Reports the
rebuild time, p50/p95/max per query kind (one client), and throughput with `--clients` threads.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_timing import searched_queries, timed_mix
from search_embedded import synthetic_docs

from clearinghouse.search.base import SearchQuery
from clearinghouse.search.elastic import ElasticBackend


def throughput(backend: ElasticBackend, queries: list[SearchQuery], clients: int) -> None:
    """Searches per second with `clients` threads cycling through the mix for a few seconds."""
    done = [0] * clients
    errors: list[BaseException] = []
    stop = threading.Event()

    def client(number: int) -> None:
        position = number
        while not stop.is_set():
            try:
                backend.search(queries[position % len(queries)])
            except Exception as exc:
                errors.append(exc)
                return
            done[number] += 1
            position += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(10)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    print(
        f"throughput: {sum(done) / elapsed:.0f} searches/s with {clients} clients, "
        f"{len(errors)} errors{f' (first: {errors[0]})' if errors else ''}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200, help="searches per query kind")
    parser.add_argument("--url", default=os.environ.get("CLEARINGHOUSE_ES_URL"))
    parser.add_argument("--start", action="store_true", help="start a throwaway node")
    parser.add_argument("--heap", default="1g", help="heap of the node --start runs")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--chunk-size", type=int, default=5000)
    options = parser.parse_args()
    server = None
    if options.start:
        from tests.services.elastic import ElasticsearchServer

        server = ElasticsearchServer(heap=options.heap).start()
        options.url = server.url
    if not options.url:
        parser.error("give --url (or set CLEARINGHOUSE_ES_URL), or --start a node")
    alias = f"bench-{os.getpid()}"
    backend = ElasticBackend(options.url, alias, chunk_size=options.chunk_size)
    try:
        started = time.perf_counter()
        docs = list(synthetic_docs(options.docs))  # made apart, so the rebuild is timed alone
        print(f"generate: {len(docs)} documents in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        indexed = backend.rebuild(docs)
        print(f"rebuild: {indexed} documents in {time.perf_counter() - started:.1f} s")
        del docs
        edits = [replace(doc, name=doc.name + " (edited)") for doc in synthetic_docs(500, seed=9)]
        started = time.perf_counter()
        backend.upsert(edits)
        print(f"upsert: 500 documents in {(time.perf_counter() - started) * 1000:.0f} ms")
        queries = searched_queries()
        timed_mix("Elasticsearch", backend, queries, options.runs, warm=5)
        throughput(backend, list(queries.values()), options.clients)
    finally:
        names = list(backend.client.indices.get_alias(index=f"{alias}-*"))
        if names:
            backend.client.indices.delete(index=",".join(names))
        if server is not None:
            server.close()


if __name__ == "__main__":
    main()
