"""Every speed figure, side by side per engine and corpus size, in one run (issue 13).

    .venv/bin/python bench/run.py --sizes 10000 --engines embedded
    .venv/bin/python bench/run.py --sizes 10000,100000 --engines embedded,elasticsearch --start
    .venv/bin/python bench/run.py --sizes 100000,750000 \\
        --engines embedded,elasticsearch,database --only 750000=elasticsearch \\
        --start --es-heap 3g --database-url postgresql+psycopg://…/bench

Per size: the corpus (`indexer.generate`, seed 1) is loaded into a SQLite store once and
cached in --data (the load rate is the one measured then, kept beside it; --fresh reloads;
an interrupted load is completed; --load-processes N loads with N workers: bench/corpus_load.py).
`--only SIZE=ENGINES` measures only some of --engines at that size.
Per engine: a full rebuild (documents/s); `clearinghouse serve` on 127.0.0.1; the fixed mix
of bench/queries.py (>= 1,000 distinct queries) once on /api/v1/groups and once on /search,
sequentially, beside the raw engine time (`backend.search`) for the same queries; edit ->
searchable (a staff-style save through the store, applied by serve's worker loop, polled on
the API); throughput with 1, 4 and 16 clients; worker RSS/PSS (/proc/<pid>/smaps_rollup)
after warm-up and after 16 clients; the Elasticsearch heap; the index size.

The `database` engine (PostgreSQL) searches the store itself, so it needs --database-url:
the corpus is loaded there too.  `fallback` is an Elasticsearch outage as production would
live it: the app configured for Elasticsearch (with the README's fallback settings) at a
port nothing listens on, so every search is answered by the database engine through
`FallbackSearch` and its circuit breaker (labelled degraded), on the same PostgreSQL store.
An engine name this checkout does not know (`clearinghouse.config.SEARCH_ENGINES`) is
skipped with a message.

With the `database` engine at a size (the PostgreSQL peer: tsvector + GIN, bounding box +
great-circle distance, GROUP BY facets), every other engine's speed-up over it (peer time ÷
ours, p50 and p95, API and raw engine) is in the JSON and the table.

Writes bench/results/<date>-<time>.json and appends a section to bench/RESULTS.md, with a
plot (bench/results/p95-by-size.png) of API p95 against corpus size per engine (the peer
dashed) from every full-mix results file.  Run by hand, never in the test suite.  Only
loopback traffic.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus_load import SOURCE, load_corpus
from queries import BenchQuery, query_mix
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from clearinghouse import create_app
from clearinghouse.accounts import create_api_key
from clearinghouse.config import SEARCH_ENGINES
from clearinghouse.database import migrate
from clearinghouse.extensions import db
from clearinghouse.models import Group, GroupStatus
from clearinghouse.search.query import parse_search_args
from clearinghouse.taxonomy import default_taxonomy

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ENDPOINTS = ("/api/v1/groups", "/search")
CLIENT_COUNTS = (1, 4, 16)
WARM = 100  # warm-up queries per endpoint, from another seed's mix
FULL_MIX = 1000  # queries: fewer is a dry run, left out of the plot
EDITS = 5


def machine_load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def memory_total_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024)
    return 0.0


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def ms(samples: list[float]) -> dict[str, float]:
    values = [s * 1000 for s in samples]
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 2),
        "p95": round(percentile(values, 0.95), 2),
        "p99": round(percentile(values, 0.99), 2),
    }


# -- the corpus and the engines ---------------------------------------------------------


OUTAGE = "fallback"  # Elasticsearch down, the database engine answering (see the docstring)


def settings(folder: Path, size: int, engine: str, options: argparse.Namespace) -> dict[str, Any]:
    store = f"sqlite:///{folder / f'listings-{size}.db'}"
    if engine in ("database", OUTAGE):
        store = options.database_url
    es_url = options.es_url
    if engine == OUTAGE:
        es_url = f"http://127.0.0.1:{free_port()}"  # nothing listens: every request is refused
    return {
        "SQLALCHEMY_DATABASE_URI": store,
        "SEARCH_ENGINE": "elasticsearch" if engine == OUTAGE else engine,
        "BENCH_ENGINE": engine,
        "INDEX_PATH": str(folder / f"listings-{size}.search.db"),
        "ES_URL": es_url,
        "ES_INDEX": f"bench-run-{size}",
        "SECRET_KEY": "bench",
    }


def load_postgresql(
    folder: Path, config: dict[str, Any], size: int, processes: int = 1
) -> dict[str, Any]:
    """The corpus in the PostgreSQL store the database engine searches; reused when there
    (with the load rate measured when it was loaded, kept in --data), completed when a load
    was interrupted (see bench/corpus_load.py)."""
    url = config["SQLALCHEMY_DATABASE_URI"]
    ready = folder / f"listings-{size}.postgresql.load.json"
    count = bench_listings(url)
    if count == size:
        print(f"  reusing the {size:,} listings already in the PostgreSQL store")
        kept = json.loads(ready.read_text()) if ready.exists() else {}
        if kept.pop("url", None) != url:  # the URL stays out of the results (a password?)
            kept = {"records": size, "per_s": None}  # loaded elsewhere: rate unknown
        return {**kept, "cached": True}
    if count > size:
        raise SystemExit(f"the PostgreSQL store holds {count:,} bench listings, not {size:,}")
    figures = load_corpus(config, size, processes)
    figures.update(url=url, measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
                   load_average=machine_load())  # fmt: skip
    ready.write_text(json.dumps(figures))
    del figures["url"]
    return {**figures, "cached": False}


def bench_listings(url: str) -> int:
    """How many generated listings a store holds (0 for an empty database)."""
    from sqlalchemy import create_engine, inspect

    from clearinghouse.models import Group

    engine = create_engine(url)
    count = 0
    if inspect(engine).has_table("groups"):
        with engine.connect() as connection:
            query = select(func.count()).select_from(Group).where(Group.source == SOURCE)
            count = connection.scalar(query) or 0
    engine.dispose()
    return count


def corpus(folder: Path, size: int, options: argparse.Namespace) -> dict[str, Any]:
    """The cached SQLite store of N listings, with the load rate measured when it was built.

    A store without its load.json is a load that was interrupted: it is completed (the
    listings already there are skipped), unless --fresh."""
    ready = folder / f"listings-{size}.load.json"
    if ready.exists() and not options.fresh:
        print(f"  reusing the store of {size:,} listings in {folder}")
        migrate(create_app(settings(folder, size, "embedded", options)))  # a newer schema
        return {**json.loads(ready.read_text()), "cached": True}
    store = Path(settings(folder, size, "embedded", options)["SQLALCHEMY_DATABASE_URI"][10:])
    if options.fresh:
        ready.unlink(missing_ok=True)
        for stale in (
            store,
            store.with_name(store.name + "-wal"),
            store.with_name(store.name + "-shm"),
        ):
            stale.unlink(missing_ok=True)
    elif store.exists():
        print(f"  completing the interrupted load of {store}")
    config = settings(folder, size, "embedded", options)
    figures = load_corpus(config, size, options.load_processes)
    figures["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    figures["load_average"] = machine_load()
    ready.write_text(json.dumps(figures))
    return {**figures, "cached": False}


def store_bodies(config: dict[str, Any]) -> dict[str, Any]:
    """The stored public bodies a store lacks (one loaded before they existed), made as
    `clearinghouse index rebuild` makes them, before anything is measured; none when the
    store has them all."""
    from clearinghouse import bodies

    app = create_app(config)
    with app.app_context():
        started = time.perf_counter()
        made = bodies.make_missing(db.session())
        took = time.perf_counter() - started
        db.session.remove()
    if made:
        print(f"  public bodies stored: {made:,} in {took:.1f} s")
    return {"made": made, "seconds": round(took, 1)}


def rebuild_engine(config: dict[str, Any]) -> dict[str, Any]:
    """A full rebuild of the engine that answers (in an outage, the fallback)."""
    from clearinghouse.search import get_backend, get_fallback
    from indexer.sync import FALLBACK_STATE_NAME, rebuild, sync, sync_fallback

    app = create_app(config)
    with app.app_context():
        started = time.perf_counter()
        if config["BENCH_ENGINE"] == OUTAGE:
            fallback = get_fallback()
            assert fallback is not None, "the outage run needs the database fallback"
            count = rebuild(db.session(), fallback, default_taxonomy(), FALLBACK_STATE_NAME)
            took = time.perf_counter() - started
            sync_fallback(db.session(), fallback, default_taxonomy())
        else:
            count = rebuild(db.session(), get_backend(), default_taxonomy())
            took = time.perf_counter() - started
            sync(db.session(), get_backend(), default_taxonomy())
        db.session.remove()
    print(f"  rebuild: {count:,} documents in {took:.1f} s")
    return {"documents": count, "seconds": round(took, 1), "per_s": round(count / took)}


def index_there(config: dict[str, Any]) -> bool:
    """Whether --reuse-index can search the index already there: the embedded file, or an
    Elasticsearch alias (left by --keep-elastic) holding as many documents as the store."""
    if config["BENCH_ENGINE"] == "embedded":
        return Path(config["INDEX_PATH"]).exists()
    if config["BENCH_ENGINE"] != "elasticsearch":
        return False
    from clearinghouse.search.elastic_client import client_for

    client = client_for(config["ES_URL"])
    try:
        if not client.indices.exists_alias(name=config["ES_INDEX"]):
            return False
        indexed = int(client.count(index=config["ES_INDEX"])["count"])
    finally:
        client.close()
    app = create_app(config)
    with app.app_context():
        active = db.session.scalar(
            select(func.count()).select_from(Group).where(Group.status == GroupStatus.ACTIVE)
        )
        db.session.remove()
    return indexed == active


def level_fallback(config: dict[str, Any]) -> float | None:
    """Build the fallback engine before the server starts, as `clearinghouse index rebuild`
    does; otherwise the server's worker builds it (minutes at 750,000) while being measured.
    Returns the seconds it took, or None when there is no fallback or it was already built."""
    from clearinghouse.search import get_fallback
    from indexer.sync import FALLBACK_STATE_NAME, needs_building, rebuild, sync_fallback

    if config["BENCH_ENGINE"] == OUTAGE:
        return None  # rebuild_engine built it: it is the engine that answers
    app = create_app(config)
    with app.app_context():
        fallback = get_fallback()
        if fallback is None or not needs_building(db.session(), fallback):
            db.session.remove()
            return None
        started = time.perf_counter()
        count = rebuild(db.session(), fallback, default_taxonomy(), FALLBACK_STATE_NAME)
        sync_fallback(db.session(), fallback, default_taxonomy())
        took = round(time.perf_counter() - started, 1)
        db.session.remove()
    print(f"  fallback ({fallback.name}) built before serving: {count:,} documents in {took} s")
    return took


def index_size_mb(config: dict[str, Any]) -> float | None:
    engine = config["BENCH_ENGINE"]
    if engine == "embedded":
        base = Path(config["INDEX_PATH"])
        files = [base, *(base.with_name(base.name + s) for s in ("-wal", "-shm"))]
        return round(sum(f.stat().st_size for f in files if f.exists()) / 2**20, 1)
    if engine == "elasticsearch":
        from clearinghouse.search.elastic_client import client_for

        client = client_for(config["ES_URL"])
        stats = client.indices.stats(index=config["ES_INDEX"], metric="store")
        client.close()
        return round(stats["_all"]["primaries"]["store"]["size_in_bytes"] / 2**20, 1)
    return database_size_mb(config)


def database_size_mb(config: dict[str, Any]) -> float:
    """The database engine's table, its indexes and its kept counts, in the store."""
    from sqlalchemy import create_engine, text

    engine = create_engine(config["SQLALCHEMY_DATABASE_URI"])
    with engine.connect() as connection:
        size = connection.scalar(
            text(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
                " WHERE c.relkind = 'r' AND c.relname IN"
                " ('search_documents', 'search_documents_counts')"
            )
        )
    engine.dispose()
    return round(int(size or 0) / 2**20, 1)


def elastic_cpu_seconds(url: str) -> float | None:
    """CPU seconds the Elasticsearch node(s) have used so far (node stats), or None."""
    if not url:
        return None
    from clearinghouse.search.elastic_client import client_for

    client = client_for(url)
    try:
        nodes = client.nodes.stats(metric="process")["nodes"].values()
    finally:
        client.close()
    return sum(n["process"]["cpu"]["total_in_millis"] for n in nodes) / 1000


def elastic_heap_mb(config: dict[str, Any]) -> float | None:
    if config["BENCH_ENGINE"] != "elasticsearch":
        return None
    from clearinghouse.search.elastic_client import client_for

    client = client_for(config["ES_URL"])
    nodes = client.nodes.stats(metric="jvm")["nodes"].values()
    client.close()
    return round(sum(n["jvm"]["mem"]["heap_used_in_bytes"] for n in nodes) / 2**20, 1)


def elastic_segments(config: dict[str, Any]) -> int | None:
    """Segments behind the alias now: each search visits every one (a rebuild merges them)."""
    if config["BENCH_ENGINE"] != "elasticsearch":
        return None
    from clearinghouse.search.elastic_client import client_for

    client = client_for(config["ES_URL"])
    stats = client.indices.stats(index=config["ES_INDEX"], metric="segments")
    client.close()
    return int(stats["_all"]["primaries"]["segments"]["count"])


def drop_elastic(config: dict[str, Any]) -> None:
    from clearinghouse.search.elastic_client import client_for

    client = client_for(config["ES_URL"])
    names = list(client.indices.get_alias(index=f"{config['ES_INDEX']}-*"))
    if names:
        client.indices.delete(index=",".join(names))
    client.close()


# -- the server and its clients ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def serve(config: dict[str, Any], folder: Path, port: int) -> subprocess.Popen[bytes]:
    """`clearinghouse serve` (one process per core), with the worker loop in one of them."""
    env = {
        **os.environ,
        "CLEARINGHOUSE_DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "CLEARINGHOUSE_INDEX_PATH": config["INDEX_PATH"],
        "CLEARINGHOUSE_SEARCH": config["SEARCH_ENGINE"],
        "CLEARINGHOUSE_ES_URL": config["ES_URL"],
        "CLEARINGHOUSE_ES_INDEX": config["ES_INDEX"],
        "CLEARINGHOUSE_SECRET_KEY": "bench",
    }
    # --worker: the outbox loop in one web process for every engine (serve's default is
    # embedded only, expecting `clearinghouse worker` beside Elasticsearch).
    command = [sys.executable, "-c", "from clearinghouse.cli import main; main()", "serve",
               "--host", "127.0.0.1", "--port", str(port), "--worker"]  # fmt: skip
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - kept open for the subprocess
    server = subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped; see {folder / 'server.log'}")
        try:
            with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"the server did not answer in 120 s; see {folder / 'server.log'}")


def api_total(port: int, key: str, path: str) -> int:
    request = Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {key}"})
    try:
        with urlopen(request, timeout=10) as response:
            return int(json.loads(response.read())["meta"]["total"])
    except OSError:
        return -1


def in_threads(work: Callable[[Any], None], shares: list[Any]) -> tuple[float, float]:
    """`work(share)` in a thread per share, all at once: the wall seconds until the last one
    ends, and the CPU seconds this (client) process spent meanwhile."""
    threads = [threading.Thread(target=work, args=(share,)) for share in shares]
    started, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, time.process_time() - cpu


def server_pids(server_pid: int) -> list[int]:
    """The server's processes: gunicorn's master and workers, or the one process."""
    pids = [server_pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) in pids:
            pids.append(int(stat.parent.name))
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def worker_memory(server_pid: int) -> list[dict[str, float]]:
    """RSS and PSS (MB) of the server's processes: gunicorn's workers, or the one process."""
    figures = [smaps(pid) for pid in server_pids(server_pid)]
    return [{key: f[key] for key in ("pid", "rss_mb", "pss_mb")} for f in figures if f]


def smaps(pid: int) -> dict[str, float] | None:
    """RSS, PSS and private (dirty + clean) MB of one process; None once it is gone."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return None
    kb = {line.split(":")[0]: int(line.split()[1]) for line in rollup[1:]}
    return {
        "pid": pid,
        "rss_mb": round(kb["Rss"] / 1024, 1),
        "pss_mb": round(kb["Pss"] / 1024, 1),
        "private_mb": round((kb["Private_Dirty"] + kb["Private_Clean"]) / 1024, 1),
    }


# -- the measurements -------------------------------------------------------------------


def sequential(client: Client, mix: list[BenchQuery]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for endpoint in ENDPOINTS:
        times, errors = [], 0
        for query in mix:
            status, took = client.get(query.path(endpoint))
            if status == 200:
                times.append(took)
            else:
                errors += 1
        figures[endpoint] = {**ms(times), "errors": errors}
        print(f"  {endpoint}: {figures[endpoint]}")
    return figures


def raw_engine(config: dict[str, Any], mix: list[BenchQuery]) -> dict[str, Any]:
    """Two engine-side figures for the same queries, in this process, no HTTP or hydration:

    `engine`: one `backend.search` of the query as the app first searches it (the words
    already understood, outside the timer); `service`: `read_search` whole, i.e. every engine
    call the app makes for it (understanding, a spelling retry, a relaxed retry).
    """
    from dataclasses import replace

    from clearinghouse.search import get_search
    from clearinghouse.search.query import search_words
    from clearinghouse.search.reading import read_search
    from clearinghouse.search.understanding import understand

    taxonomy = default_taxonomy()
    app = create_app(config)  # an engine may need the app (the database engine its session)
    context = app.app_context()
    context.push()
    backend: Any = get_search(app)  # in an outage: the fallback, through its breaker
    queries = [parse_search_args(MultiDict(list(q.args)), taxonomy) for q in mix]
    searched = [
        replace(query, understood=understand(query.q, taxonomy)) if search_words(query.q) else query
        for query in queries
    ]
    for query in queries[:50]:
        read_search(backend, query, taxonomy)  # load the columns
    engine, service = [], []
    degraded = 0
    for query, as_searched in zip(queries, searched, strict=True):
        started = time.perf_counter()
        degraded += backend.search(as_searched).degraded
        engine.append(time.perf_counter() - started)
        started = time.perf_counter()
        read_search(backend, query, taxonomy)
        service.append(time.perf_counter() - started)
    for engine_in_use in {getattr(backend, name, backend) for name in ("primary", "fallback")}:
        engine_in_use.close()
    db.session.remove()
    context.pop()
    figures = {**ms(engine), "service": ms(service), "degraded": degraded}
    print(f"  raw engine: {figures}")
    return figures


def edit_to_searchable(config: dict[str, Any], port: int, key: str) -> dict[str, Any]:
    """A staff-style save (validate, geocode, store with audit + outbox, commit), then poll
    the API until serve's worker loop has applied it to the engine."""

    from clearinghouse import store
    from clearinghouse.geocoding import geocode_listing
    from clearinghouse.listings import validate_listing
    from clearinghouse.staff.records import group_record

    app = create_app(config)
    nonce = random.Random(time.time_ns())
    delays = []
    with app.app_context():
        groups = db.session.scalars(
            select(Group).where(Group.status == GroupStatus.ACTIVE).order_by(Group.id).limit(EDITS)
        ).all()
        for group in groups:
            word = "zebu" + "".join(nonce.choice(string.ascii_lowercase) for _ in range(8))
            record = group_record(group)
            earlier = [w for w in record["name"].split() if not w.startswith("zebu")]
            record["name"] = " ".join([*earlier, word])  # a word no engine has seen yet
            validation = validate_listing(record, default_taxonomy())
            assert validation.data is not None, validation.errors
            data, _notes = geocode_listing(validation.data)
            store.apply_listing(db.session, data, actor="bench", group=group)
            db.session.commit()
            saved = time.perf_counter()
            path = f"/api/v1/groups?q={word}&exact=1"
            while time.perf_counter() - saved < 30:
                if api_total(port, key, path) >= 1:
                    break
                time.sleep(0.05)
            delays.append(time.perf_counter() - saved)
        db.session.remove()
    figures = {"edits": len(delays), "median_s": round(statistics.median(delays), 2),
               "max_s": round(max(delays), 2)}  # fmt: skip
    print(f"  edit -> searchable: {figures}")
    return figures


def throughput(
    server: subprocess.Popen[bytes],
    port: int,
    key: str,
    mix: list[BenchQuery],
    clients: int,
    seconds: float,
    spy: Path | None = None,
    es_url: str = "",
) -> dict:
    """Requests a second from `clients` threads, and the CPU the server spent on each; with
    `spy`, py-spy samples the server's processes meanwhile (collapsed stacks, idle included)."""
    paths = [q.path(e) for q in mix for e in ENDPOINTS]
    pids = server_pids(server.pid)
    sampler = None
    if spy is not None:
        sampler = subprocess.Popen(
            [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(server.pid),
             "--subprocesses", "--idle", "--format", "raw", "--rate", "200",
             "--duration", str(int(seconds)), "--output", str(spy), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1)  # attached before the clients start
    stop = time.monotonic() + seconds
    results: list[tuple[int, float]] = []
    lock = threading.Lock()

    def work(offset: int) -> None:
        client = Client(port, key)
        mine = []
        index = offset
        while time.monotonic() < stop:
            mine.append(client.get(paths[index % len(paths)]))
            index += 1
        with lock:
            results.extend(mine)

    server_cpu, elastic_cpu = cpu_seconds(pids), elastic_cpu_seconds(es_url)
    took, client_cpu = in_threads(work, [n * 97 for n in range(clients)])
    server_cpu = cpu_seconds(pids) - server_cpu
    if elastic_cpu is not None:
        elastic_cpu = (elastic_cpu_seconds(es_url) or 0.0) - elastic_cpu
    if sampler is not None:
        sampler.wait(timeout=seconds + 60)
    ok = [t for status, t in results if status == 200]
    # The clients share the server's cores: their own CPU time says how much they took.
    figures = {"clients": clients, "requests": len(results), "ok_per_s": round(len(ok) / took, 1),
               "errors": len(results) - len(ok),
               "client_cpu_s": round(client_cpu, 2), "server_cpu_s": round(server_cpu, 2),
               "server_cpu_ms_per_request": round(1000 * server_cpu / max(len(results), 1), 2),
               **ms(ok)}  # fmt: skip
    if elastic_cpu is not None:
        figures["elastic_cpu_ms_per_request"] = round(1000 * elastic_cpu / max(len(results), 1), 2)
    print(f"  throughput: {figures}")
    return figures


def new_api_key(config: dict[str, Any]) -> str:
    app = create_app(config)
    with app.app_context():
        _api_key, key = create_api_key(db.session(), "bench", rate_limit="100000/second")
        db.session.commit()
        db.session.remove()
    return key


def measure_engine(
    config: dict[str, Any], folder: Path, mix: list[BenchQuery], options: Any
) -> dict[str, Any]:
    seconds = options.seconds
    if options.reuse_index and index_there(config):
        print(f"  reusing the {config['BENCH_ENGINE']} index (rebuild not measured)")
        figures: dict[str, Any] = {"rebuild": {"documents": None, "seconds": None, "per_s": 0}}
    else:
        figures = {"rebuild": rebuild_engine(config)}
    figures["fallback_build_s"] = level_fallback(config)
    figures["index_mb"] = index_size_mb(config)
    figures["elastic_segments"] = elastic_segments(config)
    key = new_api_key(config)
    port = free_port()
    started = time.perf_counter()
    server = serve(config, folder, port)
    figures["server_start_s"] = round(time.perf_counter() - started, 1)
    try:
        client = Client(port, key)
        # Warm (columns loaded, templates compiled, a rebuilt Elasticsearch index's segments
        # read) with queries of another seed, so no cache holds the measured queries' answers.
        for query in query_mix(WARM, options.seed + 1):
            for endpoint in ENDPOINTS:
                client.get(query.path(endpoint))
        figures["memory_warm"] = worker_memory(server.pid)
        figures["sequential"] = sequential(client, mix)
        figures["raw_engine"] = raw_engine(config, mix)
        api, raw = figures["sequential"][ENDPOINTS[0]], figures["raw_engine"]
        figures["api_over_engine_p50"] = round(api["p50"] / raw["p50"], 2)
        figures["api_over_service_p50"] = round(api["p50"] / raw["service"]["p50"], 2)
        figures["edit_to_searchable"] = edit_to_searchable(config, port, key)
        spy = (
            options.spy / f"spy-{config['ES_INDEX']}-{config['SEARCH_ENGINE']}.txt"
            if options.spy
            else None
        )
        figures["throughput"] = [
            throughput(
                server,
                port,
                key,
                mix,
                n,
                seconds,
                spy if n == max(CLIENT_COUNTS) else None,
                config["ES_URL"] if config["BENCH_ENGINE"] == "elasticsearch" else "",
            )
            for n in CLIENT_COUNTS
        ]
        figures["memory_after_16_clients"] = worker_memory(server.pid)
        figures["elastic_heap_mb"] = elastic_heap_mb(config)
    finally:
        server.terminate()
        server.wait(timeout=20)
    return figures


def run_size(
    size: int, engines: list[str], folder: Path, mix: list[BenchQuery], options: Any
) -> dict[str, Any]:
    print(f"\n{size:,} listings")
    result: dict[str, Any] = {"size": size, "load": corpus(folder, size, options), "engines": {}}
    result["bodies"] = store_bodies(settings(folder, size, "embedded", options))
    for engine in engines:
        print(f" {engine}")
        config = settings(folder, size, engine, options)
        if engine in ("database", OUTAGE):
            result["load_postgresql"] = load_postgresql(
                folder, config, size, options.load_processes
            )
            result["bodies_postgresql"] = store_bodies(config)
        try:
            result["engines"][engine] = measure_engine(config, folder, mix, options)
        finally:
            if engine == "elasticsearch" and not options.keep_elastic:
                drop_elastic(config)
    result["speedup_over_peer"] = speedup_over_peer(result["engines"])
    return result


PEER = "database"  # the straightforward PostgreSQL search (tsvector + GIN, GROUP BY facets)


def speedup_over_peer(engines: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per engine, the peer's time ÷ ours (2.0: twice as fast as the PostgreSQL peer), at the
    p50 and p95 of the API and of the raw engine, for the same queries in the same run."""
    peer = engines.get(PEER)
    if peer is None:
        return {}
    ratios = {}
    for engine, figures in engines.items():
        if engine == PEER:
            continue
        ratio = {}
        for name, ours, theirs in (
            ("api", figures["sequential"][ENDPOINTS[0]], peer["sequential"][ENDPOINTS[0]]),
            ("engine", figures["raw_engine"], peer["raw_engine"]),
        ):
            for at in ("p50", "p95"):
                if ours[at] > 0:
                    ratio[f"{name}_{at}"] = round(theirs[at] / ours[at], 1)
        ratios[engine] = ratio
    return ratios


def usable_engines(names: list[str], options: Any) -> tuple[list[str], list[str]]:
    """The engines this run can measure, and why each of the others is skipped."""
    usable, skipped = [], []
    for name in names:
        if name == OUTAGE and not options.database_url.startswith("postgresql"):
            skipped.append(f"{name}: the database engine answers from PostgreSQL; --database-url")
        elif name == OUTAGE:
            usable.append(name)
        elif name not in SEARCH_ENGINES:
            skipped.append(f"{name}: this checkout knows only {', '.join(SEARCH_ENGINES)}")
        elif name == "elasticsearch" and not options.es_url:
            skipped.append(f"{name}: give --es-url (or CLEARINGHOUSE_ES_URL) or --start")
        elif name == "database" and not options.database_url.startswith("postgresql"):
            skipped.append(f"{name}: it searches a PostgreSQL store; give --database-url")
        else:
            usable.append(name)
    for note in skipped:
        print(f"skipping {note}")
    return usable, skipped


def engines_by_size(only: list[str], sizes: list[int], engines: list[str]) -> dict[int, list[str]]:
    """--only SIZE=ENGINES, e.g. ["750000=elasticsearch"]: the engines measured at each size
    named (the others measure every engine of --engines)."""
    chosen: dict[int, list[str]] = {}
    for item in only:
        size_text, equals, names_text = item.partition("=")
        try:
            size = int(size_text.replace("_", "").replace(",", ""))
        except ValueError:
            size = 0
        names = [name.strip() for name in names_text.split(",") if name.strip()]
        if not equals or size <= 0 or not names:
            raise ValueError(f"--only {item!r}: give SIZE=ENGINES, e.g. 750000=elasticsearch")
        if size not in sizes:
            raise ValueError(f"--only {item!r}: {size:,} is not one of --sizes")
        if unknown := [name for name in names if name not in engines]:
            raise ValueError(f"--only {item!r}: {', '.join(unknown)} not in --engines")
        chosen[size] = names
    return chosen


def write_results(run: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{run['started'][:19].replace(':', '')}.json"
    path.write_text(json.dumps(run, indent=1) + "\n")
    return path


def plot(path: Path) -> bool:
    """API p95 against corpus size per engine and for the PostgreSQL peer (dashed), from
    every results file of a full mix (the newest per point)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no plot: matplotlib is in the `bench` extra (pip install -e '.[bench]')")
        return False
    points: dict[str, dict[int, float]] = {}
    for results in sorted(RESULTS.glob("*.json")):
        run = json.loads(results.read_text())
        if run.get("queries", 0) < FULL_MIX:  # memory.py's files have no mix: not points
            continue  # a dry run (e.g. --queries 100) is no point on the curve
        for size in run["sizes"]:
            for engine, figures in size["engines"].items():
                p95 = figures["sequential"][ENDPOINTS[0]]["p95"]
                points.setdefault(engine, {})[size["size"]] = p95
    figure, axes = plt.subplots(figsize=(6, 4))
    for engine, by_size in sorted(points.items()):
        sizes = sorted(by_size)
        label = "database: the PostgreSQL peer" if engine == PEER else engine
        style = "--" if engine == PEER else "-"
        axes.plot(sizes, [by_size[s] for s in sizes], style, marker="o", label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")  # the peer's p95 is an order of magnitude above the engines'
    axes.set_xlabel("listings")
    axes.set_ylabel("/api/v1/groups p95, ms")
    axes.set_title("API p95 by corpus size (bench/run.py)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return True


def markdown(run: dict[str, Any], results: Path, plotted: bool) -> str:
    lines = [
        f"## bench/run.py, {run['started'][:16]} UTC",
        "",
        f"Machine: {run['machine']['cores']} cores, {run['machine']['memory_mb']:,} MB; load "
        f"average {run['machine']['load_start']} at the start, {run['machine']['load_end']} at "
        f"the end. Mix: {run['queries']} distinct queries (seed {run['seed']}), once per "
        f"endpoint, one client. Figures: `{results.relative_to(ROOT)}`.",
        "",
        "| Listings | Engine | Load /s | Rebuild docs/s | Index MB | API p50/p95/p99 ms "
        "| /search p50/p95/p99 ms | Raw engine p50/p95/p99 ms | read_search p50/p95/p99 ms "
        "| API ÷ engine (÷ read_search), p50 "
        "| Edit → searchable median/max s | 1 / 4 / 16 clients ok/s (errors) "
        "| Server PSS MB, all processes: warm → after 16 clients | ES heap MB "
        "| × faster than the PostgreSQL peer: API p50 / p95 (raw engine p50 / p95) |",
        "|" + "---|" * 15,
    ]

    def three(f: dict[str, float]) -> str:
        return f"{f['p50']:.1f} / {f['p95']:.1f} / {f['p99']:.1f}"

    def faster(size: dict[str, Any], engine: str) -> str:
        if engine == PEER:
            return "1 (the peer)"
        ratio = size.get("speedup_over_peer", {}).get(engine)
        if not ratio:
            return "— (no peer at this size)"
        return (
            f"{ratio.get('api_p50', '—')}× / {ratio.get('api_p95', '—')}× "
            f"({ratio.get('engine_p50', '—')}× / {ratio.get('engine_p95', '—')}×)"
        )

    for size in run["sizes"]:
        for engine, f in size["engines"].items():
            load = size.get("load_postgresql") if engine in ("database", OUTAGE) else size["load"]
            cached = " (cached)" if load and load.get("cached") else ""
            pss = [
                sum(p["pss_mb"] for p in f[k]) for k in ("memory_warm", "memory_after_16_clients")
            ]
            clients = " / ".join(f"{t['ok_per_s']:.0f} ({t['errors']})" for t in f["throughput"])
            edit = f["edit_to_searchable"]
            index_mb = f["index_mb"] if f["index_mb"] is not None else "—"
            api, page = f["sequential"][ENDPOINTS[0]], f["sequential"][ENDPOINTS[1]]
            lines.append(
                f"| {size['size']:,} | {engine} | {(load or {}).get('per_s') or '—'}{cached} "
                f"| {f['rebuild']['per_s']:,} | {index_mb} "
                f"| {three(api)} | {three(page)} "
                f"| {three(f['raw_engine'])} | {three(f['raw_engine']['service'])} "
                f"| {f['api_over_engine_p50']}× ({f['api_over_service_p50']}×) "
                f"| {edit['median_s']} / {edit['max_s']} | {clients} "
                f"| {pss[0]:.0f} → {pss[1]:.0f} | {f['elastic_heap_mb'] or '—'} "
                f"| {faster(size, engine)} |"
            )
    for size in run["sizes"]:
        for store, load in (("SQLite", size["load"]), ("PostgreSQL", size.get("load_postgresql"))):
            if load and load.get("cached"):
                when = load.get("measured_at", "an earlier run")
                how = f", load average {load['load_average']}" if "load_average" in load else ""
                lines += ["", f"Load /s at {size['size']:,} ({store}): the cached store's rate, "
                          f"measured when it was loaded ({when}{how}, "
                          f"{load.get('processes', 1)} process(es)), not in this run."]  # fmt: skip
        peer = size["engines"].get(PEER)
        for engine, ratio in size.get("speedup_over_peer", {}).items():
            if not ratio or peer is None:
                continue
            ours = size["engines"][engine]["sequential"][ENDPOINTS[0]]
            theirs = peer["sequential"][ENDPOINTS[0]]
            lines += ["", f"Speed-up over the PostgreSQL peer at {size['size']:,}, {engine}: API "
                      f"p50 {theirs['p50']:.1f} ÷ {ours['p50']:.1f} ms = {ratio['api_p50']}×, "
                      f"p95 {theirs['p95']:.1f} ÷ {ours['p95']:.1f} ms = {ratio['api_p95']}×; "
                      f"raw engine p50 {ratio['engine_p50']}×, p95 {ratio['engine_p95']}× "
                      "(same queries, same run, one client)."]  # fmt: skip
        if peer is None and size["engines"]:
            lines += ["", f"At {size['size']:,} the PostgreSQL peer was not measured: no "
                      "speed-up over it at this size."]  # fmt: skip
    for size in run["sizes"]:
        for engine, f in size["engines"].items():
            if engine == OUTAGE:
                lines += ["", f"{engine} at {size['size']:,}: Elasticsearch refusing connections;"
                          f" {f['raw_engine']['degraded']} of {f['raw_engine']['n']} engine"
                          " searches were answered by the database engine (degraded)."]  # fmt: skip
    if plotted:
        lines += ["", "![API p95 by corpus size](results/p95-by-size.png)"]
    for note in run["skipped"]:
        lines += ["", f"Skipped: {note}"]
    lines += ["", "Reading: (to be written by whoever ran it: what the figures say, and what "
              "the load average means for them.)", ""]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000", help="corpus sizes, comma-separated")
    parser.add_argument(
        "--engines", default="embedded", help="embedded,elasticsearch,database,fallback"
    )
    parser.add_argument(
        "--data",
        default=str(Path(tempfile.gettempdir()) / "clearinghouse-bench-run"),
        help="folder for the cached stores and indexes (default: %(default)s)",
    )
    parser.add_argument("--fresh", action="store_true", help="reload the corpus, do not reuse it")
    parser.add_argument("--queries", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--seconds", type=float, default=10.0, help="per throughput step")
    parser.add_argument("--es-url", default=os.environ.get("CLEARINGHOUSE_ES_URL", ""))
    parser.add_argument("--start", action="store_true", help="start a throwaway ES node")
    parser.add_argument(
        "--spy",
        type=Path,
        help="folder: py-spy samples the server during each 16-client step (bench/spy.py reads it)",
    )
    parser.add_argument(
        "--keep-elastic", action="store_true",
        help="leave each size's index (alias bench-run-SIZE) for bench/profile_api.py --es-url",
    )  # fmt: skip
    parser.add_argument(
        "--es-heap", "--heap", dest="heap", default="1g",
        help="heap of the node --start runs (default: %(default)s; 2g or more for 750,000)",
    )  # fmt: skip
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SIZE=ENGINES",
        help="at SIZE, measure only these of --engines (e.g. 750000=elasticsearch); repeatable",
    )
    parser.add_argument(
        "--load-processes",
        type=int,
        default=1,
        help="worker processes loading a corpus not yet cached (see bench/corpus_load.py)",
    )
    parser.add_argument("--database-url", default="", help="PostgreSQL for the database engine")
    parser.add_argument("--no-markdown", action="store_true", help="do not touch RESULTS.md")
    parser.add_argument(
        "--reuse-index",
        action="store_true",
        help="search the embedded index already in --data (built from the same store), or the "
        "Elasticsearch index --keep-elastic left, instead of rebuilding it; the rebuild rate "
        "is then not measured",
    )
    options = parser.parse_args()
    sizes = [int(size.replace("_", "")) for size in options.sizes.split(",")]
    requested = [name.strip() for name in options.engines.split(",") if name.strip()]
    try:
        only = engines_by_size(options.only, sizes, requested)
    except ValueError as error:
        parser.error(str(error))
    folder = Path(options.data)
    folder.mkdir(parents=True, exist_ok=True)
    run: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cores": os.cpu_count(),
            "memory_mb": memory_total_mb(),
            "load_start": machine_load(),
        },
        "queries": options.queries,
        "seed": options.seed,
        "sizes": [],
        "skipped": [],
    }
    print(f"load average at start: {run['machine']['load_start']}")
    es_node = None
    if "elasticsearch" in requested and options.start:
        from tests.services.elastic import ElasticsearchServer

        es_node = ElasticsearchServer(heap=options.heap).start(timeout=600)  # a busy machine
        options.es_url = es_node.url
    engines, run["skipped"] = usable_engines(requested, options)
    mix = query_mix(options.queries, options.seed)
    try:
        for size in sizes:
            at_size = [name for name in engines if name in only.get(size, engines)]
            run["sizes"].append(run_size(size, at_size, folder, mix, options))
    finally:
        if es_node is not None:
            es_node.close()
    run["machine"]["load_end"] = machine_load()
    print(f"load average at end: {run['machine']['load_end']}")
    results = write_results(run)
    plotted = plot(RESULTS / "p95-by-size.png")
    if not options.no_markdown:
        with (ROOT / "bench" / "RESULTS.md").open("a") as out:
            out.write("\n" + markdown(run, results, plotted))
    print(f"wrote {results}")


if __name__ == "__main__":
    main()
