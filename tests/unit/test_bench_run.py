"""bench/run.py's own logic: the corpus loader, engines per size, the speed-up over the peer.

The bench itself is run by hand, never here; these check what it computes, not how fast."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bench.corpus_load import SOURCE, load_corpus
from bench.run import PEER, engines_by_size, markdown, speedup_over_peer
from clearinghouse import create_app
from clearinghouse.extensions import db
from clearinghouse.models import Group
from indexer.generate import generate_listings


def stored(url: str) -> dict[str, str]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test"})
    with app.app_context():
        rows = db.session.execute(
            select(Group.external_id, Group.name).where(Group.source == SOURCE)
        ).all()
        db.session.remove()
    return dict(rows)


def test_an_interrupted_load_is_completed_by_worker_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'listings.db'}"
    config = {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test"}

    first = load_corpus(config, 30, processes=1)
    assert first["records"] == 30 and "resumed_after" not in first
    rest = load_corpus(config, 70, processes=2)

    assert rest["records"] == 40 and rest["resumed_after"] == 30 and rest["processes"] == 2
    wanted = {r["external_id"]: r["name"] for r in generate_listings(70, seed=1)}
    assert stored(url) == wanted


def test_a_store_with_more_listings_than_asked_is_refused(tmp_path: Path) -> None:
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'l.db'}", "SECRET_KEY": "t"}
    load_corpus(config, 12)
    with pytest.raises(SystemExit, match="more than 10"):
        load_corpus(config, 10)


def test_only_narrows_the_engines_at_the_sizes_it_names() -> None:
    engines = ["embedded", "elasticsearch", "database"]
    chosen = engines_by_size(["750_000=elasticsearch"], [100_000, 750_000], engines)
    assert chosen == {750_000: ["elasticsearch"]}
    assert engines_by_size([], [10_000], engines) == {}


@pytest.mark.parametrize(
    ("only", "message"),
    [
        ("750000", "give SIZE=ENGINES"),
        ("big=elasticsearch", "give SIZE=ENGINES"),
        ("750000=", "give SIZE=ENGINES"),
        ("20000=elasticsearch", "not one of --sizes"),
        ("750000=solr", "solr not in --engines"),
    ],
)
def test_only_refuses_what_it_cannot_mean(only: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        engines_by_size([only], [100_000, 750_000], ["embedded", "elasticsearch"])


def figures(api: tuple[float, float], engine: tuple[float, float]) -> dict[str, Any]:
    three = {"p99": 0.0, "n": 10}
    return {
        "sequential": {
            "/api/v1/groups": {"p50": api[0], "p95": api[1], **three},
            "/search": {"p50": 1.0, "p95": 2.0, **three},
        },
        "raw_engine": {
            "p50": engine[0], "p95": engine[1], **three,
            "service": {"p50": 1.0, "p95": 1.0, **three}, "degraded": 0,
        },
        "rebuild": {"per_s": 1000},
        "index_mb": 1.0,
        "api_over_engine_p50": 1.0,
        "api_over_service_p50": 1.0,
        "edit_to_searchable": {"median_s": 0.5, "max_s": 0.9},
        "throughput": [{"ok_per_s": 10.0, "errors": 0}],
        "memory_warm": [{"pss_mb": 100.0}],
        "memory_after_16_clients": [{"pss_mb": 120.0}],
        "elastic_heap_mb": None,
    }  # fmt: skip


def test_the_speed_up_is_the_peers_time_over_ours() -> None:
    engines = {
        "embedded": figures(api=(10.0, 40.0), engine=(4.0, 20.0)),
        PEER: figures(api=(30.0, 200.0), engine=(20.0, 150.0)),
    }
    assert speedup_over_peer(engines) == {
        "embedded": {"api_p50": 3.0, "api_p95": 5.0, "engine_p50": 5.0, "engine_p95": 7.5}
    }
    assert speedup_over_peer({"embedded": engines["embedded"]}) == {}


def test_results_give_the_speed_up_per_size_and_say_where_there_is_no_peer() -> None:
    at_100k = {
        "embedded": figures(api=(10.0, 40.0), engine=(4.0, 20.0)),
        PEER: figures(api=(30.0, 200.0), engine=(20.0, 150.0)),
    }
    at_750k = {"elasticsearch": figures(api=(8.0, 16.0), engine=(3.0, 6.0))}
    load = {"per_s": 100}
    cached = {"per_s": 52, "cached": True, "measured_at": "2026-12-03T13:04:15+00:00",
              "load_average": [15.0, 16.0, 14.5], "processes": 2}  # fmt: skip
    run = {
        "started": "2026-12-03T14:05:00+00:00",
        "machine": {"cores": 2, "memory_mb": 24000, "load_start": [0.1], "load_end": [0.2]},
        "queries": 1200,
        "seed": 13,
        "skipped": [],
        "sizes": [
            {"size": 100_000, "load": load, "load_postgresql": cached, "engines": at_100k,
             "speedup_over_peer": speedup_over_peer(at_100k)},
            {"size": 750_000, "load": load, "engines": at_750k,
             "speedup_over_peer": speedup_over_peer(at_750k)},
        ],
    }  # fmt: skip
    results = Path(__file__).resolve().parents[2] / "bench" / "results" / "x.json"

    text = markdown(run, results, plotted=False)

    assert "| 3.0× / 5.0× (5.0× / 7.5×) |" in text
    assert "| 1 (the peer) |" in text
    assert "| — (no peer at this size) |" in text
    assert "API p50 30.0 ÷ 10.0 ms = 3.0×, p95 200.0 ÷ 40.0 ms = 5.0×" in text
    assert "At 750,000 the PostgreSQL peer was not measured" in text
    assert "| 100,000 | database | 52 (cached) |" in text
    assert (
        "Load /s at 100,000 (PostgreSQL): the cached store's rate, measured when it was loaded"
        " (2026-12-03T13:04:15+00:00, load average [15.0, 16.0, 14.5], 2 process(es))" in text
    )
