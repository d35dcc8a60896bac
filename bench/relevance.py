"""Relevance beside speed: success@3 of lay queries on the sample directory, per engine.

    .venv/bin/python bench/relevance.py                    # the embedded engine
    .venv/bin/python bench/relevance.py --es-url http://127.0.0.1:9200   # and Elasticsearch
    .venv/bin/python bench/relevance.py --start   # and a throwaway Elasticsearch node

Seeds the sample directory (`clearinghouse init` + `seed`) into a SQLite database in a
temporary folder, builds each engine's index from it, and runs every query set given
(default: the issue's `../shared/relevance/queries.json` when present and the repository's
`tests/data/relevance_queries.json`) with no place and again near `--near`.  Prints
success@3, the empty answers, each miss, and the median time per search.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from werkzeug.datastructures import MultiDict  # noqa: E402

from clearinghouse import create_app  # noqa: E402
from clearinghouse.extensions import db  # noqa: E402
from clearinghouse.search.base import SearchBackend  # noqa: E402
from clearinghouse.search.query import parse_search_args  # noqa: E402
from clearinghouse.search.relevance import evaluate, load_queries, page_concerns  # noqa: E402
from clearinghouse.search.service import run_search  # noqa: E402
from clearinghouse.taxonomy import default_taxonomy  # noqa: E402
from indexer.sync import rebuild  # noqa: E402

QUERY_SETS = [
    ROOT.parent / "shared" / "relevance" / "queries.json",
    ROOT / "tests" / "data" / "relevance_queries.json",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--es-url", help="also measure Elasticsearch at this URL")
    parser.add_argument("--start", action="store_true", help="start a throwaway node for it")
    parser.add_argument("--near", default="New York, NY", help="the place for the second run")
    parser.add_argument("queries", nargs="*", type=Path, help="query sets (JSON)")
    args = parser.parse_args()
    server = None
    if args.start:
        from tests.services import ElasticsearchServer

        server = ElasticsearchServer().start()
        args.es_url = server.url
    try:
        measure(args)
    finally:
        if server is not None:
            server.close()


def measure(args: argparse.Namespace) -> None:
    sets = args.queries or [path for path in QUERY_SETS if path.exists()]
    folder = Path(tempfile.mkdtemp(prefix="clearinghouse-relevance-"))
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'clearinghouse.db'}",
            "SEARCH_ENGINE": "embedded",
            "INDEX_PATH": str(folder / "search.db"),
            "SECRET_KEY": "bench",
            "RATELIMIT_ENABLED": False,
        }
    )
    runner = app.test_cli_runner()
    for command in (["init"], ["seed"], ["index", "rebuild"]):
        result = runner.invoke(args=command)
        if result.exit_code != 0:
            sys.exit(f"{' '.join(command)} failed:\n{result.output}")
    backends: list[SearchBackend] = [app.extensions["search_backend"]]
    if args.es_url:
        from clearinghouse.search.elastic import ElasticBackend

        es = ElasticBackend(args.es_url, f"relevance-{uuid.uuid4().hex[:8]}", refresh=True)
        with app.app_context():
            rebuild(db.session(), es, default_taxonomy())
        backends.append(es)
    for backend in backends:
        app.extensions["search_backend"] = backend
        for path in sets:
            queries = load_queries(path)
            for near in ("", args.near):
                took: list[float] = []

                def search(
                    q: str, near: str = near, took: list[float] = took
                ) -> tuple[list[tuple[str, ...]], int]:
                    pairs = [("q", q)] + ([("near", near)] if near else [])
                    started = time.perf_counter()
                    query = parse_search_args(MultiDict(pairs), default_taxonomy())
                    page = run_search(query)
                    took.append((time.perf_counter() - started) * 1000)
                    return page_concerns(page, default_taxonomy())

                with app.app_context():
                    report = evaluate(queries, search)
                where = f"near {near!r}" if near else "no place"
                print(report.summary(f"{backend.name} {path.name} {where}"))
                print(f"  median {statistics.median(took):.1f} ms per search")


if __name__ == "__main__":
    main()
