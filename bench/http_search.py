"""Benchmark search through the HTTP API against the raw engine query, on either engine.

    .venv/bin/python bench/http_search.py --listings 20000 --seconds 20
    .venv/bin/python bench/http_search.py                 # 100,000 listings (the target)
    .venv/bin/python bench/http_search.py --engine elasticsearch --start --listings 750000

Builds a SQLite database of N generated listings (`indexer.generate`, seed 1) and its
embedded index once, cached in --data (reused by later runs with the same N), then serves
it with `clearinghouse serve` (gunicorn, --workers processes) in a subprocess on 127.0.0.1,
creates an API key, and measures a fixed mix of queries on `/api/v1/groups` and `/search`:

- sequential latency (p50/p95/p99) per endpoint and per query kind, one client;
With `--engine elasticsearch` the same database is indexed (a full rebuild, timed) into
`--es-url` (or a throwaway node with `--start`) under an alias of its own, deleted after.

- the raw engine time for the same queries (`backend.search(query)` in this process), so
  the app's overhead (parse, hydrate from the database, serialise, HTTP) is visible;
- concurrent throughput: --clients threads for --seconds, counting errors, on the API alone,
  the page alone, then both mixed.

Only loopback traffic.  Prints the load average before and after (shared machines).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from werkzeug.datastructures import MultiDict

from clearinghouse import create_app
from clearinghouse.accounts import create_api_key
from clearinghouse.database import load_taxonomy, migrate
from clearinghouse.extensions import db
from clearinghouse.search import make_backend
from clearinghouse.search.query import parse_search_args
from clearinghouse.taxonomy import default_taxonomy

ROOT = Path(__file__).resolve().parent.parent
# A fixed, realistic mix: (kind, query arguments).  Places and concerns are ones the
# generator fills (big cities, common concerns).
QUERIES: list[tuple[str, list[tuple[str, str]]]] = [
    ("zip+radius", [("near", "60632"), ("radius", "10")]),
    ("zip+radius", [("near", "10001"), ("radius", "25")]),
    ("zip+concern+facets", [("near", "75226"), ("concern", "alcohol"), ("day", "tue"),
                            ("cost", "free")]),
    ("zip+concern+facets", [("near", "90012"), ("concern", "depression"), ("time", "evening"),
                            ("format", "peer-led")]),
    ("text", [("q", "grief")]),
    ("text", [("q", "support for parents")]),
    ("text+place", [("q", "cancer"), ("near", "Chicago, IL")]),
    ("text+place", [("q", "anxiety"), ("near", "Houston, TX"), ("radius", "50")]),
    ("page-3", [("near", "02127"), ("radius", "50"), ("page", "3")]),
    ("facets-only", [("attendance", "online"), ("language", "es")]),
    ("facets-only", [("concern", "veterans"), ("cost", "free")]),
]  # fmt: skip
ENDPOINTS = ("/api/v1/groups", "/search")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def config(folder: Path, listings: int, es_url: str = "") -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / f'listings-{listings}.db'}",
        "SEARCH_ENGINE": "elasticsearch" if es_url else "embedded",
        "INDEX_PATH": str(folder / f"listings-{listings}.search.db"),
        "ES_URL": es_url,
        "ES_INDEX": f"bench-http-{listings}",
        "SECRET_KEY": "bench",
    }


def build(folder: Path, listings: int) -> None:
    """The database and index of N generated listings; reused when already built."""
    from indexer.generate import generate_listings
    from indexer.pipeline import ingest_records
    from indexer.sync import rebuild, sync

    ready = folder / f"listings-{listings}.ready"
    if ready.exists():
        print(f"reusing {listings:,} listings in {folder}")
        return
    settings = config(folder, listings)
    for name in ("SQLALCHEMY_DATABASE_URI", "INDEX_PATH"):
        Path(settings[name].removeprefix("sqlite:///")).unlink(missing_ok=True)
    app = create_app(settings)
    migrate(app)
    taxonomy = default_taxonomy()
    with app.app_context():
        from clearinghouse.search import get_backend

        load_taxonomy(db.session(), taxonomy)
        db.session.commit()
        started = time.perf_counter()
        report = ingest_records(
            db.session, generate_listings(listings, seed=1), taxonomy=taxonomy, source="bench"
        )
        took = time.perf_counter() - started
        print(f"ingest: {report.summary()} in {took:.0f} s ({report.read / took:,.0f}/s)")
        started = time.perf_counter()
        count = rebuild(db.session(), get_backend(), taxonomy)
        sync(db.session(), get_backend(), taxonomy)
        print(f"index rebuild: {count:,} documents in {time.perf_counter() - started:.0f} s")
        db.session.remove()
    ready.write_text("ok\n")


def new_api_key(folder: Path, listings: int) -> str:
    app = create_app(config(folder, listings))
    with app.app_context():
        _api_key, key = create_api_key(db.session(), "bench", rate_limit="100000/second")
        db.session.commit()
        db.session.remove()
    return key


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def index_elasticsearch(folder: Path, listings: int, es_url: str) -> None:
    """A full rebuild of the cached database into Elasticsearch (alias bench-http-N)."""
    from indexer.sync import rebuild

    app = create_app(config(folder, listings, es_url))
    with app.app_context():
        from clearinghouse.search import get_backend

        started = time.perf_counter()
        count = rebuild(db.session(), get_backend(), default_taxonomy())
        took = time.perf_counter() - started
        print(f"elasticsearch rebuild: {count:,} documents in {took:.0f} s")
        db.session.remove()


def drop_elasticsearch(folder: Path, listings: int, es_url: str) -> None:
    from clearinghouse.search.elastic_client import client_for

    client = client_for(es_url)
    names = list(client.indices.get_alias(index=f"{config(folder, listings)['ES_INDEX']}-*"))
    if names:
        client.indices.delete(index=",".join(names))
    client.close()


def serve(
    folder: Path, listings: int, port: int, workers: int | None, es_url: str
) -> subprocess.Popen[bytes]:
    settings = config(folder, listings, es_url)
    env = {
        **os.environ,
        "CLEARINGHOUSE_DATABASE_URL": settings["SQLALCHEMY_DATABASE_URI"],
        "CLEARINGHOUSE_INDEX_PATH": settings["INDEX_PATH"],
        "CLEARINGHOUSE_SEARCH": settings["SEARCH_ENGINE"],
        "CLEARINGHOUSE_ES_URL": es_url,
        "CLEARINGHOUSE_ES_INDEX": settings["ES_INDEX"],
        "CLEARINGHOUSE_SECRET_KEY": "bench",
    }
    command = [sys.executable, "-c", "from clearinghouse.cli import main; main()", "serve",
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    if workers:
        command += ["--workers", str(workers)]
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - kept open for the subprocess
    server = subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped; see {folder / 'server.log'}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"the server did not answer in 60 s; see {folder / 'server.log'}")


class Client:
    """One keep-alive connection (reopened when the server closes it)."""

    def __init__(self, port: int, key: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {key}"}
        self.connection: http.client.HTTPConnection | None = None

    def get(self, path: str) -> tuple[int, float]:
        for attempt in range(2):
            connection = self.connection or http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=30
            )
            self.connection = connection
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=self.headers)
                response = connection.getresponse()
                response.read()
                took = time.perf_counter() - started
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    self.connection = None
                return response.status, took
            except (http.client.HTTPException, OSError):
                connection.close()
                self.connection = None
                if attempt:
                    return 0, time.perf_counter() - started
        return 0, 0.0


def paths() -> list[tuple[str, str, str]]:
    """(endpoint, kind, path) for every query on both endpoints, in a fixed order."""
    return [
        (endpoint, kind, f"{endpoint}?{urlencode(args)}")
        for kind, args in QUERIES
        for endpoint in ENDPOINTS
    ]


def row(label: str, samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return (
        f"{label:34} {len(ms):6} {statistics.median(ms):8.1f} {percentile(ms, 0.95):8.1f}"
        f" {percentile(ms, 0.99):8.1f}"
    )


def sequential(client: Client, runs: int) -> dict[tuple[str, str], list[float]]:
    times: dict[tuple[str, str], list[float]] = {}
    for _round in range(runs):
        for endpoint, kind, path in paths():
            status, took = client.get(path)
            if status != 200:
                raise SystemExit(f"GET {path} answered {status}")
            times.setdefault((endpoint, kind), []).append(took)
    return times


def raw_engine(settings: dict[str, Any], runs: int) -> dict[str, list[float]]:
    taxonomy = default_taxonomy()
    backend: Any = make_backend(settings)
    queries = [(kind, parse_search_args(MultiDict(args), taxonomy)) for kind, args in QUERIES]
    for _kind, query in queries:
        backend.search(query)  # load the columns, warm the page cache
    times: dict[str, list[float]] = {}
    for _round in range(runs):
        for kind, query in queries:
            started = time.perf_counter()
            backend.search(query)
            times.setdefault(kind, []).append(time.perf_counter() - started)
    backend.close()
    return times


def concurrent(port: int, key: str, clients: int, seconds: float, endpoints: list[str]) -> None:
    mix = [entry for entry in paths() if entry[0] in endpoints]
    stop = time.monotonic() + seconds
    results: list[tuple[int, float]] = []
    lock = threading.Lock()

    def worker(offset: int) -> None:
        client = Client(port, key)
        mine: list[tuple[int, float]] = []
        for _endpoint, _kind, path in itertools.islice(itertools.cycle(mix), offset, None):
            if time.monotonic() >= stop:
                break
            mine.append(client.get(path))
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=worker, args=(n * 3,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - started
    ok = [took for status, took in results if status == 200]
    errors = len(results) - len(ok)
    print(
        f"concurrent on {' + '.join(endpoints)}, {clients} clients for {took:.1f} s: "
        f"{len(results)} requests, "
        f"{len(ok) / took:,.0f} ok/s, {errors} errors; "
        f"p50 {statistics.median(ok) * 1000:.0f} ms, p95 {percentile(ok, 0.95) * 1000:.0f} ms"
    )


def timed(label: str, action: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    value = action()
    print(f"{label}: {time.perf_counter() - started:.1f} s")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument(
        "--data",
        default=str(Path(tempfile.gettempdir()) / "clearinghouse-bench-http"),
        help="folder for the cached database and index (default: %(default)s)",
    )
    parser.add_argument("--runs", type=int, default=20, help="sequential rounds of the mix")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--engine", choices=["embedded", "elasticsearch"], default="embedded")
    parser.add_argument("--es-url", default=os.environ.get("CLEARINGHOUSE_ES_URL", ""))
    parser.add_argument("--start", action="store_true", help="start a throwaway ES node")
    parser.add_argument("--heap", default="2g", help="heap of the node --start runs")
    parser.add_argument(
        "--workers", type=int, help="server processes (default: serve's own, one per core)"
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    options = parser.parse_args()
    folder = Path(options.data)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {load()} ({os.cpu_count()} cores)")
    build(folder, options.listings)
    es_node = None
    es_url = ""
    if options.engine == "elasticsearch":
        if options.start:
            from tests.services.elastic import ElasticsearchServer

            es_node = ElasticsearchServer(heap=options.heap).start()
            options.es_url = es_node.url
        if not options.es_url:
            parser.error(
                "--engine elasticsearch needs --es-url (or CLEARINGHOUSE_ES_URL) or --start"
            )
        es_url = options.es_url
        index_elasticsearch(folder, options.listings, es_url)
    key = new_api_key(folder, options.listings)
    port = free_port()
    server = timed(
        "server start", lambda: serve(folder, options.listings, port, options.workers, es_url)
    )
    try:
        client = Client(port, key)
        sequential(client, 2)  # warm: columns loaded, pages cached, templates compiled
        times = sequential(client, options.runs)
        raw = raw_engine(config(folder, options.listings, es_url), options.runs)
        print(f"\n{options.listings:,} listings on {options.engine}, sequential, one client:")
        print(f"{'':34} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
        for endpoint in ENDPOINTS:
            merged = [t for (e, _k), ts in times.items() if e == endpoint for t in ts]
            print(row(f"{endpoint} (all)", merged))
        print(row("raw engine (all)", [t for ts in raw.values() for t in ts]))
        for kind in dict.fromkeys(kind for kind, _args in QUERIES):
            for endpoint in ENDPOINTS:
                print(row(f"  {kind} {endpoint}", times[(endpoint, kind)]))
            print(row(f"  {kind} raw engine", raw[kind]))
        api = [t for (e, _k), ts in times.items() if e == ENDPOINTS[0] for t in ts]
        engine = [t for ts in raw.values() for t in ts]
        overhead = percentile(api, 0.95) / percentile(engine, 0.95) - 1
        print(f"API p95 over raw engine p95: {overhead:+.0%}\n")
        for endpoints in ([ENDPOINTS[0]], [ENDPOINTS[1]], list(ENDPOINTS)):
            concurrent(port, key, options.clients, options.seconds, endpoints)
    finally:
        server.terminate()
        server.wait(timeout=10)
        if es_url:
            drop_elasticsearch(folder, options.listings, es_url)
        if es_node is not None:
            es_node.close()
    print(f"load average at end: {load()}")


if __name__ == "__main__":
    main()
