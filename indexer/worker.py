"""The background loop: periodic jobs, run one after another, with back-off when one fails.
A job given a lane of its own (the fallback's outbox) runs beside them in a thread of its own.

`clearinghouse worker` runs it in its own process; `serve` and `demo` run it in a thread of
one web process (see `clearinghouse/server.py`).  The first job keeps the search index in
step with the outbox; later jobs (partner feed refreshes, queued e-mails, webhooks) register
the same way:

    worker = Worker(app)
    worker.add("send-mail", send_queued_mail, every=30)   # run(app) -> bool: more work left?

A job runs inside an app context with a fresh database session that is removed afterwards,
so no transaction outlives one run.  A job that returns True has more work waiting (a
backlog) and runs again at once; one that raises waits 1, 2, 4 … up to `max_backoff`
seconds before its next try, and logs once per failure.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

log = logging.getLogger(__name__)

JobRun = Callable[[Flask], bool]  # True when work remains (run again without waiting)
OUTBOX_INTERVAL = 0.5  # seconds between outbox polls: a commit is searchable within ~1 s
OUTBOX_MAX_BACKOFF = 5.0  # seconds between retries of the outbox while the engine is down
OUTBOX_ROWS_PER_RUN = 2000  # a backlog is applied this many rows at a time, other jobs between
SOURCES_INTERVAL = 30.0  # seconds between looks for a partner source whose refresh is due
MAIL_INTERVAL = 15.0  # seconds between looks for queued e-mail that is due
FRESHNESS_INTERVAL = 3600.0  # seconds between passes of the yearly-confirmation cycle
WEBHOOKS_INTERVAL = 2.0  # seconds between passes over partner webhook subscriptions
STANDING_INTERVAL = 86400.0  # a day: listings whose search standing changed with time
MAIN_LANE = "main"


@dataclass
class Job:
    name: str
    run: JobRun
    every: float
    max_backoff: float = 60.0
    due: float = 0.0  # time.monotonic() of the next run
    failures: int = 0
    lane: str = MAIN_LANE  # jobs of one lane run one after another, lanes side by side

    def backoff(self) -> float:
        return float(min(self.max_backoff, 2 ** max(0, self.failures - 1)))


class Worker:
    """Runs registered jobs until `stop()`; safe to stop from a signal handler or a thread."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.jobs: list[Job] = []
        self._stopping = threading.Event()

    def add(
        self,
        name: str,
        run: JobRun,
        *,
        every: float,
        max_backoff: float = 60.0,
        lane: str = MAIN_LANE,
    ) -> Job:
        """Register a job; one given a `lane` of its own runs in a thread of its own, so a long
        run of it (a fallback's first rebuild) holds up no other lane's jobs."""
        job = Job(name, run, every, max_backoff, lane=lane)
        self.jobs.append(job)
        return job

    def stop(self) -> None:
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking at once on stop(); True when stopping."""
        return self._stopping.wait(seconds)

    def run_forever(self) -> None:
        log.info("event=worker_started jobs=%s", ",".join(job.name for job in self.jobs))
        lanes = sorted({job.lane for job in self.jobs} - {MAIN_LANE})
        threads = [
            threading.Thread(
                target=self._loop, args=(lane,), name=f"clearinghouse-worker-{lane}", daemon=True
            )
            for lane in lanes
        ]
        for thread in threads:
            thread.start()
        try:
            self._loop(MAIN_LANE)
        finally:
            for thread in threads:
                thread.join()
        log.info("event=worker_stopped")

    def _loop(self, lane: str) -> None:
        jobs = [job for job in self.jobs if job.lane == lane]
        while not self._stopping.is_set():
            self.run_due(jobs)
            wait = min((job.due for job in jobs), default=time.monotonic() + 1)
            self._stopping.wait(max(0.0, wait - time.monotonic()))

    def run_due(self, jobs: list[Job] | None = None) -> None:
        """Run every job (of `jobs`, default all) whose time has come, once each."""
        for job in self.jobs if jobs is None else jobs:
            if self._stopping.is_set():
                return
            if job.due <= time.monotonic():
                self._run(job)

    def _run(self, job: Job) -> None:
        from clearinghouse.extensions import db

        more = False
        try:
            with self.app.app_context():
                try:
                    more = job.run(self.app)
                finally:
                    db.session.remove()
        except Exception as error:  # a failing job backs off; the loop and other jobs go on
            job.failures += 1
            delay = job.backoff()
            job.due = time.monotonic() + delay
            log.warning(
                "event=worker_job_failed job=%s failures=%d retry_in_s=%.1f error=%s detail=%r",
                job.name,
                job.failures,
                delay,
                type(error).__name__,
                str(error)[:200],
            )
            return
        if job.failures:
            log.info("event=worker_job_recovered job=%s after_failures=%d", job.name, job.failures)
        job.failures = 0
        job.due = time.monotonic() + (0.0 if more else job.every)


def apply_outbox(app: Flask) -> bool:
    """The outbox job: apply up to OUTBOX_ROWS_PER_RUN pending rows; True when more wait."""
    from clearinghouse.extensions import db
    from clearinghouse.search import get_backend
    from clearinghouse.taxonomy import default_taxonomy
    from indexer.sync import has_pending, sync

    if not has_pending(db.session()):
        return False
    report = sync(db.session(), get_backend(app), default_taxonomy(), max_rows=OUTBOX_ROWS_PER_RUN)
    return report.applied >= OUTBOX_ROWS_PER_RUN


def apply_outbox_to_fallback(app: Flask) -> bool:
    """The fallback's outbox job: the database engine follows the outbox on its own position,
    so it is current when the primary engine (Elasticsearch) goes down."""
    from clearinghouse.extensions import db
    from clearinghouse.search import get_fallback
    from clearinghouse.taxonomy import default_taxonomy
    from indexer.sync import FALLBACK_STATE_NAME, has_pending, needs_building, sync_fallback

    fallback = get_fallback(app)
    if fallback is None:
        return False
    session = db.session()
    if not has_pending(session, FALLBACK_STATE_NAME) and not needs_building(session, fallback):
        return False
    report = sync_fallback(session, fallback, default_taxonomy(), max_rows=OUTBOX_ROWS_PER_RUN)
    return report.applied >= OUTBOX_ROWS_PER_RUN


def refresh_due_source(app: Flask) -> bool:
    """The sources job: refresh the partner source most overdue; True when more are due."""
    from clearinghouse.extensions import db
    from clearinghouse.taxonomy import default_taxonomy
    from indexer.sources import RefreshSettings, due_sources, refresh_source

    due = due_sources(db.session())
    if not due:
        return False
    refresh_source(
        db.session(),
        due[0],
        taxonomy=default_taxonomy(),
        settings=RefreshSettings.from_config(app.config),
    )
    return len(due) > 1


def send_mail(app: Flask) -> bool:
    """The mail job: send queued e-mail that is due; True when a full batch went out."""
    from clearinghouse import freshness, mail
    from clearinghouse.extensions import db

    settings = mail.MailSettings.from_config(app.config)
    tried = mail.send_due(db.session(), settings, on_bounce=freshness.flag_bounced_contact)
    return tried >= mail.SEND_BATCH


def ask_groups(app: Flask) -> bool:
    """The freshness job: ask, remind and hand off (clearinghouse/freshness.py).

    Nothing is asked while no e-mail can go out (no SMTP server, and not the demo), so no
    group's yearly request is spent on a message that sits in the queue.
    """
    from clearinghouse import freshness, mail
    from clearinghouse.extensions import db

    if not mail.MailSettings.from_config(app.config).can_deliver:
        return False
    settings = freshness.FreshnessSettings.from_config(app.config)
    return freshness.run_cycle(db.session(), settings)


def requeue_standing(app: Flask) -> bool:
    """The standing job: queue for the index the listings whose standing changed with time
    (turned out of date) since its last pass (indexer/sync.py)."""
    from clearinghouse.extensions import db
    from indexer.sync import requeue_changed_standing

    requeue_changed_standing(db.session())
    return False


def deliver_webhooks(app: Flask) -> bool:
    """The webhooks job: POST each subscription's pending changes; True when more wait."""
    from clearinghouse.extensions import db
    from clearinghouse.taxonomy import default_taxonomy
    from clearinghouse.webhooks import WebhookSettings, deliver_due

    # Groups' public URLs are built as a request would build them, from BASE_URL when set.
    with app.test_request_context("/", base_url=app.config.get("BASE_URL") or None):
        return deliver_due(
            db.session(),
            taxonomy=default_taxonomy(),
            settings=WebhookSettings.from_config(app.config),
        )


def default_worker(app: Flask) -> Worker:
    """The worker with every job the clearinghouse runs: outbox → search index (and its
    fallback, each on its own position), sources, queued e-mail, the groups' yearly
    confirmations, partner webhooks and the daily standing pass."""
    worker = Worker(app)
    # Retried every few seconds at most while the engine is down: once it is back, it must
    # catch up quickly, as searches go back to it as soon as it answers.
    worker.add("outbox", apply_outbox, every=OUTBOX_INTERVAL, max_backoff=OUTBOX_MAX_BACKOFF)
    from clearinghouse.search import has_fallback

    if has_fallback(app.config):
        worker.add(
            "outbox-fallback",
            apply_outbox_to_fallback,
            every=OUTBOX_INTERVAL,
            max_backoff=OUTBOX_MAX_BACKOFF,
            # Its first run rebuilds the whole fallback (minutes at 750k listings): in its own
            # thread, so edits still reach the primary index meanwhile.
            lane="fallback",
        )
    worker.add("sources", refresh_due_source, every=SOURCES_INTERVAL, max_backoff=300)
    worker.add("mail", send_mail, every=MAIL_INTERVAL, max_backoff=600)
    worker.add("freshness", ask_groups, every=FRESHNESS_INTERVAL, max_backoff=3600)
    worker.add("webhooks", deliver_webhooks, every=WEBHOOKS_INTERVAL, max_backoff=300)
    worker.add("standing", requeue_standing, every=STANDING_INTERVAL, max_backoff=3600)
    return worker


def start_in_thread(worker: Worker) -> threading.Thread:
    """Run the worker in a daemon thread of this process (serve/demo on one machine)."""
    thread = threading.Thread(target=worker.run_forever, name="clearinghouse-worker", daemon=True)
    thread.start()
    return thread
