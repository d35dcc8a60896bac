"""What the engine benchmarks share: the query mix as the app searches it, timed per kind.

`search_elastic.py` and `search_database.py` (and the fallback runs in the latter) time the
same 12 kinds of query (`search_embedded.QUERIES`) on the same synthetic documents, each
query's words understood first as `read_search` does, so an engine matches and ranks by
what the words were taken to mean, as it does behind the app.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

from search_embedded import QUERIES, percentile
from werkzeug.datastructures import MultiDict

from clearinghouse.search.base import Searcher, SearchQuery
from clearinghouse.search.query import parse_search_args, search_words
from clearinghouse.search.understanding import understand
from clearinghouse.taxonomy import default_taxonomy


def searched_queries() -> dict[str, SearchQuery]:
    """Each kind of query as the service hands it to the engine (words understood)."""
    taxonomy = default_taxonomy()
    queries = {}
    for kind, args in QUERIES.items():
        query = parse_search_args(MultiDict(args), taxonomy)
        if search_words(query.q):
            query = replace(query, understood=understand(query.q, taxonomy))
        queries[kind] = query
    return queries


def timed_mix(
    name: str, engine: Searcher, queries: dict[str, SearchQuery], runs: int, warm: int = 3
) -> list[float]:
    """Print p50/p95/max (ms) per kind and overall, after `warm` searches of each; the samples."""
    everything: list[float] = []
    print(f"\n{name}")
    print(f"{'query':16} {'total':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for kind, query in queries.items():
        for _ in range(warm):
            engine.search(query)
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            result = engine.search(query)
            samples.append((time.perf_counter() - started) * 1000)
        everything += samples
        print(
            f"{kind:16} {result.total:>7} {statistics.median(samples):>8.1f}"
            f" {percentile(samples, 0.95):>8.1f} {max(samples):>8.1f}"
        )
    print(
        f"{'all':16} {'':>7} {statistics.median(everything):>8.1f}"
        f" {percentile(everything, 0.95):>8.1f} {max(everything):>8.1f}"
    )
    return everything
