"""The embedded engine's own rules: safe FTS5 queries, distances, and staying current across
processes (the sync command writes, the web server reads) and threads."""

from __future__ import annotations

import random
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from geopy.distance import great_circle
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from clearinghouse.extensions import db
from clearinghouse.models import SearchMiss, utcnow
from clearinghouse.search.base import ListingDoc, SearchQuery, SearchUnavailable
from clearinghouse.search.embedded import EmbeddedBackend
from clearinghouse.search.embedded_columns import bitset, ids_of
from clearinghouse.search.embedded_search import (
    ScoreCache,
    bounding_box,
    haversine_mi,
    match_expression,
)
from clearinghouse.search.query import parse_search_args
from clearinghouse.search.service import record_miss
from clearinghouse.search.understanding import understand
from clearinghouse.taxonomy import default_taxonomy


def doc(id_: int, name: str = "Grief Circle", **fields: object) -> ListingDoc:
    values: dict[str, object] = {
        "id": id_,
        "uuid": f"uuid-{id_}",
        "name": name,
        "description": "A peer group.",
        "organization": "",
        "concern_text": "Grief & Loss grief bereavement",
        "concerns": ("grief-loss",),
        "format": "peer-led",
        "attendance": ("in-person",),
        "days": ("tue",),
        "times": ("evening",),
        "languages": ("en",),
        "cost": "free",
        "audience": (),
        "accessibility": (),
        "lat": 41.9,
        "lon": -87.65,
        "service_area": (),
        "region": "IL",
        "updated_at": f"2026-01-01T00:00:{id_ % 60:02d}.000000",
        "name_sort": name.casefold(),
    }
    values.update(fields)
    return ListingDoc(**values)  # type: ignore[arg-type]


def query(*pairs: tuple[str, str]) -> SearchQuery:
    return parse_search_args(MultiDict(list(pairs)), default_taxonomy())


@pytest.mark.parametrize(
    "text", ['"', "(", "*", "\\", "AND", "NEAR(a b)", "a OR b", "x:y", "😀", "'; --", "^", "-a"]
)
def test_match_expressions_are_always_valid_fts5(text: str) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(a, tokenize='porter unicode61')")
    expression = match_expression(text)
    if expression is not None:
        conn.execute("SELECT * FROM t WHERE t MATCH ?", (expression,)).fetchall()


def test_match_expression_quotes_words_and_prefixes_the_last() -> None:
    assert match_expression('grief "AND" paren(ts') == '"grief" "paren" "ts"*'
    assert match_expression("the and of") is None


def test_haversine_agrees_with_geopy_great_circle() -> None:
    rng = random.Random(3)
    for _ in range(200):
        a = (rng.uniform(25, 60), rng.uniform(-125, -60))
        b = (rng.uniform(25, 60), rng.uniform(-125, -60))
        assert haversine_mi(*a, *b) == pytest.approx(great_circle(a, b).miles, rel=1e-4)


@pytest.mark.parametrize("miles", [0.01, 300.0])
@pytest.mark.parametrize("lat", [0.0, 41.9, 64.8, 71.0, 89.95, -89.95])
def test_bounding_box_holds_the_whole_circle(lat: float, miles: float) -> None:
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, -100.0, miles)
    for bearing in range(0, 360, 5):
        point = great_circle(miles=miles).destination((lat, -100.0), bearing)
        assert min_lat <= point.latitude <= max_lat
        assert min_lon <= point.longitude <= max_lon


@pytest.mark.parametrize(
    ("lon", "miles"), [(179.9, 30.0), (-179.9, 30.0), (179.5, 300.0), (-179.5, 300.0)]
)
def test_bounding_box_across_the_antimeridian_holds_the_whole_circle(
    lon: float, miles: float
) -> None:
    min_lat, max_lat, min_lon, max_lon = bounding_box(0.0, lon, miles)
    for bearing in range(0, 360, 5):
        point = great_circle(miles=miles).destination((0.0, lon), bearing)
        assert min_lat <= point.latitude <= max_lat
        assert min_lon <= point.longitude <= max_lon


def test_bounding_box_is_barely_wider_than_the_circle() -> None:
    # 10 miles is 0.1448 degrees of latitude; at 41.9 degrees north, 0.1945 of longitude.
    min_lat, max_lat, min_lon, max_lon = bounding_box(41.9, -87.65, 10.0)
    assert 0.1448 < 41.9 - min_lat == max_lat - 41.9 < 0.1448 * 1.02
    assert 0.1945 < -87.65 - min_lon == max_lon + 87.65 < 0.1945 * 1.03


def test_words_and_a_place_find_only_the_groups_with_the_words_inside_the_radius(
    tmp_path: Path,
) -> None:
    backend = EmbeddedBackend(str(tmp_path / "index.db"))
    backend.upsert(
        [
            doc(1, "Alcohol Group", concern_text="Alcohol", concerns=("alcohol",)),
            doc(2),
            doc(3, "Alcohol Circle", concern_text="Alcohol", concerns=("alcohol",)),
            doc(4),
            doc(5, lat=45.0, lon=-93.0),  # Minneapolis: has the words, outside the radius
        ]
    )
    result = backend.search(query(("q", "grief"), ("lat", "41.9"), ("lon", "-87.65")))
    assert sorted(hit.id for hit in result.hits) == [2, 4]
    assert result.total == 2
    backend.close()


def test_words_alone_rank_a_name_match_above_a_description_match(tmp_path: Path) -> None:
    backend = EmbeddedBackend(str(tmp_path / "index.db"))
    plain = {"concern_text": "", "concerns": ()}
    backend.upsert(
        [
            doc(1, "Alpha Circle", description="Grief shared.", **plain),
            doc(2, "Zeta Grief Circle", **plain),
        ]
    )
    result = backend.search(query(("q", "grief")))
    assert [hit.id for hit in result.hits] == [2, 1]
    assert result.hits[0].score > result.hits[1].score > 0
    backend.close()


def test_a_concern_the_words_name_finds_and_ranks_groups_that_have_it(tmp_path: Path) -> None:
    backend = EmbeddedBackend(str(tmp_path / "index.db"))
    backend.upsert(
        [
            doc(1, "Quiet Circle", concern_text="", concerns=("grief-loss",)),  # no such word
            doc(2, "Open Circle", description="On bereavement.", concern_text="", concerns=()),
            doc(3, "Other Circle", concern_text="", concerns=("alcohol",)),
        ]
    )
    words = query(("q", "bereavement"))
    understood = replace(words, understood=understand(words.q, default_taxonomy()))
    assert [hit.id for hit in backend.search(understood).hits] == [1, 2]
    backend.close()


def test_a_group_exactly_at_the_radius_is_inside(tmp_path: Path) -> None:
    backend = EmbeddedBackend(str(tmp_path / "index.db"))
    backend.upsert([doc(1, lat=41.95, lon=-87.7)])
    edge = haversine_mi(41.9, -87.65, 41.95, -87.7)
    around = [("lat", "41.9"), ("lon", "-87.65")]
    assert backend.search(query(*around, ("radius", repr(edge)))).total == 1
    assert backend.search(query(*around, ("radius", repr(edge * 0.999)))).total == 0
    backend.close()


def test_a_parent_concern_finds_its_childrens_groups_from_the_taxonomy(tmp_path: Path) -> None:
    # The query's taxonomy decides what a parent holds, not the parents a document was
    # indexed with (a concern moved under a parent is found before the index is rebuilt).
    backend = EmbeddedBackend(str(tmp_path / "index.db"))
    backend.upsert([doc(1, concerns=("loss-of-spouse",)), doc(2, concerns=("alcohol",))])
    assert [hit.id for hit in backend.search(query(("concern", "grief-loss"))).hits] == [1]
    backend.close()


def test_the_online_list_holds_the_first_ten_by_standing_then_name_and_counts_all(
    tmp_path: Path,
) -> None:
    backend = EmbeddedBackend(str(tmp_path / "index.db"))
    online = {"lat": None, "lon": None, "attendance": ("online",), "region": None}
    normal = [doc(i, f"Online {chr(64 + i)}", **online) for i in range(1, 9)]  # A … H
    demoted = [doc(i, f"Online {chr(64 + i)}", standing=1, **online) for i in range(9, 13)]
    backend.upsert([*normal, *demoted, doc(20)])
    chicago = [("lat", "41.9"), ("lon", "-87.65")]
    result = backend.search(query(*chicago))
    assert [hit.id for hit in result.online] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert result.online_total == 12
    backend.upsert([doc(i, f"Online {chr(64 + i)}", **online) for i in range(13, 17)])
    result = backend.search(query(*chicago))
    assert [hit.id for hit in result.online] == [1, 2, 3, 4, 5, 6, 7, 8, 13, 14]
    assert result.online_total == 16
    backend.close()


def test_bitsets_round_trip() -> None:
    ids = [0, 1, 7, 8, 63, 64, 1000, 99_999]
    assert ids_of(bitset(ids)) == ids
    assert ids_of(0) == []


def test_writes_by_another_process_are_seen(tmp_path: Path) -> None:
    path = str(tmp_path / "index.db")
    server, syncer = EmbeddedBackend(path), EmbeddedBackend(path)
    syncer.upsert([doc(1), doc(2, "Alcohol Group", concerns=("alcohol",))])
    assert server.search(query()).total == 2
    syncer.upsert([doc(2, "Alcohol Group", concerns=("alcohol",), days=("mon",))])
    syncer.remove([1])
    result = server.search(query())
    assert result.total == 1
    assert result.facets["day"] == {"mon": 1}
    assert server.search(query(("concern", "grief-loss"))).total == 0
    syncer.rebuild([doc(5), doc(6), doc(7, lat=None, lon=None, attendance=("online",))])
    assert set(server.indexed()) == {5, 6, 7}
    assert server.search(query(("attendance", "online"))).total == 1
    server.close()
    syncer.close()


def test_the_same_words_see_another_process_write_rescore_and_rebuild(tmp_path: Path) -> None:
    path = str(tmp_path / "index.db")
    server, syncer = EmbeddedBackend(path), EmbeddedBackend(path)
    syncer.upsert([doc(1, "Harbor Circle"), doc(2, "Quiet Circle")])
    words = query(("q", "harbor"))
    assert [hit.id for hit in server.search(words).hits] == [1]
    syncer.upsert([doc(2, "Harbor Light Harbor")])
    found = server.search(words).hits
    assert {hit.id for hit in found} == {1, 2}
    assert found[0].score != found[1].score  # each scored on the index as it is now
    syncer.rebuild([doc(3, "Harbor House")])
    assert [hit.id for hit in server.search(words).hits] == [3]
    server.close()
    syncer.close()


def test_kept_scores_are_bounded_and_never_go_back_to_an_older_snapshot() -> None:
    cache = ScoreCache(limit=5)
    now, before, rebuilt = ("epoch", 7), ("epoch", 6), ("other", 1)
    cache.put(now, "grief", {1: 1.5, 2: 0.5})
    cache.put(now, "loss", {3: 1.0, 4: 1.0})
    assert cache.get(now, "grief") == {1: 1.5, 2: 0.5}
    assert cache.get(before, "grief") is None
    cache.put(before, "grief", {9: 9.0})  # a slower reader on the older snapshot
    assert cache.get(now, "grief") == {1: 1.5, 2: 0.5}
    cache.put(now, "alone", {5: 1.0, 6: 1.0})  # over the limit: the least used goes
    assert cache.get(now, "loss") is None
    assert cache.get(now, "grief") is not None and cache.get(now, "alone") is not None
    cache.put(now, "too many", {id_: 0.0 for id_ in range(6)})
    assert cache.get(now, "too many") is None
    cache.put(rebuilt, "loss", {7: 2.0})  # a rebuild starts a new epoch: all else goes
    assert cache.get(rebuilt, "loss") == {7: 2.0}
    assert cache.get(now, "grief") is None


def test_standing_changes_reach_a_reader_that_already_has_columns(tmp_path: Path) -> None:
    path = str(tmp_path / "index.db")
    server, syncer = EmbeddedBackend(path), EmbeddedBackend(path)
    syncer.upsert([doc(1, "Alder"), doc(2, "Birch"), doc(3, "Cedar")])
    assert [hit.id for hit in server.search(query(("sort", "name"))).hits] == [1, 2, 3]
    syncer.upsert([doc(1, "Alder", standing=1)])  # patched into the reader's columns
    assert [hit.id for hit in server.search(query(("sort", "name"))).hits] == [2, 3, 1]
    syncer.upsert([doc(1, "Alder"), doc(3, "Cedar", standing=2)])
    assert [hit.id for hit in server.search(query(("sort", "name"))).hits] == [1, 2, 3]
    server.close()
    syncer.close()


def test_an_index_from_before_standing_is_upgraded_in_place(tmp_path: Path) -> None:
    path = str(tmp_path / "index.db")
    old = EmbeddedBackend(path)
    old.upsert([doc(1), doc(2)])
    old.close()
    with sqlite3.connect(path) as conn:  # the previous layout: schema 3, without these columns
        for column in ("standing", "meet_zone", "meet_slots"):
            conn.execute(f"ALTER TABLE docs DROP COLUMN {column}")
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema'")
    conn.close()

    upgraded = EmbeddedBackend(path)
    assert set(upgraded.indexed()) == {1, 2}  # kept: no rebuild needed
    upgraded.upsert([doc(1, standing=1)])
    assert [hit.id for hit in upgraded.search(query(("sort", "name"))).hits] == [2, 1]
    upgraded.close()


def test_a_reader_behind_the_pruned_change_log_reloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import clearinghouse.search.embedded as embedded

    monkeypatch.setattr(embedded, "KEEP_CHANGES", 3)
    path = str(tmp_path / "index.db")
    server, syncer = EmbeddedBackend(path), EmbeddedBackend(path)
    syncer.upsert([doc(1)])
    assert server.search(query()).total == 1
    for id_ in range(2, 12):  # ten separate writes: the log keeps only the last few
        syncer.upsert([doc(id_, days=("sun",))])
    result = server.search(query())
    assert result.total == 11
    assert result.facets["day"] == {"tue": 1, "sun": 10}
    server.close()
    syncer.close()


def test_a_value_whose_last_group_is_gone_filters_and_counts_as_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "index.db")
    writer = EmbeddedBackend(path)
    writer.upsert([doc(1), doc(2, "Alcohol Group", concerns=("alcohol",), days=("mon",))])
    writer.remove([1])  # grief-loss and tue keep their term ids, with no document left
    writer.close()
    reader = EmbeddedBackend(path)  # its columns loaded afresh from the file
    assert reader.search(query(("concern", "grief-loss"))).total == 0
    result = reader.search(query())
    assert result.total == 1
    assert result.facets["day"] == {"mon": 1}
    reader.close()


def test_upsert_is_idempotent_and_counts_stay_right(tmp_path: Path) -> None:
    backend = EmbeddedBackend(str(tmp_path / "index.db"))
    docs = [doc(i, days=("mon", "tue") if i % 2 else ("wed",)) for i in range(1, 11)]
    for _ in range(3):
        backend.upsert(docs)
    result = backend.search(query())
    assert result.total == 10
    assert result.facets["day"] == {"mon": 5, "tue": 5, "wed": 5}
    backend.upsert([replace(d, days=("sun",)) for d in docs[:4]])
    assert backend.search(query()).facets["day"] == {"mon": 3, "tue": 3, "wed": 3, "sun": 4}
    backend.close()


def test_threads_search_while_another_writes(tmp_path: Path) -> None:
    backend = EmbeddedBackend(str(tmp_path / "index.db"))
    backend.rebuild(doc(i) for i in range(1, 201))
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                result = backend.search(query(("q", "grief"), ("near", "60614")))
                assert result.total >= 200
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for start in range(201, 401, 20):
            backend.upsert(doc(i) for i in range(start, start + 20))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not errors
    assert backend.count() == 400
    backend.close()


def test_an_unreadable_index_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    backend = EmbeddedBackend(str(tmp_path / "index.db"))
    backend.upsert([doc(1)])
    conn = sqlite3.connect(backend.path)
    conn.execute("DROP TABLE fts")
    conn.commit()
    conn.close()
    with pytest.raises(SearchUnavailable):
        backend.search(query(("q", "grief")))
    backend.close()


def test_record_miss_counts_concern_region_and_day(app: Flask) -> None:
    record_miss(query(("near", "60614"), ("concern", "grief-loss")))
    record_miss(
        query(("near", "Chicago, IL"), ("concern", "grief-loss"), ("q", "my private words"))
    )
    record_miss(query(("near", "Toronto, ON")))
    rows = {(m.concern, m.region): m.count for m in db.session.scalars(select(SearchMiss)).all()}
    assert rows == {("grief-loss", "IL"): 2, ("", "ON"): 1}
    assert all(m.day == utcnow().date() for m in db.session.scalars(select(SearchMiss)))


def test_connections_of_finished_threads_are_closed(tmp_path: Path) -> None:
    """A server that starts a thread per request must not keep a connection per request."""
    import os

    path = tmp_path / "index.db"
    backend = EmbeddedBackend(str(path))
    backend.upsert([doc(1)])

    def open_files() -> int:
        fd_dir = Path("/proc/self/fd")
        names = []
        for fd in fd_dir.iterdir():
            try:
                names.append(os.readlink(fd))
            except OSError:
                continue
        return sum(1 for name in names if name == str(path))

    answers = []
    for _ in range(12):
        thread = threading.Thread(target=lambda: answers.append(backend.search(query()).total))
        thread.start()
        thread.join()
    assert answers == [1] * 12
    assert open_files() <= 3  # this thread's connection and the newest thread's, not 13
    backend.close()
    assert open_files() == 0


def _orders(backend: EmbeddedBackend) -> tuple[list[int], list[int]]:
    """Every id by name and newest first, as a search of each sort sees them."""
    by_name = backend.search(replace(query(("sort", "name")), per_page=100)).hits
    by_update = backend.search(replace(query(("sort", "updated")), per_page=100)).hits
    return [hit.id for hit in by_name], [hit.id for hit in by_update]


def test_orders_carried_across_edits_match_a_fresh_sort(tmp_path: Path) -> None:
    rng = random.Random(7)
    names = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"]
    edited = EmbeddedBackend(str(tmp_path / "index.db"))
    edited.rebuild(doc(i, rng.choice(names) + f" {i % 3}") for i in range(1, 41))
    _orders(edited)  # both orders built: from here on each edit moves documents in them
    for step in range(30):
        id_ = rng.randint(1, 45)
        if rng.random() < 0.2:
            edited.remove([id_])
        else:
            name = rng.choice(names) + f" {rng.randint(0, 2)}"
            stamp = f"2026-02-{1 + step % 28:02d}T00:00:{rng.randint(0, 3):02d}.000000"
            edited.upsert([doc(id_, name, updated_at=stamp)])
        carried = _orders(edited)
        fresh = EmbeddedBackend(str(tmp_path / "index.db"))  # reads the same file from scratch
        assert carried == _orders(fresh), f"after step {step}"
        fresh.close()
    edited.close()
