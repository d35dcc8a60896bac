"""The read side of the embedded engine: one SearchQuery answered on one read snapshot.

Text (FTS5 MATCH, bm25 weighted toward names and concerns) and place (R*Tree box, then the
exact haversine distance) are found by SQL; facet filters (OR within a facet, AND across),
disjunctive counts (each selected facet counted without its own filter) and ordering run
on the in-memory bitset columns of `embedded_columns`.  Every order puts the documents of
better standing first (`documents.standing_of`): each standing is ordered in turn.
"""

from __future__ import annotations

import heapq
import math
import sqlite3
import threading
from array import array
from collections import OrderedDict
from datetime import UTC
from itertools import islice

from clearinghouse.search.base import Hit, SearchQuery, SearchResult, Understood
from clearinghouse.search.embedded_columns import Columns, Members, bitset, ids_of
from clearinghouse.search.facets import FACET_NAMES
from clearinghouse.search.query import search_words
from clearinghouse.search.understanding import Clause, plain
from clearinghouse.search.when import (
    NO_MEETING,
    clock,
    slot_matches,
    soonest_key,
    soonest_plan,
    when_plan,
)

# bm25 weights for the FTS columns: name, description, organization, concern_text.
BM25_WEIGHTS = (10.0, 1.0, 2.0, 5.0)
EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG), as geopy's great_circle and Lucene use
EARTH_RADIUS_MI = EARTH_RADIUS_KM / 1.609344
ONLINE_LIMIT = 10
# Ranking tiers: each point of a named concern's weight outranks any text score, and a
# clause's words found whole outrank them found only as word starts.
WEIGHT_SCORE = 1000.0
WHOLE_WORDS_SCORE = 200.0
# Text scores kept per process, in (id, score) pairs: about 12 bytes each, so 12 MB at most.
CACHED_SCORES = 1_000_000

Position = tuple[str, int]  # a read snapshot: the index's epoch and its last change


def match_expression(q: str) -> str | None:
    """A safe FTS5 MATCH for q: every word quoted, all required, the last one a prefix."""
    words = search_words(q)
    if not words:
        return None
    quoted = [f'"{word}"' for word in words]  # words are \w+ only: no quote can get in
    quoted[-1] += "*"
    return " ".join(quoted)


def haversine_mi(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in miles on the mean-radius sphere (what place searches use)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_MI * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lon: float, radius_mi: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) sure to hold every point within the radius."""
    angle = math.degrees(radius_mi / EARTH_RADIUS_MI) * 1.01 + 1e-4
    min_lat, max_lat = max(-90.0, lat - angle), min(90.0, lat + angle)
    if max_lat >= 89.9 or min_lat <= -89.9:
        return min_lat, max_lat, -180.0, 180.0
    spread = angle / max(math.cos(math.radians(max(abs(min_lat), abs(max_lat)))), 1e-6)
    if spread >= 180 or lon - spread < -180 or lon + spread > 180:
        return min_lat, max_lat, -180.0, 180.0
    return min_lat, max_lat, lon - spread, lon + spread


class ScoreCache:
    """Text scores by what the words were taken to mean, for one read snapshot at a time.

    FTS5's bm25 costs about seven times the match itself (40 ms for a common word over
    100,000 documents) and the same words come back with other places, facets and pages.
    Scores are kept only for the snapshot they were read on: a search on any other
    snapshot (after an edit) reads its own, so an edit is visible at once.
    """

    def __init__(self, limit: int = CACHED_SCORES) -> None:
        self.limit = limit
        self._position: Position | None = None
        self._kept: OrderedDict[object, tuple[array[int], array[float]]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, position: Position, key: object) -> dict[int, float] | None:
        with self._lock:
            if position != self._position or key not in self._kept:
                return None
            self._kept.move_to_end(key)
            ids, scores = self._kept[key]
        return dict(zip(ids, scores, strict=True))

    def put(self, position: Position, key: object, found: dict[int, float]) -> None:
        if len(found) > self.limit:
            return
        ids, scores = array("q", found), array("d", found.values())
        with self._lock:
            if position != self._position:
                current = self._position
                if current is not None and position[0] == current[0] and position[1] < current[1]:
                    return  # read on an older snapshot than the one kept
                self._position, self._size = position, 0
                self._kept.clear()
            if key in self._kept:
                return
            self._kept[key] = ids, scores
            self._size += len(ids)
            while self._size > self.limit:
                _key, (old, _scores) = self._kept.popitem(last=False)
                self._size -= len(old)


class EmbeddedSearch:
    """One search: SQL finds text and place hits, the in-memory columns filter and count."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        columns: Columns,
        query: SearchQuery,
        scores: tuple[ScoreCache, Position] | None = None,
    ) -> None:
        self.conn = conn
        self.columns = columns
        self.query = query
        self.scores = scores
        self.understood = query.understood or plain(query.q)
        self.match = bool(self.understood.clauses) or None
        self.place = query.near
        self.text_scores: dict[int, float] = {}
        self.hits: dict[int, tuple[float, float | None]] | None = None
        self.when_bits: int | None = None

    def run(self) -> SearchResult:
        if self.match is not None:
            self.text_scores = self._text_scores()
        if self.place is not None:
            self.hits = self._place_hits()
        elif self.match is not None:
            self.hits = {id_: (score, None) for id_, score in self.text_scores.items()}
        base = self.columns.everything
        if self.hits is not None:
            base &= bitset(self.hits)
        if self.query.starts_within:
            self.when_bits = self._when_bits()
            base &= self.when_bits
        filters = {
            facet: self._filter_bits(facet) for facet in FACET_NAMES if self.query.selected(facet)
        }
        matching = base
        for bits in filters.values():
            matching &= bits
        total = matching.bit_count()
        page = self._page(matching) if total > self.query.offset else ()
        facets = self._facets(base, matching, filters)
        online: tuple[Hit, ...] = ()
        online_total = 0
        if self.place is not None:
            online, online_total = self._online(filters)
        return SearchResult(
            hits=page, total=total, facets=facets, online=online, online_total=online_total
        )

    # -- candidate documents from text and place (SQL) -----------------------------------

    def _text_scores(self) -> dict[int, float]:
        """Documents the understood clauses hold for, with their scores (in no order).

        A clause holds for a document whose text has its words (FTS5) or that has one of
        the concerns or audiences the words name (the columns).  The score: the weights of
        the named concerns and audiences the document has, then whole words over word
        starts, then (without a place, where distance decides among equals) bm25.
        """
        understood = self.understood
        scored = self.query.sort == "relevance"
        with_bm25 = scored and self.place is None
        key = (understood, scored, with_bm25)
        if self.scores is not None:
            cache, position = self.scores
            kept = cache.get(position, key)
            if kept is None:
                kept = self._scored(understood, scored, with_bm25)
                cache.put(position, key, kept)
            return kept
        return self._scored(understood, scored, with_bm25)

    def _scored(self, understood: Understood, scored: bool, with_bm25: bool) -> dict[int, float]:
        total: dict[int, float] | None = None
        for any_of in understood.requirements():
            found: dict[int, float] = {}
            for clause in any_of:
                for id_, score in self._clause_scores(clause, with_bm25).items():
                    found[id_] = found.get(id_, 0.0) + score
            if total is None:
                total = found
            else:
                total = {id_: score + found[id_] for id_, score in total.items() if id_ in found}
        total = total or {}
        if not scored:
            return total
        matched = bitset(total)
        for facet, weights in (
            ("concern", understood.concern_weights),
            ("audience", understood.audience_weights),
        ):
            for value, weight in weights:
                having = self._term_bits(facet, value)
                if having:
                    # Only the documents that have the value: an AND, not a test per match.
                    for id_ in ids_of(matched & having):
                        total[id_] += weight * WEIGHT_SCORE
        return total

    def _term_bits(self, facet: str, value: str) -> int:
        term = self.columns.term_ids.get((facet, value))
        return self.columns.term_bits.get(term, 0) if term is not None else 0

    def _clause_scores(self, clause: Clause, with_bm25: bool) -> dict[int, float]:
        """One clause: its words whole, as word starts (the last), and its concerns."""
        found: dict[int, float] = {}
        if clause.words:
            quoted = " ".join(f'"{word}"' for word in clause.words)
            for id_, score in self._fts(quoted, with_bm25):
                found[id_] = score + WHOLE_WORDS_SCORE
            if clause.prefix:
                for id_, score in self._fts(quoted + "*", with_bm25):
                    found.setdefault(id_, score)
        bits = 0
        for concern in clause.concerns:
            bits |= self._term_bits("concern", concern)
        for audience in clause.audiences:
            bits |= self._term_bits("audience", audience)
        for id_ in ids_of(bits) if bits else ():
            found.setdefault(id_, 0.0)
        return found

    def _fts(self, match: str, with_bm25: bool) -> list[tuple[int, float]]:
        if not with_bm25:
            rows = self.conn.execute("SELECT rowid, 0.0 FROM fts WHERE fts MATCH ?", (match,))
            return rows.fetchall()
        weights = ", ".join(str(w) for w in BM25_WEIGHTS)
        rows = self.conn.execute(
            f"SELECT rowid, -bm25(fts, {weights}) FROM fts WHERE fts MATCH ?", (match,)
        )
        return rows.fetchall()

    def _place_hits(self) -> dict[int, tuple[float, float | None]]:
        assert self.place is not None
        lat, lon = self.place.lat, self.place.lon
        min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, self.query.radius_mi)
        # The R*Tree narrows to a box; the exact distance comes from the in-memory points.
        candidates = self.conn.execute(
            "SELECT id FROM geo WHERE max_lat >= ? AND min_lat <= ?"
            " AND max_lon >= ? AND min_lon <= ?",
            (min_lat, max_lat, min_lon, max_lon),
        ).fetchall()
        lats, lons, radius = self.columns.lat, self.columns.lon, self.query.radius_mi
        known = len(lats)
        p1, cos_p1 = math.radians(lat), math.cos(math.radians(lat))
        sin, cos, radians, asin, sqrt = math.sin, math.cos, math.radians, math.asin, math.sqrt
        isnan = math.isnan
        scores = self.text_scores if self.match is not None else None
        rows = []
        for (id_,) in candidates:
            if scores is not None and id_ not in scores:
                continue
            if id_ >= known or isnan(lats[id_]):
                continue  # written after this snapshot of the columns; the next search has it
            p2 = radians(lats[id_])
            a = sin((p2 - p1) / 2) ** 2 + cos_p1 * cos(p2) * sin(radians(lons[id_] - lon) / 2) ** 2
            dist = 2 * EARTH_RADIUS_MI * asin(min(1.0, sqrt(a)))
            if dist <= radius:
                rows.append((id_, dist))
        if scores is None:
            return {id_: (0.0, dist) for id_, dist in rows}
        return {id_: (scores[id_], dist) for id_, dist in rows}

    # -- when it meets (search/when.py) ---------------------------------------------------

    def _when_bits(self) -> int:
        """Documents with a meeting in the query's window (each zone's own window); searches
        in the same minute on the same snapshot share the answer."""
        query = self.query
        moment = clock(query.now).astimezone(UTC).replace(second=0, microsecond=0)
        key = (query.starts_within, moment, query.viewer_tz)
        cached = self.columns.when_bits.get(key)
        if cached is not None:
            return cached
        plan = when_plan(query.starts_within, moment, query.viewer_tz)
        windows = {zone: window for window in plan for zone in window.zones}
        found = []
        for id_, info in self.columns.docs.items():
            window = windows.get(info.meet_zone)
            if (
                info.meet_slots
                and window
                and slot_matches(info.meet_slots, window.ranges(info.remote))
            ):
                found.append(id_)
        if len(self.columns.when_bits) >= 32:
            self.columns.when_bits.clear()
        self.columns.when_bits[key] = bits = bitset(found)
        return bits

    def _soonest(self) -> dict[str, int]:
        """Each zone's minute of the week now, for `soonest_key`."""
        plan = soonest_plan(clock(self.query.now), self.query.viewer_tz)
        return {zone: zone_now.minute for zone_now in plan for zone in zone_now.zones}

    def _soonest_order(self, candidates: list[int], wanted: int) -> list[int]:
        """The `wanted` documents whose next meeting starts soonest, ties by name."""
        minutes, docs, rank = self._soonest(), self.columns.docs, self.columns.name_rank()

        def key(id_: int) -> tuple[int, float]:
            info = docs[id_]
            minute = minutes.get(info.meet_zone)
            soon = NO_MEETING if minute is None else soonest_key(info.meet_slots, minute)
            return soon, rank[id_]

        return heapq.nsmallest(wanted, candidates, key=key)

    # -- filters, counts, ordering (columns) ---------------------------------------------

    def _filter_bits(self, facet: str) -> int:
        """Documents having any selected value of one facet (a parent concern: any child)."""
        selected = self.query.selected(facet)
        values = sorted(self.query.concern_filter) if facet == "concern" else selected
        ids, term_bits = self.columns.term_ids, self.columns.term_bits
        bits = 0
        for value in values:
            term = ids.get((facet, value))
            if term is not None:
                bits |= term_bits.get(term, 0)
        return bits

    def _facets(
        self, base: int, matching: int, filters: dict[str, int]
    ) -> dict[str, dict[str, int]]:
        """Counts per value; a selected facet is counted without its own filter (disjunctive)."""
        within: dict[str, int] = {}
        for facet in FACET_NAMES:
            if facet not in filters:
                within[facet] = matching
                continue
            others = base
            for other, bits in filters.items():
                if other != facet:
                    others &= bits
            within[facet] = others
        facets: dict[str, dict[str, int]] = {facet: {} for facet in FACET_NAMES}
        term_bits, per_facet = self.columns.term_bits, self.columns.facet_terms()
        for facet, scope in within.items():
            if not scope:
                continue
            counted = facets[facet]
            for term, value in per_facet.get(facet, ()):
                count = (scope & term_bits.get(term, 0)).bit_count()
                if count:
                    counted[value] = count
        return facets

    def _page(self, matching: int) -> tuple[Hit, ...]:
        """The page: each standing's documents (normal first) in the requested order."""
        query = self.query
        skip, wanted = query.offset, query.per_page
        ids: list[int] = []
        for tier in self.columns.tiers(matching):
            count = tier.bit_count()
            if count <= skip:  # the whole tier lies before the page
                skip -= count
                continue
            ids += self._ordered(tier, count, skip + wanted - len(ids))[skip:]
            skip = 0
            if len(ids) >= wanted:
                break
        return self._hits(ids[:wanted])

    def _ordered(self, matching: int, total: int, wanted: int) -> list[int]:
        """The first `wanted` of `matching` (`total` documents) in the requested order."""
        query, docs = self.query, self.columns.docs
        members = Members(matching)
        hits = self.hits
        by_name = query.sort == "name" or (query.sort == "relevance" and self.match is None)
        if by_name and total * 8 >= len(docs):
            # Dense: walk the names in order and stop once the page is full.
            return list(islice((i for i in self.columns.name_order() if i in members), wanted))
        if query.sort == "relevance" and self.match is not None and hits is not None:
            return self._best_scored(members, wanted)
        candidates = members.filter(hits) if hits is not None else ids_of(matching)
        # Ranks in name and update order are precomputed per snapshot and break ties by id.
        if query.sort == "distance" and hits is not None:
            return heapq.nsmallest(wanted, candidates, key=lambda i: (hits[i][1] or 0.0, i))
        if query.sort == "soonest":
            return self._soonest_order(candidates, wanted)
        if query.sort == "updated":
            return heapq.nlargest(wanted, candidates, key=self.columns.updated_rank().__getitem__)
        return heapq.nsmallest(wanted, candidates, key=self.columns.name_rank().__getitem__)

    def _best_scored(self, members: Members, wanted: int) -> list[int]:
        """The `wanted` best matching documents by score, ties by name.

        Every matching document scoring at least the `wanted`-th best score may tie into
        the page, so all of them are taken before the final sort (no sort of every match).
        """
        hits, rank = self.hits, self.columns.name_rank()
        assert hits is not None
        scored = [(score, id_) for id_, score in self.text_scores.items() if id_ in members]
        if len(scored) > wanted:
            cutoff = heapq.nlargest(wanted, [score for score, _id in scored])[-1]
            chosen = [id_ for score, id_ in scored if score >= cutoff]
        else:
            chosen = [id_ for _score, id_ in scored]
        chosen.sort(key=lambda i: (-hits[i][0], hits[i][1] or 0.0, rank[i]))
        return chosen[:wanted]

    def _hits(self, ids: list[int]) -> tuple[Hit, ...]:
        hits = self.hits
        if hits is None:
            return tuple(Hit(id=i) for i in ids)
        return tuple(Hit(id=i, score=hits[i][0], distance_mi=hits[i][1]) for i in ids)

    # -- online and phone groups beside a place search ------------------------------------

    def _online(self, filters: dict[str, int]) -> tuple[tuple[Hit, ...], int]:
        assert self.place is not None
        columns = self.columns
        bits = columns.online & (columns.anywhere | columns.serves.get(self.place.region or "", 0))
        if self.match is not None:
            bits &= bitset(self.text_scores)
        for facet_bits in filters.values():
            bits &= facet_bits
        if self.when_bits is not None:
            bits &= self.when_bits
        total = bits.bit_count()
        if not total:
            return (), 0
        top: list[int] = []
        for tier in columns.tiers(bits):
            top += self._online_order(tier, ONLINE_LIMIT - len(top))
            if len(top) >= ONLINE_LIMIT:
                break
        return tuple(Hit(id=i, score=self.text_scores.get(i, 0.0)) for i in top), total

    def _online_order(self, bits: int, wanted: int) -> list[int]:
        """The first `wanted` of one standing's online groups: best match, then by name."""
        columns, scores = self.columns, self.text_scores
        if self.query.sort == "soonest":
            return self._soonest_order(ids_of(bits), wanted)
        if self.match is None and bits.bit_count() * 50 >= columns.count:
            members = Members(bits)
            return list(islice((i for i in columns.name_order() if i in members), wanted))
        rank = columns.name_rank()
        return heapq.nsmallest(wanted, ids_of(bits), key=lambda i: (-scores.get(i, 0.0), rank[i]))
