"""The worker's daily standing job: it queues for the index exactly the listings whose
search standing changed with time since its last pass, on a clock the test controls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import func, select

from clearinghouse.extensions import db
from clearinghouse.models import Group, Outbox, SyncState, utcnow
from clearinghouse.search.documents import STANDING_NORMAL, STANDING_STALE, build_document
from clearinghouse.taxonomy import Taxonomy
from indexer.sync import STANDING_STATE_NAME, requeue_changed_standing
from indexer.worker import default_worker

NOW = datetime(2026, 6, 1, 9, 0)


def _queued_since(seq: int) -> list[int]:
    rows = db.session.scalars(select(Outbox.group_id).where(Outbox.seq > seq).order_by(Outbox.seq))
    return [row for row in rows if row is not None]


def _high_water() -> int:
    return db.session.scalar(select(func.max(Outbox.seq))) or 0


def test_each_pass_queues_only_the_listings_that_turned_stale_since_the_last(
    app: Flask, make_group: Callable[..., Group], taxonomy: Taxonomy
) -> None:
    turning = make_group(name="Turning Stale Circle")
    turning.verified_at = NOW - timedelta(days=730) + timedelta(days=2)  # stale in 2 days
    fresh = make_group(name="Fresh Circle")
    fresh.verified_at = NOW - timedelta(days=100)
    old = make_group(name="Long Unchecked Circle")
    old.verified_at = NOW - timedelta(days=900)
    never = make_group(name="Never Checked Circle")  # listed long ago: stale, indexed so
    never.created_at = NOW - timedelta(days=900)
    listed = make_group(name="Listed Lately Circle")  # never checked: judged from its listing
    listed.created_at = NOW - timedelta(days=730) + timedelta(days=7)  # stale in 7 days
    confirmed = make_group(name="Group Confirmed Circle")
    confirmed.verified_at = NOW - timedelta(days=900)
    confirmed.confirmed_at = NOW - timedelta(days=730) + timedelta(days=5)  # stale in 5 days
    archived = make_group(status="archived", name="Archived Circle")
    archived.verified_at = NOW - timedelta(days=900)
    db.session.commit()

    # The first pass starts the clock: documents are built with the day's standing already.
    start = mark = _high_water()
    assert requeue_changed_standing(db.session, now=NOW) == 0
    assert _queued_since(mark) == []
    assert db.session.get(SyncState, STANDING_STATE_NAME).updated_at == NOW  # type: ignore[union-attr]

    mark = _high_water()
    assert requeue_changed_standing(db.session, now=NOW + timedelta(hours=6)) == 0
    assert _queued_since(mark) == []

    mark = _high_water()
    assert requeue_changed_standing(db.session, now=NOW + timedelta(days=3)) == 1
    assert _queued_since(mark) == [turning.id]
    assert build_document(turning, taxonomy, now=NOW + timedelta(days=3)).standing == (
        STANDING_STALE
    )
    assert build_document(confirmed, taxonomy, now=NOW + timedelta(days=3)).standing == (
        STANDING_NORMAL
    )

    # The worker was down for a week: the next pass covers the whole gap.
    mark = _high_water()
    assert requeue_changed_standing(db.session, now=NOW + timedelta(days=10)) == 2
    assert sorted(_queued_since(mark)) == sorted([listed.id, confirmed.id])
    assert build_document(listed, taxonomy, now=NOW + timedelta(days=6)).standing == (
        STANDING_NORMAL
    )
    # Never: the fresh one, the long-stale ones (indexed stale already), the archived one.
    assert sorted(_queued_since(start)) == sorted([turning.id, listed.id, confirmed.id])


def test_a_pass_queues_the_closures_that_ended_since_the_last(
    app: Flask, make_group: Callable[..., Group]
) -> None:
    ending = make_group(name="Reopening Circle")
    ending.temporarily_closed, ending.closed_until = True, (NOW + timedelta(days=2)).date()
    open_ended = make_group(name="Closed For Now Circle")
    open_ended.temporarily_closed = True
    for group in (ending, open_ended):
        group.verified_at = NOW - timedelta(days=30)
    db.session.commit()
    assert requeue_changed_standing(db.session, now=NOW) == 0  # the first pass starts the clock
    mark = _high_water()
    assert requeue_changed_standing(db.session, now=NOW + timedelta(days=1)) == 0
    assert requeue_changed_standing(db.session, now=NOW + timedelta(days=3)) == 1
    assert _queued_since(mark) == [ending.id]


def test_the_worker_runs_the_standing_job_and_the_outbox_applies_it(
    app: Flask, make_group: Callable[..., Group], taxonomy: Taxonomy
) -> None:
    from clearinghouse.search import get_backend
    from indexer.sync import sync
    from tests.contract.conftest import parse

    stale = make_group(name="Aspen Circle")
    stale.verified_at = utcnow() - timedelta(days=731)  # turned stale yesterday
    fresh = make_group(name="Birch Circle")
    fresh.verified_at = utcnow() - timedelta(days=10)
    # The standing job last ran three days ago, when both were fresh and indexed so.
    db.session.add(
        SyncState(name=STANDING_STATE_NAME, last_seq=0, updated_at=utcnow() - timedelta(days=3))
    )
    db.session.commit()
    app.config["DEMOTE_STALE"] = False  # indexes both as normal, as they were then
    sync(db.session, get_backend(app), taxonomy)
    app.config["DEMOTE_STALE"] = True

    def by_name() -> list[int]:
        return [hit.id for hit in get_backend(app).search(parse(("sort", "name"))).hits]

    assert by_name() == [stale.id, fresh.id]
    worker = default_worker(app)
    assert "standing" in [job.name for job in worker.jobs]
    worker.run_due()  # every job is due at start; the standing job queues Aspen
    for job in worker.jobs:
        job.due = 0.0
    worker.run_due()  # the outbox job applies it
    assert by_name() == [fresh.id, stale.id]


def test_switching_demotion_off_ranks_stale_listings_as_any_other(
    app: Flask, make_group: Callable[..., Group], taxonomy: Taxonomy
) -> None:
    from clearinghouse.search import get_backend
    from indexer.sync import sync
    from tests.contract.conftest import parse

    stale = make_group(name="Aspen Circle")
    fresh = make_group(name="Birch Circle")
    fresh.verified_at = datetime.now() - timedelta(days=10)
    db.session.commit()
    app.config["DEMOTE_STALE"] = False
    sync(db.session, get_backend(app), taxonomy)
    order = [hit.id for hit in get_backend(app).search(parse(("sort", "name"))).hits]
    assert order == [stale.id, fresh.id]
