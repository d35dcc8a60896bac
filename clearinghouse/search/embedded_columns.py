"""The embedded engine's in-memory columns: one bitset of document ids per facet value.

Counting facet values by SQL over a large matching set costs about half a microsecond per
(document, value) row — 100k documents × 15 values is most of a second — so filters and
counts run on Python integers used as bitsets instead (bit n set = document n has the
value): an AND and a popcount of 100k bits take microseconds.  The columns are loaded from
the SQLite tables, which stay the system of record, and kept current from the `changes`
log the writers append to; a rebuild (a new `epoch`) reloads them.
"""

from __future__ import annotations

import math
import re
import sqlite3
import sys
import threading
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

MAX_INCREMENTAL = 5000  # more changed documents than this: reload everything


def bitset(ids: Iterable[int]) -> int:
    """The bitset with a bit set for each id."""
    ids = list(ids)
    if not ids:
        return 0
    buffer = bytearray((max(ids) >> 3) + 1)
    for id_ in ids:
        buffer[id_ >> 3] |= 1 << (id_ & 7)
    return int.from_bytes(buffer, "little")


_NONZERO = re.compile(rb"[^\x00]")
_BITS = tuple(tuple(bit for bit in range(8) if byte >> bit & 1) for byte in range(256))


def ids_of(bits: int) -> list[int]:
    """The ids whose bits are set, ascending."""
    ids: list[int] = []
    extend = ids.extend
    data = bits.to_bytes((bits.bit_length() + 7) // 8, "little")
    for found in _NONZERO.finditer(data):  # runs of zero bytes skipped in C
        index = found.start()
        extend(map((index << 3).__add__, _BITS[data[index]]))
    return ids


class Members:
    """Fast membership tests against one bitset (bytes indexing instead of big-int shifts)."""

    def __init__(self, bits: int) -> None:
        self.bytes = bits.to_bytes((bits.bit_length() + 7) // 8 or 1, "little")
        self.size = len(self.bytes)

    def __contains__(self, id_: int) -> bool:
        index = id_ >> 3
        return index < self.size and bool(self.bytes[index] >> (id_ & 7) & 1)

    def filter(self, ids: Iterable[int]) -> list[int]:
        data, size = self.bytes, self.size
        return [i for i in ids if (i >> 3) < size and data[i >> 3] >> (i & 7) & 1]


@dataclass(frozen=True, slots=True)
class DocInfo:
    name_sort: str
    updated_at: str
    service_area: str  # ",IL,WI," or "" for everywhere
    terms: tuple[int, ...]
    lat: float | None = None
    lon: float | None = None
    standing: int = 0
    remote: bool = False  # joined online or by phone (search/when.py reads its clock)
    meet_zone: str = ""
    meet_slots: tuple[tuple[int, int], ...] = ()


def _slots(text: str) -> tuple[tuple[int, int], ...]:
    """ "1140-1200,2580-2640" as slots."""
    slots = []
    for part in text.split(","):
        if part:
            start, end = part.split("-")
            slots.append((int(start), int(end)))
    return tuple(slots)


def nans(size: int) -> array[float]:
    """`size` doubles, all NaN (no value)."""
    return array("d", [math.nan]) * size


class Ranking:
    """Every document in one order: the ids in that order, and a rank per id to sort by.

    Ranks are floats that only need to keep the order, not be dense: a changed document
    is taken out and put back between its new neighbours (a bisection and the midpoint of
    their ranks), so an edit costs a copy of the list and the dict, never a re-sort of
    every document.  When two neighbours' ranks are too close to split, the ranks are
    renumbered (once in about fifty edits at the same spot).
    """

    def __init__(self, order: list[int], key: Callable[[int], Any]) -> None:
        self.order = order
        self.key = key
        self.rank: dict[int, float] = {id_: float(n) for n, id_ in enumerate(order)}

    @classmethod
    def of(cls, ids: Iterable[int], key: Callable[[int], Any]) -> Ranking:
        return cls(sorted(ids, key=key), key)

    def patched(
        self, removed: Iterable[int], added: Iterable[int], key: Callable[[int], Any]
    ) -> Ranking:
        """This ranking with `removed` taken out and `added` put in by the new `key`."""
        copy = Ranking.__new__(Ranking)
        copy.order, copy.rank, copy.key = list(self.order), dict(self.rank), key
        old_key = self.key
        for id_ in removed:
            if copy.rank.pop(id_, None) is not None:
                del copy.order[bisect_left(copy.order, old_key(id_), key=old_key)]
        for id_ in added:
            if not copy._insert(id_):
                return Ranking.of(copy.rank.keys() | set(added), key)
        return copy

    def _insert(self, id_: int) -> bool:
        order, rank = self.order, self.rank
        at = bisect_left(order, self.key(id_), key=self.key)
        before = rank[order[at - 1]] if at > 0 else (rank[order[0]] - 2.0 if order else 0.0)
        after = rank[order[at]] if at < len(order) else before + 2.0
        middle = (before + after) / 2
        if not before < middle < after:
            return False  # no float left between the neighbours: renumber
        order.insert(at, id_)
        rank[id_] = middle
        return True


@dataclass
class Columns:
    """A snapshot of every document's facet values and sort keys, as of (epoch, seq).

    The orders by name and by update are built on first need, once (under a lock: several
    threads asking at once would each sort every document), and carried into the next
    snapshot by `_patch` with only the changed documents moved.
    """

    epoch: str
    seq: int
    everything: int = 0  # every indexed document
    online: int = 0  # online- or phone-only documents (no place), for the side list
    anywhere: int = 0  # documents without a service area
    serves: dict[str, int] = field(default_factory=dict)  # region -> documents serving it
    term_bits: dict[int, int] = field(default_factory=dict)
    term_names: dict[int, tuple[str, str]] = field(default_factory=dict)
    term_ids: dict[tuple[str, str], int] = field(default_factory=dict)
    docs: dict[int, DocInfo] = field(default_factory=dict)
    # Each document's point by id (NaN: none), for place searches.  Plain doubles, not
    # objects: `serve` loads the columns before the fork and the workers share the pages,
    # and reading a Python object (a DocInfo, its float) writes its reference count, which
    # copies the page into the worker; reading an array copies nothing.
    lat: array[float] = field(default_factory=lambda: nans(0))
    lon: array[float] = field(default_factory=lambda: nans(0))
    standing: dict[int, int] = field(default_factory=dict)  # standing > 0 -> its documents
    by_name: Ranking | None = None
    by_update: Ranking | None = None
    _facet_terms: dict[str, list[tuple[int, str]]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    # "When" answers on this snapshot, by (starts_within, minute, searcher's zone): searches
    # within the same minute share one pass over the documents.
    when_bits: dict[tuple[object, ...], int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.docs)

    def tiers(self, bits: int) -> list[int]:
        """`bits` split by standing, in rank order (normal first): every sort's first key."""
        demoted = 0
        for below in self.standing.values():
            demoted |= below
        tiers = [bits & ~demoted]
        tiers += [bits & self.standing[value] for value in sorted(self.standing)]
        return [tier for tier in tiers if tier]

    def name_key(self, id_: int) -> tuple[str, int]:
        return (self.docs[id_].name_sort, id_)

    def update_key(self, id_: int) -> tuple[str, int]:
        # Ascending is oldest first: the newest are the largest ranks, equal times by id.
        return (self.docs[id_].updated_at, -id_)

    def name_order(self) -> list[int]:
        """Every document id by (name, id)."""
        return self._by_name().order

    def name_rank(self) -> dict[int, float]:
        """Document id -> a sort key in name order."""
        return self._by_name().rank

    def updated_rank(self) -> dict[int, float]:
        """Document id -> a rank by update: the largest is the newest (ties: smallest id)."""
        if self.by_update is None:
            with self._lock:
                if self.by_update is None:
                    self.by_update = Ranking.of(self.docs, self.update_key)
        return self.by_update.rank

    def _by_name(self) -> Ranking:
        if self.by_name is None:
            with self._lock:
                if self.by_name is None:
                    self.by_name = Ranking.of(self.docs, self.name_key)
        return self.by_name

    def facet_terms(self) -> dict[str, list[tuple[int, str]]]:
        """Facet -> its (term id, value) pairs, for counting one facet at a time."""
        if self._facet_terms is None:
            grouped: dict[str, list[tuple[int, str]]] = defaultdict(list)
            for term, (facet, value) in self.term_names.items():
                grouped[facet].append((term, value))
            self._facet_terms = dict(grouped)
        return self._facet_terms


class ColumnCache:
    """Shares one current Columns between threads; reloads or patches it when writes land."""

    def __init__(self) -> None:
        self._columns: Columns | None = None
        self._lock = threading.Lock()

    def get(self, conn: sqlite3.Connection, position: tuple[str, int] | None = None) -> Columns:
        """Columns at least as new as the caller's read snapshot on `conn` (at `position`)."""
        epoch, seq = position or snapshot_position(conn)
        columns = self._columns
        if columns is not None and columns.epoch == epoch and columns.seq >= seq:
            return columns
        with self._lock:
            columns = self._columns
            if columns is not None and columns.epoch == epoch and columns.seq >= seq:
                return columns
            if columns is not None and columns.epoch == epoch:
                patched = _patch(conn, columns, seq)
                if patched is not None:
                    self._columns = patched
                    return patched
            self._columns = _load(conn, epoch, seq)
            return self._columns


def _regions(service_area: str) -> list[str]:
    return [region for region in service_area.split(",") if region]


def snapshot_position(conn: sqlite3.Connection) -> tuple[str, int]:
    """The read snapshot's epoch (a rebuild starts a new one) and its last change."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'epoch'").fetchone()
    seq = conn.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]
    return (row[0] if row else ""), int(seq)


def _terms(conn: sqlite3.Connection) -> dict[int, tuple[str, str]]:
    return {
        id_: (facet, value)
        for id_, facet, value in conn.execute("SELECT id, facet, value FROM terms")
    }


_Row = tuple[str, str, str, bool, float | None, float | None, int, bool, str, str]


def _doc_rows(
    conn: sqlite3.Connection, where: str = "", params: Iterable[int] = ()
) -> dict[int, _Row]:
    return {
        row[0]: (
            row[1],
            row[2],
            row[3],
            bool(row[4]),
            row[5],
            row[6],
            int(row[7]),
            bool(row[8]),
            row[9],
            row[10],
        )
        for row in conn.execute(
            "SELECT id, name_sort, updated_at, service_area, has_place = 0 AND remote = 1,"
            f" lat, lon, standing, remote, meet_zone, meet_slots FROM docs {where}",
            list(params),
        )
    }


def _info(row: _Row, terms: tuple[int, ...]) -> DocInfo:
    # A few distinct areas and zones, each held once rather than once per document.
    return DocInfo(
        row[0],
        row[1],
        sys.intern(row[2]),
        terms,
        row[4],
        row[5],
        row[6],
        row[7],
        sys.intern(row[8]),
        _slots(row[9]),
    )


def _place(columns: Columns, id_: int, row: _Row | None) -> None:
    """Record (or, with no row or no point, clear) one document's point in the arrays."""
    lat, lon = columns.lat, columns.lon
    if id_ >= len(lat):
        lat.extend(nans(id_ + 1 - len(lat)))
        lon.extend(nans(id_ + 1 - len(lon)))
    if row is None or row[4] is None or row[5] is None:
        lat[id_] = lon[id_] = math.nan
    else:
        lat[id_], lon[id_] = row[4], row[5]


def _load(conn: sqlite3.Connection, epoch: str, seq: int) -> Columns:
    names = _terms(conn)
    per_term: dict[int, list[int]] = defaultdict(list)
    per_doc: dict[int, list[int]] = defaultdict(list)
    for term, doc in conn.execute("SELECT term, doc FROM fv"):
        per_term[term].append(doc)
        per_doc[doc].append(term)
    rows = _doc_rows(conn)
    columns = Columns(epoch=epoch, seq=seq, term_names=names)
    columns.term_ids = {name: id_ for id_, name in names.items()}
    columns.term_bits = {term: bitset(docs) for term, docs in per_term.items()}
    columns.everything = bitset(rows)
    columns.online = bitset(id_ for id_, row in rows.items() if row[3])
    columns.anywhere = bitset(id_ for id_, row in rows.items() if not row[2])
    regions: dict[str, list[int]] = defaultdict(list)
    for id_, row in rows.items():
        for region in _regions(row[2]):
            regions[region].append(id_)
    columns.serves = {region: bitset(ids) for region, ids in regions.items()}
    standings: dict[int, list[int]] = defaultdict(list)
    for id_, row in rows.items():
        if row[6]:
            standings[row[6]].append(id_)
    columns.standing = {value: bitset(ids) for value, ids in standings.items()}
    columns.docs = {id_: _info(row, tuple(per_doc.get(id_, ()))) for id_, row in rows.items()}
    columns.lat, columns.lon = nans(max(rows, default=-1) + 1), nans(max(rows, default=-1) + 1)
    for id_, row in rows.items():
        _place(columns, id_, row)
    return columns


def _patch(conn: sqlite3.Connection, old: Columns, seq: int) -> Columns | None:
    """The columns with the documents changed since `old.seq` re-read; None to reload.

    None when too many documents changed, or when the writers have already pruned part of
    the log after `old.seq` (a reader that slept through more than the log keeps).
    """
    oldest = conn.execute("SELECT min(seq) FROM changes").fetchone()[0]
    if oldest is None or oldest > old.seq + 1:
        return None
    changed = [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT doc FROM changes WHERE seq > ? LIMIT ?", (old.seq, MAX_INCREMENTAL + 1)
        )
    ]
    if len(changed) > MAX_INCREMENTAL:
        return None
    marks = ",".join("?" * len(changed))
    rows = _doc_rows(conn, f"WHERE id IN ({marks})", changed) if changed else {}
    new_terms: dict[int, list[int]] = defaultdict(list)
    if changed:
        for doc, term in conn.execute(
            f"SELECT doc, term FROM fv WHERE doc IN ({marks})", changed
        ).fetchall():
            new_terms[doc].append(term)
    names = old.term_names
    if any(term not in names for terms in new_terms.values() for term in terms):
        names = _terms(conn)
    columns = Columns(
        epoch=old.epoch,
        seq=seq,
        everything=old.everything,
        online=old.online,
        anywhere=old.anywhere,
        serves=dict(old.serves),
        term_bits=dict(old.term_bits),
        term_names=names,
        term_ids={name: id_ for id_, name in names.items()},
        docs=dict(old.docs),
        standing=dict(old.standing),
        lat=array("d", old.lat),
        lon=array("d", old.lon),
    )
    bits = columns.term_bits
    for doc in changed:
        mask = 1 << doc
        previous = columns.docs.pop(doc, None)
        for term in previous.terms if previous else ():
            bits[term] &= ~mask
        for region in _regions(previous.service_area) if previous else ():
            columns.serves[region] &= ~mask
        columns.everything &= ~mask
        columns.online &= ~mask
        columns.anywhere &= ~mask
        if previous is not None and previous.standing:
            columns.standing[previous.standing] &= ~mask
        row = rows.get(doc)
        _place(columns, doc, row)
        if row is None:
            continue
        terms = tuple(new_terms.get(doc, ()))
        for term in terms:
            bits[term] = bits.get(term, 0) | mask
        columns.everything |= mask
        if row[3]:
            columns.online |= mask
        if not row[2]:
            columns.anywhere |= mask
        for region in _regions(row[2]):
            columns.serves[region] = columns.serves.get(region, 0) | mask
        if row[6]:
            columns.standing[row[6]] = columns.standing.get(row[6], 0) | mask
        columns.docs[doc] = _info(row, terms)
    present = [doc for doc in changed if doc in columns.docs]
    # The old orders' keys read the old snapshot's documents, the new ones this one's.
    if old.by_name is not None:
        columns.by_name = old.by_name.patched(changed, present, columns.name_key)
    if old.by_update is not None:
        columns.by_update = old.by_update.patched(changed, present, columns.update_key)
    return columns
