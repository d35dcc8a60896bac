"""`clearinghouse serve` and `demo`: the app under gunicorn, several processes on one port.

Python answers one request at a time per process (the GIL), so a clearinghouse that should
use every core runs several worker processes; each has a few threads for requests that
wait (database, Elasticsearch).  The app and the gazetteer (~200 MB) are built once, before
the fork, and shared by the workers; no database or search-engine connection is open at the
fork, so each worker opens its own.  SQLite, the embedded index (WAL; a rebuild swaps tables
inside the file) and PostgreSQL all take several processes reading at once.

In-memory rate limits count per worker; point `CLEARINGHOUSE_RATELIMIT_STORAGE` at Redis or
Memcached to count them across workers.

With `background=True` one web process also runs the background loop (`indexer/worker.py`:
outbox → search index, and later periodic jobs) in a thread, so a single machine needs no
`clearinghouse worker` beside it.  The loop starts only after the fork, in the process that
holds an exclusive lock on a file: a worker that dies releases it and another takes over.
No connection is ever opened before the fork, in the parent, for it.
"""

from __future__ import annotations

import fcntl
import gc
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger as GunicornLogger

from clearinghouse.extensions import db
from clearinghouse.logs import JsonFormatter
from clearinghouse.search import get_backend, warm_up

log = logging.getLogger(__name__)
DEFAULT_THREADS = 4
# No keep-alive, and no more connections in a process than it has threads: a gthread
# worker accepts connections while it holds fewer than `worker_connections` (a thousand by
# default), and a kept-alive connection stays with the process that accepted it, so busy
# clients can all sit on one process while another core idles (bench/memory.py, 16
# clients: one worker spent ~9x the CPU of the other).  Closed after each answer, every
# request is a new accept; a process with every thread busy stops accepting and the
# request waits in the socket's backlog for the first process free.  A proxy in front
# keeps its own connections to the clients either way.
KEEPALIVE_SECONDS = 0
LEADER_RETRY_SECONDS = 5.0


def default_workers() -> int:
    """One process per core: search is CPU-bound Python, more processes only queue."""
    if hasattr(os, "sched_getaffinity"):  # the cores this process may use (containers)
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class JsonLogger(GunicornLogger):
    """Gunicorn's own lines (start, worker boot and exit) as JSON, like the app's."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in (*self.error_log.handlers, *self.access_log.handlers):
            handler.setFormatter(JsonFormatter())


class ClearinghouseServer(BaseApplication):
    def __init__(self, app: Flask, options: dict[str, object]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        return self.application


class BackgroundLoop:
    """The background worker, run in this process only while it holds `lock_path`."""

    def __init__(self, app: Flask, lock_path: Path) -> None:
        from indexer.worker import default_worker

        self.worker = default_worker(app)
        self.lock_path = lock_path

    def start(self) -> None:
        threading.Thread(target=self._run, name="clearinghouse-worker", daemon=True).start()

    def stop(self) -> None:
        self.worker.stop()

    def _run(self) -> None:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with self.lock_path.open("a") as handle:
            while not self.worker.stopping:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:  # another process runs the loop; take over if it goes
                    self.worker.wait(LEADER_RETRY_SECONDS)
                    continue
                log.info("event=worker_in_process pid=%d", os.getpid())
                self.worker.run_forever()


def worker_lock_path(app: Flask) -> Path:
    """One loop per search index: the lock sits beside the embedded index file."""
    if app.config.get("SEARCH_ENGINE") == "embedded":
        return Path(str(app.config["INDEX_PATH"]) + ".worker.lock")
    return Path(app.instance_path) / "worker.lock"


def _worker_hooks(app: Flask, background: bool) -> dict[str, Any]:
    """Gunicorn hooks: each worker warms its search engine before it accepts a request, and
    (with `background`) starts the loop after the fork (one of the workers runs it)."""
    loops: dict[int, BackgroundLoop] = {}

    def post_worker_init(_worker: Any) -> None:
        started = time.perf_counter()
        try:
            with app.app_context():
                warm_up(app)
        except Exception as error:  # an engine that is down now may be up for the request
            log.warning("event=worker_warm_up_failed error=%s", type(error).__name__)
        log.info("event=worker_warm pid=%d took_ms=%.0f", os.getpid(), _ms_since(started))
        if background:
            loop = loops[os.getpid()] = BackgroundLoop(app, worker_lock_path(app))
            loop.start()

    def worker_exit(_server: Any, _worker: Any) -> None:
        loop = loops.pop(os.getpid(), None)
        if loop is not None:
            loop.stop()

    return {"post_worker_init": post_worker_init, "worker_exit": worker_exit}


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _warm_before_fork(app: Flask) -> None:
    """Load the embedded engine's columns once, in the parent, for every worker to share.

    Its connections are closed before the fork (each worker opens its own); what it loaded
    stays.  Other engines hold clients that must not cross the fork: they are dropped here
    and built in each worker.
    """
    with app.app_context():
        if app.config.get("SEARCH_ENGINE") == "embedded":
            started = time.perf_counter()
            warm_up(app)
            log.info("event=search_warm took_ms=%.0f", _ms_since(started))
            embedded: Any = get_backend(app)
            embedded.close()
            return
    backend = app.extensions.pop("search_backend", None)
    if backend is not None:
        backend.close()


def serve(
    app: Flask,
    host: str,
    port: int,
    *,
    workers: int,
    threads: int = DEFAULT_THREADS,
    background: bool = False,
) -> None:
    """Answer on host:port until interrupted (SIGINT/SIGTERM stop it gracefully)."""
    from clearinghouse import geo

    geo.warm_up()  # in the parent: shared by every worker, not loaded on a first search
    _warm_before_fork(app)
    with app.app_context():  # no connection may cross the fork
        db.session.remove()
        db.engine.dispose()
    gc.freeze()  # the parent's objects stay out of the workers' collections (fewer copies)
    ClearinghouseServer(
        app,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "worker_connections": threads,
            "preload_app": True,
            "keepalive": KEEPALIVE_SECONDS,
            "graceful_timeout": 10,
            "timeout": 60,
            "accesslog": None,  # the app logs what it needs, never full-precision places
            "errorlog": "-",
            "logger_class": JsonLogger,
            "proc_name": "clearinghouse",
            "control_socket_disable": True,  # no socket in $HOME; nothing here uses gunicornc
            **_worker_hooks(app, background),
        },
    ).run()
