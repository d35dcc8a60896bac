"""`clearinghouse serve` and `demo`: the app under gunicorn, several processes on one port.

Python answers one request at a time per process (the GIL), so a clearinghouse that should
use every core runs several worker processes; each has a few threads for requests that
wait (database, Elasticsearch).  Every worker builds its own app after the fork, so no
database or search-engine connection is shared between processes: SQLite, the embedded
index (WAL; a rebuild swaps tables inside the file) and PostgreSQL all take several
processes reading at once.

In-memory rate limits count per worker; point `CLEARINGHOUSE_RATELIMIT_STORAGE` at Redis or
Memcached to count them across workers.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

DEFAULT_THREADS = 4


def default_workers() -> int:
    """One process per core: search is CPU-bound Python, more processes only queue."""
    if hasattr(os, "sched_getaffinity"):  # the cores this process may use (containers)
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class ClearinghouseServer(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        """In each worker after the fork: a fresh app, with the gazetteer loaded up front."""
        from clearinghouse import create_app, geo

        app = create_app()
        geo.warm_up()  # not on the first visitor's search
        return app


def serve(host: str, port: int, *, workers: int, threads: int = DEFAULT_THREADS) -> None:
    """Answer on host:port until interrupted (SIGINT/SIGTERM stop it gracefully)."""
    ClearinghouseServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "keepalive": 5,
            "graceful_timeout": 10,
            "timeout": 60,
            "accesslog": None,  # the app logs what it needs, never full-precision places
            "errorlog": "-",
            "proc_name": "clearinghouse",
        }
    ).run()
