"""Search: one contract (SearchQuery → SearchResult), three engines, chosen by settings.

`get_backend` is the configured engine (what the outbox, `index` commands and staff saves
write to).  `get_fallback` is the database engine that answers while Elasticsearch is down
(PostgreSQL's `database` engine, or the embedded one beside SQLite), None when there is
none.  `get_search` is what searches ask: the configured engine, behind the fallback and its
circuit breaker when there is a fallback.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, Response, current_app, g

from clearinghouse.search.base import SearchBackend, Searcher

DEGRADED_HEADER = "X-Search-Degraded"


def init_app(app: Flask) -> None:
    """Record how to build the engines; they are built on first use, never at import time."""
    app.extensions["search_backend"] = None
    app.extensions["search_fallback"] = None
    app.extensions["search_breaker"] = None
    app.after_request(_mark_degraded)


def make_backend(config: dict[str, Any]) -> SearchBackend:
    engine = config["SEARCH_ENGINE"]
    if engine == "elasticsearch":
        from clearinghouse.search.elastic import ElasticBackend

        # With a fallback, a search that takes longer than its budget is answered by it.
        budget = float(config.get("SEARCH_TIMEOUT", 1.5)) if has_fallback(config) else None
        return ElasticBackend(
            str(config["ES_URL"]),
            str(config["ES_INDEX"]),
            replicas=int(str(config.get("ES_REPLICAS", 0))),
            search_timeout=budget,
        )
    if engine == "database":
        return _database_backend(config)
    from clearinghouse.search.embedded import EmbeddedBackend

    return EmbeddedBackend(str(config["INDEX_PATH"]))


def has_fallback(config: dict[str, Any]) -> bool:
    """A fallback serves searches only in front of Elasticsearch, and only when not switched off."""
    return config["SEARCH_ENGINE"] == "elasticsearch" and bool(config.get("SEARCH_FALLBACK", True))


def make_fallback(config: dict[str, Any]) -> SearchBackend | None:
    """The database's own engine: PostgreSQL's `database` engine, or SQLite's embedded one."""
    if not has_fallback(config):
        return None
    if str(config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        return _database_backend(config)
    from clearinghouse.search.embedded import EmbeddedBackend

    return EmbeddedBackend(str(config["INDEX_PATH"]))


def _database_backend(config: dict[str, Any]) -> SearchBackend:
    from clearinghouse.search.database import DatabaseBackend

    return DatabaseBackend(str(config["SQLALCHEMY_DATABASE_URI"]))


# The engines are built on first use by whichever request thread comes first: one builds,
# the others wait (two embedded engines would each load every document's columns).
_building = threading.Lock()


def get_backend(app: Flask | None = None) -> SearchBackend:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    backend = app.extensions.get("search_backend")
    if backend is None:
        with _building:
            backend = app.extensions.get("search_backend")
            if backend is None:
                backend = make_backend(app.config)
                app.extensions["search_backend"] = backend
    return backend


def get_fallback(app: Flask | None = None) -> SearchBackend | None:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    fallback = app.extensions.get("search_fallback")
    if fallback is None and has_fallback(app.config):
        with _building:
            fallback = app.extensions.get("search_fallback")
            if fallback is None:
                fallback = make_fallback(app.config)
                app.extensions["search_fallback"] = fallback
    return fallback


def warm_up(app: Flask) -> None:
    """Build the engine and load what its first search would need (when it has a `warm`)."""
    warm = getattr(get_backend(app), "warm", None)
    if warm is not None:
        warm()


def get_search(app: Flask | None = None) -> Searcher:
    """What answers searches: the engine, behind the fallback when there is one."""
    from clearinghouse.search.fallback import CircuitBreaker, FallbackSearch

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    backend = get_backend(app)
    fallback = get_fallback(app)
    if fallback is None:
        return backend
    breaker = app.extensions.get("search_breaker")
    if breaker is None:
        breaker = CircuitBreaker(
            int(app.config.get("SEARCH_BREAKER_FAILURES", 3)),
            float(app.config.get("SEARCH_BREAKER_COOL_DOWN", 15.0)),
        )
        app.extensions["search_breaker"] = breaker
    return FallbackSearch(backend, fallback, breaker)


def note_degraded() -> None:
    """Mark this request as answered by the fallback engine (the response says so)."""
    g.search_degraded = True


def _mark_degraded(response: Response) -> Response:
    """Every response built from a degraded search says so, and is not kept by caches."""
    if g.get("search_degraded"):
        response.headers[DEGRADED_HEADER] = "1"
        response.headers["Cache-Control"] = "no-store"
    return response
