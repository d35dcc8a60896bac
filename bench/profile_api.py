"""Where one `/api/v1/groups` (or `/search`) request spends its time, in this process.

    .venv/bin/python bench/profile_api.py /tmp/fastpath/listings-10000.db [-n 300] [--profile]
    .venv/bin/python bench/profile_api.py STORE --es-url URL --es-index bench-run-750000

Runs the first N queries of the seeded mix (bench/queries.py) through the Flask test client
against a store made by bench/run.py (the `.search.db` beside it is the embedded index; or,
with `--es-url`, the Elasticsearch alias `bench/run.py --keep-elastic` left behind), after a
warm pass, and prints the CPU ms per request: whole, and the parts
timed by wrapping the functions the request calls (engine, reading the words, hydration,
facets, JSON, the key check, the ETag).  `--profile` prints a pyinstrument tree instead.
The warm pass runs the first N queries of another seed's mix, as `bench/run.py` warms its
server: what is kept between requests (the engine's text scores) is not already filled with
the measured queries.  `--endpoint /search` measures the results page instead of the API.
`--dump FILE` writes each response's
parsed JSON (to compare two versions of the code).
Work on a copy of the store: it is migrated to the newest schema and written to.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from queries import query_mix

from clearinghouse import create_app
from clearinghouse.accounts import create_api_key
from clearinghouse.database import migrate
from clearinghouse.extensions import db

STAGES: dict[str, float] = defaultdict(float)
WARM_SEED = 7  # not the measured mix's seed (13)


def timed(owner: Any, name: str, stage: str) -> None:
    """Replace `owner.name` by a wrapper that adds its CPU time to STAGES[stage]."""
    original: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            STAGES[stage] += time.process_time() - started

    setattr(owner, name, wrapper)


def instrument() -> None:
    from clearinghouse.api import http, views
    from clearinghouse.search import reading, service

    wrapped: set[int] = set()

    def engine_wrapper(backend: Any) -> None:
        if id(backend) not in wrapped:
            wrapped.add(id(backend))
            timed(backend, "search", "engine")

    original_read = service.read_search

    def read_search(backend: Any, *args: Any, **kwargs: Any) -> Any:
        engine_wrapper(backend)
        return original_read(backend, *args, **kwargs)

    service.read_search = read_search
    timed(service, "read_search", "read_search (engine included)")
    timed(reading, "understand", "understand words")
    timed(views, "_hits_json", "hydrate")
    timed(service, "facet_list", "facets")
    timed(views, "json_response", "json dumps")
    timed(http, "_authenticate", "key check")
    timed(http, "_finish", "finish (gzip, etag)")
    timed(views, "parse_search_args", "parse args")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("store", type=Path)
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--all-frames", action="store_true", help="with --profile: library frames too"
    )
    parser.add_argument("--dump", type=Path)
    parser.add_argument("--es-url", help="search this Elasticsearch instead of the embedded index")
    parser.add_argument("--es-index", help="with --es-url: the alias (e.g. bench-run-750000)")
    parser.add_argument(
        "--endpoint", default="/api/v1/groups", choices=("/api/v1/groups", "/search"),
        help="the JSON API (default) or the public results page",
    )  # fmt: skip
    options = parser.parse_args()
    store = options.store.resolve()
    config = {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{store}",
        "SEARCH_ENGINE": "elasticsearch" if options.es_url else "embedded",
        "INDEX_PATH": str(store.with_suffix(".search.db")),
        "ES_URL": options.es_url or "",
        "ES_INDEX": options.es_index or "",
        "SECRET_KEY": "bench",
        "SERVER_NAME": "bench.example",
    }
    app = create_app(config)
    migrate(app)
    with app.app_context():
        _api_key, key = create_api_key(db.session(), "profile", rate_limit="100000/second")
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    paths = [q.path(options.endpoint) for q in query_mix()[: options.n]]
    for query in query_mix(options.n, seed=WARM_SEED):  # warm: the engine's columns
        client.get(query.path(options.endpoint), headers=headers)
    if options.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        for path in paths:
            client.get(path, headers=headers)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=options.all_frames))
        return
    instrument()
    times = []
    dumped = []
    for path in paths:
        started = time.process_time()
        response = client.get(path, headers=headers)
        times.append((time.process_time() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.data[:300])
        if options.dump:
            dumped.append({"path": path, "body": response.get_json()})
    n = len(paths)
    print(f"{n} requests: CPU ms per request mean {statistics.mean(times):.2f}"
          f" p50 {statistics.median(times):.2f}")  # fmt: skip
    for stage, seconds in sorted(STAGES.items(), key=lambda item: -item[1]):
        print(f"  {stage:32} {seconds * 1000 / n:7.2f} ms")
    if options.dump:
        options.dump.write_text(json.dumps(dumped, indent=None, sort_keys=True))


if __name__ == "__main__":
    main()
