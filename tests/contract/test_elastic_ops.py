"""What only the Elasticsearch engine does: alias rebuilds, a strict mapping, and outages.

These run against a real Elasticsearch of each major, 8 and 9 (the managed nodes from
tests/services/elastic.py, or $CLEARINGHOUSE_ES_URL); the shared contract suite covers search
answers on every engine.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from elastic_transport import ApiError
from flask import Flask
from sqlalchemy import select

from clearinghouse.extensions import db
from clearinghouse.geo import point_place
from clearinghouse.geocoding import geocode_listing
from clearinghouse.listings import ListingData, validate_listing
from clearinghouse.models import Group, Outbox, SyncState
from clearinghouse.search.base import ListingDoc, SearchQuery, SearchResult, SearchUnavailable
from clearinghouse.search.elastic import ElasticBackend
from clearinghouse.search.elastic_client import client_for
from clearinghouse.store import apply_listing, delete_group, set_status
from clearinghouse.taxonomy import Taxonomy
from indexer import sync as index_sync
from tests.conftest import sample_record
from tests.services.common import free_port
from tests.services.elastic import ES_MAJORS, ElasticsearchServer

pytestmark = pytest.mark.elasticsearch


@pytest.fixture(scope="module", params=ES_MAJORS, ids=lambda major: f"es{major}")
def elasticsearch_major(request: pytest.FixtureRequest) -> int:
    """Every test here runs on each major (tests/services/elastic.py)."""
    return int(request.param)


MakeBackend = Callable[..., ElasticBackend]
WAIT_SECONDS = 60  # a bound on waiting for the other thread, never an assertion about speed


@pytest.fixture
def make_backend(elasticsearch_url: str) -> Iterator[MakeBackend]:
    """Backends on a fresh alias each; every index they made is deleted afterwards."""
    aliases: list[str] = []

    def make(url: str | None = None, alias: str | None = None, **options: Any) -> ElasticBackend:
        alias = alias or f"test-ops-{uuid.uuid4().hex[:12]}"
        aliases.append(alias)
        options.setdefault("refresh", True)
        options.setdefault("old_index_grace", 0.0)  # no concurrent searches unless a test syncs
        return ElasticBackend(url or elasticsearch_url, alias, **options)

    yield make
    client = client_for(elasticsearch_url, request_timeout=30)
    for alias in aliases:
        names = list(client.indices.get_alias(index=f"{alias}-*", allow_no_indices=True))
        if names:  # by name: the cluster may refuse wildcard deletes
            client.indices.delete(index=",".join(names))
    client.close()


def listing_doc(number: int, **overrides: Any) -> ListingDoc:
    """A synthetic in-person grief group near Chicago."""
    values: dict[str, Any] = {
        "id": number,
        "uuid": str(uuid.UUID(int=number)),
        "name": f"Grief Circle {number:05d}",
        "description": "A peer-led circle for anyone grieving a death.",
        "organization": "",
        "concern_text": "Grief bereavement loss",
        "concerns": ("grief", "bereavement-loss"),
        "format": "peer-led",
        "attendance": ("in-person",),
        "days": ("tue",),
        "times": ("evening",),
        "languages": ("en",),
        "cost": "free",
        "audience": (),
        "accessibility": (),
        "lat": 41.9 + (number % 100) * 0.001,
        "lon": -87.65,
        "service_area": (),
        "region": "IL",
        "updated_at": f"2026-01-01T00:00:00.{number:06d}",
        "name_sort": f"grief circle {number:05d}",
    }
    values.update(overrides)
    return ListingDoc(**values)


def aliased_indices(backend: ElasticBackend) -> list[str]:
    return sorted(backend.client.indices.get_alias(name=backend.alias).keys())


# -- indices and the mapping --------------------------------------------------------------


def test_first_upsert_creates_an_index_behind_the_alias(make_backend: MakeBackend) -> None:
    backend = make_backend()
    assert backend.search(SearchQuery()).total == 0  # no alias yet: an empty answer
    assert backend.count() == 0
    assert backend.indexed() == {}

    backend.upsert([listing_doc(1), listing_doc(2)])
    backend.upsert([listing_doc(2, name="Renamed")])  # applying twice is harmless
    backend.remove([1, 999])  # removing what is not there is harmless

    assert backend.indexed() == {2: listing_doc(2).updated_at}
    [index] = aliased_indices(backend)
    assert re.fullmatch(re.escape(backend.alias) + r"-\d{20}", index)


def test_rebuild_moves_the_alias_to_a_new_timestamped_index_and_drops_old_ones(
    make_backend: MakeBackend,
) -> None:
    backend = make_backend()
    assert backend.rebuild(listing_doc(n) for n in range(1, 6)) == 5
    [first] = aliased_indices(backend)

    assert backend.rebuild(listing_doc(n) for n in range(3, 10)) == 7

    [second] = aliased_indices(backend)
    assert second != first
    assert re.fullmatch(re.escape(backend.alias) + r"-\d{20}", second)
    assert second > first  # names sort by build time
    assert not backend.client.indices.exists(index=first)
    assert sorted(backend.indexed()) == list(range(3, 10))


def indices_of(backend: ElasticBackend) -> list[str]:
    """Every index made for the alias, aliased or not."""
    return sorted(backend.client.indices.get(index=f"{backend.alias}-*"))


def at_first_call(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, step: Callable[[], Any], *, after: bool
) -> list[bool]:
    """Run `step` once, at the first call of `owner.name`: just before it, or just after it
    answered. The list returned is non-empty once it ran."""
    real = getattr(owner, name)
    ran: list[bool] = []

    def wrapped(**kwargs: Any) -> Any:
        if not ran and not after:
            ran.append(True)
            step()
        answer = real(**kwargs)
        if not ran and after:
            ran.append(True)
            step()
        return answer

    monkeypatch.setattr(owner, name, wrapped)
    return ran


def test_a_first_write_checked_just_before_a_rebuild_writes_to_the_rebuilt_index(
    make_backend: MakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    rebuilder = make_backend()
    worker = make_backend(alias=rebuilder.alias)
    # The worker looks for the alias (none yet), and a rebuild moves it onto its own index
    # before the worker's create.
    rebuilt = at_first_call(
        monkeypatch,
        worker.client.indices,
        "exists_alias",
        lambda: rebuilder.rebuild(listing_doc(n) for n in range(1, 6)),
        after=True,
    )
    worker.upsert([listing_doc(9)])

    assert rebuilt
    assert aliased_indices(worker) == indices_of(worker)  # one index, the rebuild's
    assert sorted(worker.indexed()) == [1, 2, 3, 4, 5, 9]


def test_a_first_write_made_while_a_rebuild_switches_leaves_the_alias_on_one_index(
    make_backend: MakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    rebuilder = make_backend()
    worker = make_backend(alias=rebuilder.alias)
    # The rebuild has read where the alias is (nowhere) but not moved it when the worker's
    # first write makes an index of its own behind the alias.
    wrote = at_first_call(
        monkeypatch,
        rebuilder.client.indices,
        "update_aliases",
        lambda: worker.upsert([listing_doc(9)]),
        after=False,
    )
    assert rebuilder.rebuild(listing_doc(n) for n in range(1, 6)) == 5

    assert wrote
    [live] = aliased_indices(rebuilder)
    assert indices_of(rebuilder) == [live]  # the worker's index went with the old ones
    worker.upsert([listing_doc(10)])
    assert sorted(rebuilder.indexed()) == [1, 2, 3, 4, 5, 10]


def test_a_rebuilt_index_is_merged_into_one_segment_before_it_takes_searches(
    make_backend: MakeBackend,
) -> None:
    """A bulk load leaves a segment per refresh or full buffer; every search visits each one,
    and the node merges them in the background while it serves. The rebuild merges first."""
    backend = make_backend(chunk_size=10, load_threads=1)

    def docs() -> Iterator[ListingDoc]:
        for number in range(1, 31):
            if number in (11, 21):  # the chunk before is sent: make it a segment of its own
                [building] = indices_of(backend)
                backend.client.indices.refresh(index=building)
            yield listing_doc(number)

    assert backend.rebuild(docs()) == 30
    stats = backend.client.indices.stats(index=backend.alias, metric="segments")
    assert stats["_all"]["primaries"]["segments"]["count"] == 1
    assert backend.search(SearchQuery()).total == 30


def test_rebuild_leaves_the_live_index_alone_when_a_document_is_refused(
    make_backend: MakeBackend,
) -> None:
    backend = make_backend()
    backend.rebuild([listing_doc(1)])
    [live] = aliased_indices(backend)

    with pytest.raises(RuntimeError, match="refused"):
        backend.rebuild([listing_doc(2), listing_doc(3, lat=91.0)])  # lat 91 is no point

    assert aliased_indices(backend) == [live]
    assert backend.indexed() == {1: listing_doc(1).updated_at}
    names = backend.client.indices.get_alias(index=f"{backend.alias}-*")
    assert list(names) == [live]  # the half-built index was deleted


def test_mapping_is_strict_and_explicit(make_backend: MakeBackend) -> None:
    backend = make_backend()
    backend.upsert([listing_doc(1)])
    [index] = aliased_indices(backend)
    mapping = backend.client.indices.get_mapping(index=index)[index]["mappings"]
    properties = mapping["properties"]

    assert mapping["dynamic"] == "strict"
    assert properties["location"]["type"] == "geo_point"
    assert properties["updated_at"]["type"] == "date_nanos"
    for field in ("concerns", "format", "attendance", "days", "times", "languages", "cost"):
        assert properties[field]["type"] == "keyword"
    for field in ("audience", "accessibility", "service_area", "region", "name_sort"):
        assert properties[field]["type"] == "keyword"
    assert properties["standing"]["type"] == "byte"
    settings = backend.client.indices.get_settings(index=index)[index]["settings"]["index"]
    assert (settings["number_of_shards"], settings["number_of_replicas"]) == ("1", "0")
    with pytest.raises(ApiError, match="strict_dynamic_mapping") as refused:
        backend.client.index(index=backend.alias, id="x", document={"surprise": 1})
    assert refused.value.meta.status == 400


def test_an_index_from_before_standing_gains_the_field_in_place(
    make_backend: MakeBackend,
) -> None:
    """A live index made by the previous version (no `standing` in its strict mapping) takes
    the field on the first write, without a rebuild; its old documents rank as normal."""
    from clearinghouse.search import elastic_query as build

    backend = make_backend()
    body = build.index_body()
    del body["mappings"]["properties"]["standing"]
    old_index = f"{backend.alias}-20250101000000000000"
    backend.client.indices.create(index=old_index, aliases={backend.alias: {}}, **body)
    old_doc = build.document(listing_doc(1))
    del old_doc["standing"]
    backend.client.index(index=backend.alias, id="1", document=old_doc, refresh=True)
    with pytest.raises(ApiError, match="strict_dynamic_mapping"):
        backend.client.index(index=backend.alias, id="2", document=build.document(listing_doc(2)))

    backend.upsert([listing_doc(2, standing=1), listing_doc(3)])

    assert aliased_indices(backend) == [old_index]
    mapping = backend.client.indices.get_mapping(index=old_index)[old_index]["mappings"]
    assert mapping["properties"]["standing"]["type"] == "byte"
    assert mapping["dynamic"] == "strict"
    ordered = backend.search(SearchQuery(sort="name")).hits
    assert [hit.id for hit in ordered] == [1, 3, 2]  # 1 has no standing yet: normal


def test_english_stems_and_misspellings_find_the_group(make_backend: MakeBackend) -> None:
    backend = make_backend()
    backend.upsert(
        [
            listing_doc(1, name="Caregivers of Parents", description="Families caring at home"),
            listing_doc(2, name="Widows Walking", description="Walks after a loss"),
        ]
    )

    def ids(q: str) -> list[int]:
        return [hit.id for hit in backend.search(SearchQuery(q=q)).hits]

    assert ids("caregiving family") == [1]  # stems: caregiv, famili
    assert ids("widow walk") == [2]
    assert ids("caregiv") == [1]  # an unfinished last word
    assert ids("carigivers") == []  # words as given: the service corrects misspellings
    assert ids('"widow" AND (walk* \\ 😀') == [2]  # query syntax is just text
    assert ids("x" * 5000) == []


def test_an_unreachable_cluster_raises_search_unavailable(make_backend: MakeBackend) -> None:
    backend = make_backend(url=f"http://127.0.0.1:{free_port()}", timeout=2.0)

    assert backend.ping() is False
    with pytest.raises(SearchUnavailable, match="unavailable"):
        backend.search(SearchQuery(q="grief"))
    with pytest.raises(SearchUnavailable):
        backend.upsert([listing_doc(1)])
    with pytest.raises(SearchUnavailable):
        backend.count()


# -- searches during a rebuild ------------------------------------------------------------


def test_searches_keep_answering_while_rebuilds_switch_the_alias(
    make_backend: MakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Searches run on the old index while the new one loads, and on the new one after.

    No timing: the rebuild waits for a search just before it moves the alias and another
    just after, and drops the old index only between two searches (a search already
    running on it finishes first, which is what the production grace period allows for).
    """
    backend = make_backend(refresh=False, chunk_size=500, old_index_grace=0.0)
    total = 3000
    backend.rebuild(listing_doc(n) for n in range(1, total + 1))
    near = point_place(41.95, -87.65)
    queries = [
        SearchQuery(),
        SearchQuery(q="grief circle"),
        SearchQuery(near=near, radius=50.0, sort="distance"),
        SearchQuery(filters={"day": ("tue",)}, sort="name", page=3),
    ]
    answers: list[SearchResult] = []
    errors: list[BaseException] = []
    stop = threading.Event()
    searched = threading.Event()  # set after each search
    in_flight = threading.Lock()  # held while a search runs

    def search_in_a_loop() -> None:
        while not stop.is_set():
            for query in queries:
                try:
                    with in_flight:
                        answers.append(backend.search(query))
                except BaseException as exc:  # any error is a failure of the switch
                    errors.append(exc)
                    return
                searched.set()

    def after_a_search() -> None:
        searched.clear()
        assert searched.wait(WAIT_SECONDS), "the searcher stopped"

    indices = backend.client.indices
    move_alias, delete = indices.update_aliases, indices.delete

    def move_alias_between_searches(**kwargs: Any) -> Any:
        after_a_search()  # one more search on the old index, the new one fully loaded
        return move_alias(**kwargs)

    def delete_between_searches(**kwargs: Any) -> Any:
        after_a_search()  # one search on the new index while the old one still exists
        with in_flight:
            return delete(**kwargs)

    monkeypatch.setattr(indices, "update_aliases", move_alias_between_searches)
    monkeypatch.setattr(indices, "delete", delete_between_searches)
    searcher = threading.Thread(target=search_in_a_loop)
    searcher.start()
    try:
        for generation in range(3):
            # Each build renames every group, so the last one is seen to have landed.
            backend.rebuild(
                listing_doc(n, name=f"Grief Circle {n:05d} build {generation}")
                for n in range(1, total + 1)
            )
    finally:
        stop.set()
        searcher.join()

    assert errors == []
    assert len(answers) >= 6  # at least two per rebuild, by construction
    assert {answer.total for answer in answers} == {total}
    assert all(len(answer.hits) == 20 for answer in answers)
    assert all(answer.facets["concern"] == {"grief": total, "bereavement-loss": total}
               for answer in answers)  # fmt: skip
    assert backend.search(SearchQuery(q="build 2")).total == total
    assert len(aliased_indices(backend)) == 1
    assert len(backend.client.indices.get_alias(index=f"{backend.alias}-*")) == 1


# -- an outage in the middle of a sync ----------------------------------------------------


class TcpProxy:
    """A loopback TCP relay to a cluster we cannot kill: cut() drops it like a dead node."""

    def __init__(self, target_url: str) -> None:
        host_port = target_url.split("://", 1)[-1].split("/", 1)[0]
        host, _, port = host_port.rpartition(":")
        self.target = (host or "127.0.0.1", int(port or 9200))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def kill(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it
            listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
                upstream = socket.create_connection(self.target)
            except OSError:
                return
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def outage(
    elasticsearch_server: ElasticsearchServer | None, elasticsearch_url: str
) -> Iterator[tuple[str, Any]]:
    """(url, node) where node.kill() takes the cluster away and node.start() brings it back.

    The managed node is really killed (SIGKILL); an external cluster is cut off by a proxy.
    """
    if elasticsearch_server is not None:
        yield elasticsearch_server.url, elasticsearch_server
        elasticsearch_server.start()  # whatever happened, later tests need it
        return
    proxy = TcpProxy(elasticsearch_url)
    proxy.start()
    yield proxy.url, proxy
    proxy.kill()


def _add_groups(taxonomy: Taxonomy, count: int) -> None:
    """Many active groups in one transaction (the store's one write path, outbox included)."""
    validation = validate_listing(sample_record(), taxonomy)
    assert validation.data is not None, validation.errors
    base, _notes = geocode_listing(validation.data)
    assert base.location is not None
    for number in range(count):
        location = dataclasses.replace(base.location, lat=41.80 + (number % 300) * 0.001)
        data = dataclasses.replace(base, name=f"Outage Circle {number:05d}", location=location)
        apply_listing(db.session, data, actor="test")
    db.session.commit()


def _edit(group: Group, taxonomy: Taxonomy, description: str) -> ListingData:
    validation = validate_listing(sample_record(name=group.name, description=description), taxonomy)
    assert validation.data is not None, validation.errors
    return geocode_listing(validation.data)[0]


def _active_in_database() -> dict[int, str]:
    db.session.expire_all()
    rows = db.session.execute(select(Group.id, Group.updated_at).where(Group.status == "active"))
    return {id_: updated.isoformat(timespec="microseconds") for id_, updated in rows}


def test_sync_survives_elasticsearch_dying_mid_way_and_catches_up(
    app: Flask, taxonomy: Taxonomy, make_backend: MakeBackend, outage: tuple[str, Any]
) -> None:
    url, node = outage
    backend = make_backend(url=url, refresh=False, timeout=5.0)
    _add_groups(taxonomy, 3000)
    batch_size, batches_before_kill = 200, 4

    reached = threading.Event()
    killed = threading.Event()
    upsert = backend.upsert
    calls = 0

    def upsert_until_killed(docs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == batches_before_kill + 1:
            reached.set()
            killed.wait(60)
        upsert(docs)

    backend.upsert = upsert_until_killed  # type: ignore[method-assign]
    failures: list[BaseException] = []

    def run_sync() -> None:
        with app.app_context():
            try:
                index_sync.sync(db.session, backend, taxonomy, batch_size=batch_size)
            except BaseException as exc:
                failures.append(exc)
            finally:
                db.session.remove()

    worker = threading.Thread(target=run_sync)
    worker.start()
    assert reached.wait(120), "sync never reached the batch where the node dies"
    node.kill()
    killed.set()
    worker.join(120)
    assert not worker.is_alive()
    assert len(failures) == 1 and isinstance(failures[0], SearchUnavailable), failures

    # The high-water mark stays at the last batch that reached the index.
    db.session.expire_all()
    state = db.session.get(SyncState, index_sync.STATE_NAME)
    last_good = db.session.scalar(
        select(Outbox.seq).order_by(Outbox.seq).offset(batch_size * batches_before_kill - 1)
    )
    assert state is not None and state.last_seq == last_good

    # Writes go on while the engine is down: edits, unpublishing, purging, new groups.
    groups = list(db.session.scalars(select(Group).order_by(Group.id)))
    for group in groups[:300]:
        apply_listing(
            db.session, _edit(group, taxonomy, "Edited while down."), actor="t", group=group
        )
    for group in groups[2900:2950]:
        set_status(db.session, group, "inactive", actor="test")
    for group in groups[2950:2970]:
        delete_group(db.session, group, actor="test")
    db.session.commit()
    _add_groups(taxonomy, 50)
    with pytest.raises(SearchUnavailable):
        index_sync.sync(db.session, backend, taxonomy, batch_size=batch_size)

    node.start()
    report = index_sync.sync(db.session, backend, taxonomy, batch_size=batch_size)

    assert report.applied > 0
    expected = _active_in_database()
    assert len(expected) == 3000 - 50 - 20 + 50
    assert backend.indexed() == expected
    assert backend.search(SearchQuery(q="edited while down")).total == 300
