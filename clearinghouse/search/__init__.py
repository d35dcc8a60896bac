"""Search: one contract (SearchQuery → SearchResult), two engines, chosen by settings."""

from __future__ import annotations

from flask import Flask, current_app

from clearinghouse.search.base import SearchBackend


def init_app(app: Flask) -> None:
    """Record how to build the engine; it is built on first use, never at import time."""
    app.extensions["search_backend"] = None


def make_backend(config: dict[str, object]) -> SearchBackend:
    engine = config["SEARCH_ENGINE"]
    if engine == "elasticsearch":
        from clearinghouse.search.elastic import ElasticBackend

        return ElasticBackend(
            str(config["ES_URL"]),
            str(config["ES_INDEX"]),
            replicas=int(str(config.get("ES_REPLICAS", 0))),
        )
    from clearinghouse.search.embedded import EmbeddedBackend

    return EmbeddedBackend(str(config["INDEX_PATH"]))


def get_backend(app: Flask | None = None) -> SearchBackend:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    backend = app.extensions.get("search_backend")
    if backend is None:
        backend = make_backend(app.config)
        app.extensions["search_backend"] = backend
    return backend
