"""Load the generated corpus (`indexer.generate`, seed 1) into a store, for bench/run.py.

Every listing goes through the import pipeline (`ingest_records`: validate, geocode, store
with audit and outbox), exactly as `clearinghouse ingest` would write it.  Two things a
plain `ingest_records(generate_listings(n))` does not do, for corpora of 750,000 listings on
a shared machine:

- **Resume**: a load that was interrupted (its batches are committed every 500 listings) is
  completed: the listings already in the store (by external id) are skipped.
- **Processes**: with `processes` > 1, this process generates the listings in order and hands
  them to that many worker processes, each running the pipeline on its share and committing
  its own batches.  SQLite takes one writer at a time, but validation, geocoding and the ORM
  work run side by side.  A listing goes to the worker chosen by its name, so two workers
  never reserve the same slug (slugs are made from name and city); a clash that still
  happens (a refused batch) is retried with the listings not yet stored.  The store then
  holds the same listings as a one-process load, with other row ids and, where names repeat,
  possibly other slug numbers.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import time
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

SOURCE = "bench"
SEED = 1
HANDOFF = 100  # listings per message to a worker
RETRIES = 20  # refused batches a worker retries before giving up


def load_corpus(config: dict[str, Any], size: int, processes: int = 1) -> dict[str, Any]:
    """Bring the store to the `size` generated listings; what was loaded and how fast."""
    from clearinghouse import create_app
    from clearinghouse.database import load_taxonomy, migrate
    from clearinghouse.extensions import db
    from clearinghouse.taxonomy import default_taxonomy
    from indexer.generate import generate_listings

    app = create_app(config)
    migrate(app)
    with app.app_context():
        load_taxonomy(db.session(), default_taxonomy())
        db.session.commit()
        present = stored_keys(db.session())
        db.session.remove()
    if len(present) > size:
        raise SystemExit(f"the store holds {len(present):,} bench listings, more than {size:,}")
    missing = (r for r in generate_listings(size, seed=SEED) if r["external_id"] not in present)
    started = time.perf_counter()
    if processes <= 1 or len(present) == size:
        _ingest(config, missing)
    else:
        _ingest_in_processes(config, missing, processes)
    with app.app_context():
        total = len(stored_keys(db.session()))
        if processes > 1 and total < size:
            # On PostgreSQL a row refused for a clash between workers (a slug, a new
            # organisation's name) is rejected, not raised: load what is missing in this
            # process (one more pass of the generator; 17 of 10,000 in a trial).
            stored = stored_keys(db.session())
            print(f"  load: {size - total:,} listings missing; loading them in one process")
            _ingest(
                config,
                (r for r in generate_listings(size, seed=SEED) if r["external_id"] not in stored),
            )
            total = len(stored_keys(db.session()))
        db.session.remove()
    took = time.perf_counter() - started
    if total != size:
        raise SystemExit(f"the store holds {total:,} bench listings after the load, not {size:,}")
    loaded = size - len(present)  # stored by this load (a rejected row read twice counts once)
    figures: dict[str, Any] = {
        "records": loaded,
        "seconds": round(took, 1),
        "per_s": round(loaded / took) if loaded and took else None,
        "processes": max(1, processes),
    }
    if present:
        figures["resumed_after"] = len(present)
    print(f"  load: {loaded:,} listings in {took:.0f} s ({figures['per_s']}/s)", flush=True)
    return figures


def stored_keys(session: Any, among: Iterable[str] | None = None) -> set[str]:
    """The external ids of the bench listings in the store (only those in `among` if given)."""
    from sqlalchemy import select

    from clearinghouse.models import Group

    query = select(Group.external_id).where(Group.source == SOURCE)
    if among is None:
        return set(session.scalars(query))
    keys = list(among)
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(session.scalars(query.where(Group.external_id.in_(keys[start : start + 500]))))
    return found


def _ingest(config: dict[str, Any], records: Iterable[dict[str, Any]]) -> int:
    """Run the pipeline over `records` in this process; how many were read."""
    from sqlalchemy.exc import IntegrityError

    from clearinghouse import create_app
    from clearinghouse.extensions import db
    from clearinghouse.taxonomy import default_taxonomy
    from indexer.pipeline import ingest_records

    app = create_app(config)
    taxonomy = default_taxonomy()
    stream = iter(records)
    recent: deque[dict[str, Any]] = deque(maxlen=2000)  # more than one batch not yet committed
    read = 0

    def remembered(records: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        nonlocal read
        for record in records:
            recent.append(record)
            read += 1
            yield record

    with app.app_context():
        for attempt in range(RETRIES + 1):
            try:
                ingest_records(db.session, remembered(stream), taxonomy=taxonomy, source=SOURCE)
                break
            except IntegrityError:  # another worker took a slug this batch reserved
                if attempt == RETRIES:
                    raise
                db.session.rollback()
                done = stored_keys(db.session(), (r["external_id"] for r in recent))
                again = [r for r in recent if r["external_id"] not in done]
                read -= len(again)  # read again below
                recent.clear()
                stream = _chain(again, stream)
        db.session.remove()
    return read


def _chain(first: list[dict[str, Any]], then: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield from first
    yield from then


def _worker(config: dict[str, Any], inbox: Any, outbox: Any) -> None:
    """A worker process: the pipeline over the listings handed to it, until None.

    It starts a session of its own: where Linux schedules by autogroup (one per session, the
    default on desktop kernels and on this bench machine), processes of one session share
    one group's CPU time, so workers left in the parent's session would add nothing."""
    with contextlib.suppress(OSError):
        os.setsid()

    def handed() -> Iterator[dict[str, Any]]:
        while (records := inbox.get()) is not None:
            yield from records

    # Several writers: wait for the SQLite write lock as long as a batch may take.
    outbox.put(_ingest({**config, "SQLITE_BUSY_TIMEOUT_MS": 600_000}, handed()))


def _ingest_in_processes(
    config: dict[str, Any], records: Iterable[dict[str, Any]], processes: int
) -> int:
    from clearinghouse.slugs import slugify

    context = multiprocessing.get_context("spawn")  # no app or connection inherited
    results = context.Queue()
    inboxes = [context.Queue(maxsize=20) for _ in range(processes)]
    workers = [
        context.Process(target=_worker, args=(config, inbox, results), daemon=True)
        for inbox in inboxes
    ]
    for worker in workers:
        worker.start()

    def hand(index: int, message: list[dict[str, Any]] | None) -> None:
        while True:
            try:
                inboxes[index].put(message, timeout=5)
                return
            except queue.Full:
                if not workers[index].is_alive():
                    raise SystemExit(
                        f"load worker {index} stopped (exit {workers[index].exitcode})"
                    ) from None

    pending: list[list[dict[str, Any]]] = [[] for _ in range(processes)]
    try:
        for record in records:
            index = zlib.crc32(slugify(str(record.get("name", ""))).encode()) % processes
            pending[index].append(record)
            if len(pending[index]) >= HANDOFF:
                hand(index, pending[index])
                pending[index] = []
        for index in range(processes):
            hand(index, pending[index] or None)
            if pending[index]:
                hand(index, None)
        loaded, waiting = 0, len(workers)
        while waiting:
            try:
                loaded += results.get(timeout=5)
                waiting -= 1
            except queue.Empty:
                if failed := [w.exitcode for w in workers if w.exitcode]:
                    raise SystemExit(f"load workers failed: exit codes {failed}") from None
        for worker in workers:
            worker.join()
        return loaded
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
