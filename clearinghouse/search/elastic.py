"""The Elasticsearch engine: an alias over timestamped indices, bulk writes, one-request searches.

Searches and writes go through the alias (`CLEARINGHOUSE_ES_INDEX`).  `rebuild` loads a fresh
`<alias>-<timestamp>` index and then moves the alias in one atomic `update_aliases` call, so
searches answer from the old index until the new one is complete.  Connection failures raise
`SearchUnavailable`: the outbox keeps its rows and the next sync applies them.  The client is
built at the first request, of the cluster's major (Elasticsearch 8 or 9: `elastic_client`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from elastic_transport import ApiError, ConnectionError, ConnectionTimeout

from clearinghouse.search import elastic_client
from clearinghouse.search import elastic_query as build
from clearinghouse.search.base import (
    Hit,
    ListingDoc,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    batches,
)

if TYPE_CHECKING:
    from elasticsearch8 import Elasticsearch

log = logging.getLogger(__name__)

MAX_WINDOW = 10_000  # Elasticsearch's index.max_result_window: from + size may not pass it
UNAVAILABLE_STATUSES = frozenset({429, 502, 503, 504})
MERGE_TIMEOUT_S = 1800.0  # merging a rebuilt national index into one segment: minutes
_ALIAS = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,200}$")


class SearchWindowTooDeep(ValueError):
    """A page beyond the first 10,000 results, which Elasticsearch does not page to."""


# Only what `_search` reads comes back: ids, scores, a hit's place, totals, bucket counts,
# and errors (not the index names, sort values, shard totals and timings of every hit).
SEARCH_FILTER_PATH = [
    "responses.status",
    "responses.error",
    "responses._shards.failed",
    "responses.hits.total.value",
    "responses.hits.hits._id",
    "responses.hits.hits._score",
    "responses.hits.hits._source.location",
    "responses.hits.hits.sort",  # its first value is the standing (`read_hits`, soonest)
    "responses.aggregations.*.*.buckets.key",
    "responses.aggregations.*.*.buckets.doc_count",
]


class ElasticBackend:
    """`SearchBackend` on Elasticsearch 8.x or 9.x; `refresh=True` makes writes visible at once
    (tests)."""

    name = "elasticsearch"

    def __init__(
        self,
        url: str,
        alias: str,
        *,
        refresh: bool = False,
        shards: int = 1,
        replicas: int = 0,
        timeout: float = 10.0,
        chunk_size: int = 5000,
        load_threads: int = 3,
        old_index_grace: float = 1.0,
        search_timeout: float | None = None,
    ) -> None:
        if not _ALIAS.match(alias):
            raise ValueError(
                f"CLEARINGHOUSE_ES_INDEX={alias!r} is not a usable index alias: use lower-case "
                "letters, digits, '-', '_' or '.', starting with a letter or digit"
            )
        self.url = url
        # CLEARINGHOUSE_ES_URL may name every node of a cluster, separated by commas.
        self.nodes = [node.strip() for node in url.split(",") if node.strip()]
        self.alias = alias
        self.refresh = refresh
        self.shards = shards
        self.replicas = replicas
        self.chunk_size = chunk_size
        self.load_threads = load_threads
        self.old_index_grace = old_index_grace
        # Searches fail fast rather than pile up; bulk writes get longer and may retry.  With
        # several nodes a request that finds its node dead (refused, reset, timed out) is sent
        # to the next one, so losing a node fails no search.
        self.timeout = timeout
        self.search_timeout = search_timeout
        self._connected: elastic_client.Client | None = None
        self._connecting = threading.Lock()
        # The client logs every request at INFO: at hundreds of searches a second, too much.
        logging.getLogger("elastic_transport.transport").setLevel(logging.WARNING)
        self._index_ready = False
        self._index_pattern = re.compile(re.escape(alias) + r"-\d{20}")

    # -- connecting --------------------------------------------------------------------------

    @property
    def connected(self) -> elastic_client.Client:
        """The client of the cluster's major, built at the first request (the app starts even
        while Elasticsearch is down; a failed attempt is made again at the next request)."""
        if self._connected is None:
            with self._connecting, self._reachable("connect"):
                if self._connected is None:
                    several = len(self.nodes) > 1
                    # Within the search budget: the first request may be a search.
                    self._connected = elastic_client.connect(
                        self.nodes,
                        probe_timeout=self.search_timeout or self.timeout,
                        request_timeout=self.timeout,
                        max_retries=len(self.nodes) if several else 0,
                        retry_on_timeout=several,
                    )
                    log.info(
                        "event=es_connected version=%s client=elasticsearch%d",
                        self._connected.version, self._connected.major,
                    )  # fmt: skip
        return self._connected

    @property
    def major(self) -> int:
        """The cluster's major version (8 or 9)."""
        return self.connected.major

    @property
    def client(self) -> Elasticsearch:
        return self.connected.client

    @functools.cached_property
    def _writer(self) -> Elasticsearch:
        return self.client.options(
            request_timeout=max(self.timeout, 60.0), max_retries=2, retry_on_timeout=True
        )

    @functools.cached_property
    def _searcher(self) -> Elasticsearch:
        """Searches and pings within their own budget (a fallback answers when it runs out);
        index management keeps `timeout`."""
        if self.search_timeout:
            return self.client.options(request_timeout=self.search_timeout)
        return self.client

    # -- searching ---------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        deep = query.offset + query.per_page > MAX_WINDOW
        # Past the window, count first: an empty page past the end is a sensible answer.
        offset, size = (0, 0) if deep else (query.offset, query.per_page)
        result = self._search(query, offset, size)
        if deep and query.offset < result.total:
            raise SearchWindowTooDeep(
                f"page {query.page} is beyond the first {MAX_WINDOW:,} results; "
                "narrow the search with a place, words or filters"
            )
        return result

    def _search(self, query: SearchQuery, offset: int, size: int) -> SearchResult:
        """One round trip: the page, the facet counts and (with a place) the online list."""
        hits_bodies = build.hits_bodies(query, offset, size)
        online_bodies = build.online_bodies(query) if query.near is not None else []
        bodies = [*hits_bodies, build.facets_body(query), *online_bodies]
        searches: list[dict[str, Any]] = []
        for body in bodies:
            searches += [{}, body]
        started = time.perf_counter()
        with self._reachable("search"):
            responses = self._searcher.msearch(
                index=self.alias, searches=searches, filter_path=SEARCH_FILTER_PATH
            )["responses"]
        for response in responses:
            _raise_for(response)
        if any(_missing_index(response) for response in responses):
            return build.empty_result()
        split = len(hits_bodies)
        hits, total = build.read_hits(responses[:split], query, offset, size)
        online: tuple[Hit, ...] = ()
        online_total = 0
        if query.near is not None:
            online, online_total = build.read_hits(
                responses[split + 1 :], None, 0, build.ONLINE_LIMIT
            )
        log.debug(
            "event=es_search total=%d took_ms=%.1f", total, (time.perf_counter() - started) * 1000
        )
        return SearchResult(
            hits=hits,
            total=total,
            facets=build.read_facets(responses[split].get("aggregations", {})),
            online=online,
            online_total=online_total,
        )

    def known_words(self, words: Iterable[str]) -> set[str]:
        """The words some document holds (as their stems): one request for all of them."""
        words = list(words)
        searches: list[dict[str, Any]] = []
        for word in words:
            exact = build.word_query(build.stem(word[: build.MAX_WORD_CHARS]))
            body = {"query": exact, "size": 0, "terminate_after": 1}
            searches += [{}, {**body, "track_total_hits": 1}]
        if not searches:
            return set()
        with self._reachable("search"):
            responses = self.client.msearch(index=self.alias, searches=searches)["responses"]
        return {
            word
            for word, response in zip(words, responses, strict=True)
            if response.get("hits", {}).get("total", {}).get("value", 0)
        }

    # -- writing -----------------------------------------------------------------------------

    def upsert(self, docs: Iterable[ListingDoc]) -> None:
        self._ensure_index()
        actions = (
            {"_index": self.alias, "_id": str(doc.id), "_source": build.document(doc)}
            for doc in docs
        )
        self._bulk(actions, "upsert")

    def remove(self, ids: Iterable[int]) -> None:
        self._ensure_index()
        actions = ({"_op_type": "delete", "_index": self.alias, "_id": str(i)} for i in ids)
        self._bulk(actions, "remove")

    def _bulk(self, actions: Iterable[dict[str, Any]], action: str) -> int:
        """Send in chunks; a document already gone is fine, any other refusal is an error."""
        done = 0
        failures: list[dict[str, Any]] = []
        with self._reachable(action):
            for ok, item in self.connected.streaming_bulk(
                self._writer,
                actions,
                chunk_size=self.chunk_size,
                raise_on_error=False,
                ignore_status=(404,),
                max_retries=3,
                initial_backoff=0.5,
                refresh="wait_for" if self.refresh else False,
            ):
                if ok or _already_gone(item):
                    done += 1
                else:
                    failures.append(item)
        if failures:
            first = _first_error(failures)
            # An alias left on two indices by an older version: only a rebuild can choose.
            hint = "; run `clearinghouse index rebuild`" if "no write index" in first else ""
            raise RuntimeError(
                f"Elasticsearch refused {len(failures)} of the {action} operations on "
                f"{self.alias}; first: {first}{hint}"
            )
        return done

    def _ensure_index(self) -> None:
        """On first use, create an index behind the alias (rebuild makes later ones).

        The alias always names its write index, so Elasticsearch itself refuses a second one:
        when a rebuild (or another worker) put the alias on an index of its own after the check
        below, this create is refused and the writes go to theirs.
        """
        if self._index_ready:
            return
        with self._reachable("create index"):
            if not self.client.indices.exists_alias(name=self.alias):
                self._refuse_plain_index()
                name = self._new_index_name()
                body = build.index_body(self.shards, self.replicas)
                try:
                    self.client.indices.create(index=name, aliases=self._write_alias(), **body)
                except ApiError:
                    if not self.client.indices.exists_alias(name=self.alias):
                        raise
                    log.info("event=es_index_made_elsewhere alias=%s", self.alias)
                else:
                    log.info("event=es_index_created index=%s alias=%s", name, self.alias)
            else:
                self._add_new_fields()
        self._index_ready = True

    def _write_alias(self) -> dict[str, Any]:
        return {self.alias: {"is_write_index": True}}

    def _add_new_fields(self) -> None:
        """Bring an index made by an older version up to the current mapping, in place.

        Adding a field is a change Elasticsearch makes to a live index (the strict mapping
        refuses documents with a field it does not know, so this must come before the first
        write); the documents already there lack the field until they are next written. A
        change to an existing field's type is refused here and needs `index rebuild`.
        """
        properties = build.index_body()["mappings"]["properties"]
        self.client.indices.put_mapping(index=self.alias, properties=properties)

    def rebuild(self, docs: Iterable[ListingDoc]) -> int:
        """Load a fresh timestamped index, then move the alias to it in one atomic step."""
        name = self._new_index_name()
        started = time.perf_counter()
        with self._reachable("rebuild"):
            self._refuse_plain_index()
            # Replicas and refreshes would only slow the load; both come back before the switch.
            self.client.indices.create(index=name, **build.index_body(self.shards, 0, True))
        try:
            with self._reachable("rebuild"):
                count = _load(self._writer, name, docs, self.chunk_size, self.load_threads)
                self.client.indices.put_settings(
                    index=name,
                    settings={
                        **dict.fromkeys(build.LOADING_SETTINGS),  # back to the defaults
                        "number_of_replicas": self.replicas,
                    },
                )
                # The first refresh and the flush of a whole index take seconds on a large or
                # busy node: the writer's budget, not the 10 s of index management.
                self._writer.indices.refresh(index=name)
                # Loaded with an async translog: commit to disk before the switch, or a node
                # killed in the next seconds comes back with an empty index behind the alias.
                self._writer.indices.flush(index=name)
                # A bulk load leaves many segments, which every search then visits and the
                # node merges in the background while serving: merge once, before the switch.
                self._writer.options(request_timeout=MERGE_TIMEOUT_S).indices.forcemerge(
                    index=name, max_num_segments=1
                )
                old = self._move_alias(name)
        except BaseException:
            with contextlib.suppress(Exception):
                self.client.indices.delete(index=name)
            raise
        self._index_ready = True
        log.info(
            "event=es_rebuild index=%s alias=%s documents=%d took_ms=%.0f",
            name, self.alias, count, (time.perf_counter() - started) * 1000,
        )  # fmt: skip
        self._drop_old_indices(keep=name, replaced=old)
        return count

    def _move_alias(self, name: str) -> list[str]:
        """Move the alias from the indices it names to `name`, atomically; returns the former.

        A first write elsewhere (a worker's `_ensure_index`) may put the alias on an index of
        its own between the read and the move: Elasticsearch then refuses the move (two write
        indices), and the move is made again from a fresh read.
        """
        attempts = 3
        while True:
            old = self._aliased_indices()
            moves: list[dict[str, Any]] = [
                {"remove": {"index": index, "alias": self.alias}} for index in old
            ]
            moves.append({"add": {"index": name, "alias": self.alias, "is_write_index": True}})
            try:
                self.client.indices.update_aliases(actions=moves)
                return old
            except ApiError:
                attempts -= 1
                if not attempts or self._aliased_indices() == old:
                    raise

    def _drop_old_indices(self, keep: str, replaced: Iterable[str] = ()) -> None:
        """Delete the indices the alias left and older ones, after a moment for searches still
        running on them (an index made later than `keep` may be a rebuild still loading)."""
        with self._reachable("drop old indices"):
            names = self.client.indices.get_alias(index=f"{self.alias}-*").keys()
            gone = set(replaced)
            old = sorted(
                n
                for n in names
                if self._index_pattern.fullmatch(n) and n != keep and (n < keep or n in gone)
            )
            if not old:
                return
            time.sleep(self.old_index_grace)
            self.client.indices.delete(index=",".join(old))
        log.info("event=es_indices_dropped alias=%s indices=%s", self.alias, ",".join(old))

    def _aliased_indices(self) -> list[str]:
        try:
            return sorted(self.client.indices.get_alias(name=self.alias).keys())
        except ApiError as exc:
            if exc.meta.status == 404:
                return []
            raise

    def _refuse_plain_index(self) -> None:
        if self.client.indices.exists(index=self.alias) and not self.client.indices.exists_alias(
            name=self.alias
        ):
            raise RuntimeError(
                f"{self.alias!r} is an index, not an alias: delete it, or set "
                "CLEARINGHOUSE_ES_INDEX to another name, then run `clearinghouse index rebuild`"
            )

    def _new_index_name(self) -> str:
        return f"{self.alias}-{datetime.now(UTC):%Y%m%d%H%M%S%f}"

    # -- checks ------------------------------------------------------------------------------

    def indexed(self) -> dict[int, str]:
        """Every indexed id with its `updated_at`, read in id order with `search_after`."""
        found: dict[int, str] = {}
        page = 5000
        after: list[Any] | None = None
        with self._reachable("indexed"):
            try:
                self.client.indices.refresh(index=self.alias)
            except ApiError as exc:
                if exc.meta.status == 404:
                    return found
                raise
            while True:
                response = self.client.search(
                    index=self.alias,
                    query={"match_all": {}},
                    sort=[{"id": {"order": "asc"}}],
                    source_includes=["updated_at"],
                    size=page,
                    search_after=after,
                    track_total_hits=False,
                )
                hits = response["hits"]["hits"]
                for hit in hits:
                    found[int(hit["_id"])] = hit["_source"]["updated_at"]
                if len(hits) < page:
                    return found
                after = hits[-1]["sort"]

    def count(self) -> int:
        with self._reachable("count"):
            try:
                return int(self.client.count(index=self.alias)["count"])
            except ApiError as exc:
                if exc.meta.status == 404:
                    return 0
                raise

    def close(self) -> None:
        """Close the client's connections (the indices stay)."""
        if self._connected is not None:
            self._connected.client.close()

    def ping(self) -> bool:
        # Cluster health, not `GET /`: the minimal distribution answers that with 405.
        try:
            status = self._searcher.cluster.health()["status"]
        except Exception:
            return False
        return status in ("green", "yellow")

    @contextlib.contextmanager
    def _reachable(self, action: str) -> Iterator[None]:
        """Turn "cannot reach the cluster" into SearchUnavailable; other errors pass through."""
        try:
            yield
        except (ConnectionError, ConnectionTimeout) as exc:
            raise self._unavailable(action, exc) from exc
        except ApiError as exc:
            if exc.meta.status in UNAVAILABLE_STATUSES:
                raise self._unavailable(action, exc) from exc
            raise

    def _unavailable(self, action: str, exc: Exception) -> SearchUnavailable:
        hosts = []
        for node in self.nodes:
            where = urlsplit(node)
            hosts.append(
                f"{where.scheme}://{where.hostname}:{where.port}" if where.hostname else "?"
            )
        host = ",".join(hosts) or "?"
        log.warning(
            "event=es_unavailable action=%s host=%s error=%s", action, host, type(exc).__name__
        )
        return SearchUnavailable(
            f"Elasticsearch at {host} is unavailable ({action}: {type(exc).__name__}); "
            "pending changes stay in the outbox until `clearinghouse index sync` succeeds"
        )


def _load(
    client: Elasticsearch, index: str, docs: Iterable[ListingDoc], chunk_size: int, threads: int
) -> int:
    """Bulk-load a new index with `threads` chunks in flight while the next one is built.

    Documents are read and converted in the calling thread (a database session stays in
    its own thread); only sending runs in the pool, so memory holds threads + 1 chunks.
    """
    count = 0
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="es-load") as pool:
        pending: deque[Future[int]] = deque()
        for chunk in batches(docs, chunk_size):
            operations: list[dict[str, Any]] = []
            for doc in chunk:
                operations += [{"index": {"_id": str(doc.id)}}, build.document(doc)]
            pending.append(pool.submit(_send_chunk, client, index, operations))
            if len(pending) >= threads:
                count += pending.popleft().result()
        while pending:
            count += pending.popleft().result()
    return count


def _send_chunk(client: Elasticsearch, index: str, operations: list[dict[str, Any]]) -> int:
    """One bulk request; documents refused for back-pressure (429) are sent again."""
    sent = 0
    for attempt in range(5):
        response = client.bulk(index=index, operations=operations)
        retry: list[dict[str, Any]] = []
        for position, item in enumerate(response["items"]):
            status = item["index"]["status"]
            if status == 429:
                retry += operations[2 * position : 2 * position + 2]
            elif status >= 300:
                raise RuntimeError(
                    f"Elasticsearch refused rebuild documents: {_first_error([item])}"
                )
            else:
                sent += 1
        if not retry:
            return sent
        operations = retry
        time.sleep(0.5 * 2**attempt)
    raise SearchUnavailable("Elasticsearch kept refusing rebuild documents as too many (429)")


def _already_gone(item: dict[str, Any]) -> bool:
    return "delete" in item and item["delete"].get("status") == 404


def _first_error(failures: list[dict[str, Any]]) -> str:
    item = next(iter(failures[0].values()))
    error = item.get("error") or {}
    reason = error.get("reason", error) if isinstance(error, dict) else error
    return f"id {item.get('_id')}: {reason}"


def _raise_for(response: dict[str, Any]) -> None:
    """Fail loudly on an error or partial result (other than a missing index)."""
    if "error" in response and not _missing_index(response):
        error = response["error"]
        reason = error.get("reason", error) if isinstance(error, dict) else error
        if response.get("status") in UNAVAILABLE_STATUSES:
            raise SearchUnavailable(f"Elasticsearch could not answer the search: {reason}")
        raise RuntimeError(f"Elasticsearch search failed: {reason}")
    shards = response.get("_shards", {})
    if shards.get("failed"):
        raise SearchUnavailable(f"Elasticsearch answered from only part of the index: {shards}")


def _missing_index(response: dict[str, Any]) -> bool:
    error = response.get("error")
    return isinstance(error, dict) and error.get("type") == "index_not_found_exception"
