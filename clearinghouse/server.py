"""`clearinghouse serve` and `demo`: the app under gunicorn, several processes on one port.

Python answers one request at a time per process (the GIL), so a clearinghouse that should
use every core runs several worker processes; each has a few threads for requests that
wait (database, Elasticsearch).  The app and the gazetteer (~200 MB) are built once, before
the fork, and shared by the workers; no database or search-engine connection is open at the
fork, so each worker opens its own.  SQLite, the embedded index (WAL; a rebuild swaps tables
inside the file) and PostgreSQL all take several processes reading at once.

In-memory rate limits count per worker; point `CLEARINGHOUSE_RATELIMIT_STORAGE` at Redis or
Memcached to count them across workers.
"""

from __future__ import annotations

import gc
import os

from flask import Flask
from gunicorn.app.base import BaseApplication

from clearinghouse.extensions import db

DEFAULT_THREADS = 4


def default_workers() -> int:
    """One process per core: search is CPU-bound Python, more processes only queue."""
    if hasattr(os, "sched_getaffinity"):  # the cores this process may use (containers)
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


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


def serve(
    app: Flask, host: str, port: int, *, workers: int, threads: int = DEFAULT_THREADS
) -> None:
    """Answer on host:port until interrupted (SIGINT/SIGTERM stop it gracefully)."""
    from clearinghouse import geo

    geo.warm_up()  # in the parent: shared by every worker, not loaded on a first search
    with app.app_context():  # no connection may cross the fork
        db.session.remove()
        db.engine.dispose()
    backend = app.extensions.pop("search_backend", None)
    if backend is not None:
        backend.close()
    gc.freeze()  # the parent's objects stay out of the workers' collections (fewer copies)
    ClearinghouseServer(
        app,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "preload_app": True,
            "keepalive": 5,
            "graceful_timeout": 10,
            "timeout": 60,
            "accesslog": None,  # the app logs what it needs, never full-precision places
            "errorlog": "-",
            "proc_name": "clearinghouse",
            "control_socket_disable": True,  # no socket in $HOME; nothing here uses gunicornc
        },
    ).run()
