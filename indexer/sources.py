"""Partner sources that refresh themselves: fetch the feed, import it, archive what it dropped.

A refresh of one `FeedSource`:

1. fetch the feed (`indexer.fetch`): conditionally, so an unchanged feed costs one request
   and changes nothing; the same bytes as last time are also "not modified";
2. import it through the ingest pipeline with the source's name as `source`.  A listing that
   staff edited by hand after its last import is not overwritten: the fields the feed would
   change go to the review queue as a suggested edit from the source;
3. archive the source's listings the feed no longer carries ("removed-by-source" in the audit
   trail, a removal in the search index and the change feed) — unless the feed is empty or
   more than `removal_limit` of the source's listings would go at once: then nothing is
   removed and the source is flagged for staff (the safety brake).

A failed refresh keeps its error on the source and is tried again with back-off (5 minutes,
doubling, never later than the source's own interval).
"""

from __future__ import annotations

import csv
import json
import logging
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select, update

from clearinghouse.models import (
    AuditEvent,
    ChangeRequest,
    DbSession,
    FeedSource,
    Group,
    GroupStatus,
    ReviewStatus,
    SourceOutcome,
    utcnow,
)
from clearinghouse.store import PRIVATE_FIELDS, audit_and_queue, data_snapshot, diff, snapshot
from clearinghouse.taxonomy import Taxonomy
from indexer.fetch import FetchError, FetchSettings, fetch
from indexer.pipeline import IngestReport, ingest_files
from indexer.readers import FORMATS, FormatError

log = logging.getLogger(__name__)

SOURCE_FORMATS = FORMATS  # every format the pipeline reads
REMOVED_BY_SOURCE = "removed-by-source"  # the audit action of a listing its feed dropped
REJECTS_KEPT = 5000  # rejected rows kept on the source for the staff CSV
RETRY_FIRST = timedelta(minutes=5)
STALE_RUN = timedelta(hours=1)  # a run "in progress" this long ago died with its process
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL = 60
# Review-queue suggestions carry what a person can review, never staff-only or derived fields.
_NOT_SUGGESTED = PRIVATE_FIELDS | {"unknown_concerns", "status", "verified_at"}


class SourceError(ValueError):
    """A source cannot be added or changed as asked; the message names the field."""


@dataclass(frozen=True)
class RefreshSettings:
    fetch: FetchSettings = field(default_factory=FetchSettings)
    removal_limit: float = 0.2  # the safety brake: the largest share one refresh may remove

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RefreshSettings:
        """The SOURCE_* settings of the app (see clearinghouse/config.py)."""
        defaults = FetchSettings()
        return cls(
            FetchSettings(
                timeout=float(config.get("SOURCE_FETCH_TIMEOUT", defaults.timeout)),
                max_bytes=int(config.get("SOURCE_MAX_BYTES", defaults.max_bytes)),
                retries=int(config.get("SOURCE_FETCH_RETRIES", defaults.retries)),
                backoff=float(config.get("SOURCE_RETRY_BACKOFF", defaults.backoff)),
            ),
            removal_limit=float(config.get("SOURCE_REMOVAL_LIMIT", cls.removal_limit)),
        )


@dataclass
class RefreshResult:
    """What one refresh did: the outcome, the import report (when it ran), and why not."""

    source: str
    outcome: str
    report: IngestReport | None = None
    rows: int = 0
    error: str = ""
    attention: str = ""

    def summary(self) -> str:
        if self.outcome == SourceOutcome.FAILED:
            return f"failed: {self.error}"
        if self.outcome == SourceOutcome.NOT_MODIFIED:
            return "not modified since the last refresh; nothing to do"
        assert self.report is not None
        text = refresh_summary(self.report, self.rows)
        return f"{text} (held: {self.attention})" if self.attention else text


def refresh_summary(report: IngestReport, rows: int) -> str:
    """`read N rows → G groups: A added, U updated, C unchanged, R rejected, X removed`."""
    return (
        f"read {rows} rows → {report.read} groups: {report.added} added, "
        f"{report.updated} updated, {report.unchanged} unchanged, {report.rejected} rejected, "
        f"{report.removed} removed"
    )


# -- adding and changing sources -------------------------------------------------------


def parse_interval(text: str) -> int:
    """ "6h", "30m", "1d", "90s" → seconds (at least a minute)."""
    match = _INTERVAL.match(text or "")
    if not match:
        raise SourceError(f"--every {text!r}: write a number and a unit, like 30m, 6h or 1d")
    seconds = int(match[1]) * _UNIT_SECONDS[match[2].lower()]
    if seconds < MIN_INTERVAL:
        raise SourceError(f"--every {text!r}: at least 1m between refreshes")
    if seconds > 90 * 86400:
        raise SourceError(f"--every {text!r}: at most 90d between refreshes")
    return seconds


def describe_interval(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def add_source(
    session: DbSession,
    name: str,
    *,
    url: str,
    fmt: str,
    taxonomy: Taxonomy,
    concern: str | None = None,
    every: str = "6h",
) -> FeedSource:
    """A new source, due at once; SourceError names what is wrong with the request."""
    from indexer.fetch import check_url

    name = name.strip()
    if not _NAME.match(name):
        raise SourceError(
            f"name {name!r}: use lower-case letters, digits, '.', '-' or '_' (up to 80), "
            "e.g. sepia-intergroup"
        )
    if session.scalar(select(FeedSource.id).where(FeedSource.name == name)) is not None:
        raise SourceError(f"name {name!r}: a source with this name exists; see `sources list`")
    problem = check_url(url)
    if problem:
        raise SourceError(f"url {url!r} {problem}")
    if fmt not in SOURCE_FORMATS:
        raise SourceError(f"format {fmt!r}: use one of {', '.join(SOURCE_FORMATS)}")
    if concern:
        slug = concern if concern in taxonomy else taxonomy.lookup(concern)
        if slug is None:
            raise SourceError(f"concern {concern!r} is not a concern; use a slug like alcohol")
        concern = slug
    elif fmt == "meeting-guide":
        raise SourceError(
            "concern: a meeting list names no concern; give one (e.g. alcohol for an AA list)"
        )
    source = FeedSource(
        name=name,
        url=url.strip(),
        format=fmt,
        concern=concern or None,
        interval_seconds=parse_interval(every),
        paused=False,
        next_run_at=utcnow(),
        counts={},
        rejects=[],
        last_error="",
        last_summary="",
        attention="",
        failures=0,
    )
    session.add(source)
    session.flush()
    log.info("event=source_added source=%s format=%s", name, fmt)
    return source


def find_source(session: DbSession, name: str) -> FeedSource:
    source = session.scalar(select(FeedSource).where(FeedSource.name == name.strip()))
    if source is None:
        raise SourceError(f"no source is named {name!r}; see `sources list`")
    return source


def set_paused(source: FeedSource, paused: bool) -> None:
    source.paused = paused
    if not paused:
        source.next_run_at = utcnow()  # resumed sources refresh at the next worker pass


# -- refreshing ------------------------------------------------------------------------


def due_sources(session: DbSession, now: datetime | None = None) -> list[FeedSource]:
    now = now or utcnow()
    query = (
        select(FeedSource)
        .where(
            FeedSource.paused.is_(False),
            FeedSource.next_run_at <= now,
            FeedSource.running_since.is_(None) | (FeedSource.running_since < now - STALE_RUN),
        )
        .order_by(FeedSource.next_run_at, FeedSource.id)
    )
    return list(session.scalars(query))


def claim(session: DbSession, source: FeedSource) -> bool:
    """Mark the source as refreshing; False when another process is refreshing it now."""
    now = utcnow()
    result: Any = session.execute(
        update(FeedSource)
        .where(
            FeedSource.id == source.id,
            (FeedSource.running_since.is_(None)) | (FeedSource.running_since < now - STALE_RUN),
        )
        .values(running_since=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(source)
    return bool(result.rowcount == 1)


def refresh_source(
    session: DbSession,
    source: FeedSource,
    *,
    taxonomy: Taxonomy,
    settings: RefreshSettings,
    allow_removals: bool = False,
) -> RefreshResult:
    """Fetch, import and prune one source; the outcome is recorded on it and committed.

    `allow_removals` is staff's answer to the safety brake: the feed is fetched whole (even
    when unchanged) and every listing it no longer carries is removed, however many.
    """
    if not claim(session, source):
        return RefreshResult(source.name, SourceOutcome.FAILED, error="already being refreshed")
    started = utcnow()
    try:
        with tempfile.TemporaryDirectory(prefix="clearinghouse-source-") as folder:
            result = _refresh(session, source, Path(folder), taxonomy, settings, allow_removals)
    except (FetchError, FormatError, UnicodeError, ValueError) as error:
        session.rollback()
        result = RefreshResult(source.name, SourceOutcome.FAILED, error=str(error)[:2000])
    except BaseException:
        session.rollback()
        source.running_since = None
        session.commit()
        raise
    _record(source, result, started)
    session.commit()
    log.info(
        "event=source_refreshed source=%s outcome=%s failures=%d %s",
        source.name,
        result.outcome,
        source.failures,
        _log_counts(result),
    )
    return result


def _refresh(
    session: DbSession,
    source: FeedSource,
    folder: Path,
    taxonomy: Taxonomy,
    settings: RefreshSettings,
    allow_removals: bool,
) -> RefreshResult:
    suffix = ".csv" if source.format == "csv" else ".json"
    fetched = fetch(
        source.url,
        folder / f"{source.name}{suffix}",
        fmt=source.format,
        settings=settings.fetch,
        etag=None if allow_removals else source.etag,
        last_modified=None if allow_removals else source.last_modified,
    )
    same = fetched.sha256 is not None and fetched.sha256 == source.body_sha256
    if fetched.not_modified or (same and not allow_removals):
        return RefreshResult(source.name, SourceOutcome.NOT_MODIFIED)
    assert fetched.path is not None
    live_before = _live_count(session, source.name)
    report = ingest_files(
        session,
        [fetched.path],
        fmt=source.format,
        source=source.name,
        default_concerns=(source.concern,) if source.concern else (),
        taxonomy=taxonomy,
        hold=_StaffEdits(session, source.name),
    )
    session.commit()
    result = RefreshResult(
        source.name, SourceOutcome.IMPORTED, report, rows=count_rows(fetched.path, source.format)
    )
    limit = None if allow_removals else settings.removal_limit
    attention = remove_dropped(session, source.name, report, live_before, limit)
    if attention:
        result.outcome, result.attention = SourceOutcome.HELD, attention
    # Only a feed that was imported sets the validators, so a failed import is fetched whole
    # again next time.
    source.etag, source.last_modified = fetched.etag, fetched.last_modified
    source.body_sha256 = fetched.sha256
    return result


def _record(source: FeedSource, result: RefreshResult, started: datetime) -> None:
    """Keep the outcome on the source and choose its next run."""
    now = utcnow()
    source.running_since = None
    source.last_run_at = started
    source.last_outcome = result.outcome
    interval = timedelta(seconds=source.interval_seconds)
    if result.outcome == SourceOutcome.FAILED:
        source.failures += 1
        source.last_error = result.error
        source.last_summary = result.summary()
        source.next_run_at = now + min(interval, RETRY_FIRST * 2 ** min(source.failures - 1, 12))
        return
    source.failures = 0
    source.last_error = ""
    source.next_run_at = now + interval
    if result.report is None:  # not modified: the last import's counts still describe it
        return
    report = result.report
    source.counts = {
        "rows": result.rows,
        "read": report.read,
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": report.rejected,
        "removed": report.removed,
        "held_for_review": report.held,
        "warnings": report.warning_count,
    }
    source.rejects = [[r.path, r.row, r.field, r.reason] for r in report.rejects[:REJECTS_KEPT]]
    source.attention = result.attention
    source.last_summary = result.summary()


def _log_counts(result: RefreshResult) -> str:
    report = result.report
    if report is None:
        return f"error={result.error[:200]!r}" if result.error else ""
    return (
        f"rows={result.rows} read={report.read} added={report.added} updated={report.updated} "
        f"unchanged={report.unchanged} rejected={report.rejected} removed={report.removed}"
    )


# -- listings the feed dropped ---------------------------------------------------------


def _live_query(name: str) -> Any:
    return select(Group).where(Group.source == name, Group.status != GroupStatus.ARCHIVED)


def _live_count(session: DbSession, name: str) -> int:
    query = _live_query(name).with_only_columns(func.count())
    return session.scalar(query) or 0


def remove_dropped(
    session: DbSession, name: str, report: IngestReport, live_before: int, limit: float | None
) -> str:
    """Archive the source's listings its feed no longer carries; or, held, why not.

    Returns "" when the removals (if any) were made, else the message for staff.  With
    `limit` None (staff said the removals are right) nothing is held.
    """
    dropped = [
        group
        for group in session.scalars(_live_query(name))
        if group.external_id not in report.keys
    ]
    if not dropped:
        return ""
    if limit is not None and report.read == 0:
        return (
            f"the feed listed nothing: {len(dropped)} listings kept; check the feed, then "
            "refresh again (listings are removed once the feed lists meetings again)"
        )
    share = len(dropped) / max(live_before, 1)
    if limit is not None and share > limit:
        return (
            f"this refresh would remove {len(dropped)} of {live_before} listings "
            f"({share:.0%}, more than the {limit:.0%} limit); nothing was removed. Check the "
            "feed; if the removals are right, run `clearinghouse sources refresh "
            f"{name} --allow-removals`"
        )
    actor = f"import:{name}"
    for group in dropped:
        old = group.status
        group.status = GroupStatus.ARCHIVED
        group.updated_at = utcnow()
        audit_and_queue(
            session, group, REMOVED_BY_SOURCE, actor, {"status": [old, GroupStatus.ARCHIVED]}
        )
    report.removed = len(dropped)
    session.commit()
    return ""


# -- staff edits win over the feed -----------------------------------------------------


class _StaffEdits:
    """The pipeline's hold: a staff-edited listing's feed changes go to review instead.

    A listing counts as edited by hand when staff ("user:…") updated it after the source's
    last import of it; the fields the feed would change become one pending suggested edit
    from the source (replaced, not repeated, by later refreshes; never re-sent once a
    reviewer rejected exactly these values).
    """

    def __init__(self, session: DbSession, name: str) -> None:
        self.session = session
        self.name = name
        self._edited: set[str] | None = None

    def edited(self) -> set[str]:
        if self._edited is None:
            importer = f"import:{self.name}"
            by_staff = AuditEvent.actor.like("user:%") & (AuditEvent.action == "update")
            staff_last = func.max(case((by_staff, AuditEvent.id)))
            import_last = func.max(case((AuditEvent.actor == importer, AuditEvent.id)))
            uuids = select(Group.uuid).where(Group.source == self.name)
            rows = self.session.execute(
                select(AuditEvent.group_uuid, staff_last, import_last)
                .where(AuditEvent.group_uuid.in_(uuids))
                .group_by(AuditEvent.group_uuid)
            )
            self._edited = {
                uuid for uuid, staff, imported in rows if staff and staff > (imported or 0)
            }
        return self._edited

    def __call__(self, data: Any, group: Group) -> bool:
        if group.uuid not in self.edited():
            return False
        changes = {
            name: new
            for name, (_old, new) in diff(snapshot(group), data_snapshot(data)).items()
            if name not in _NOT_SUGGESTED
        }
        if not changes:
            return False  # the feed agrees with the staff edit: nothing to review
        self._suggest(group, changes)
        return True

    def _suggest(self, group: Group, changes: dict[str, Any]) -> None:
        earlier = list(
            self.session.scalars(
                select(ChangeRequest).where(
                    ChangeRequest.group_id == group.id, ChangeRequest.source == self.name
                )
            )
        )
        if any(r.status == ReviewStatus.REJECTED and r.payload == changes for r in earlier):
            return
        pending = [r for r in earlier if r.status == ReviewStatus.PENDING]
        fields = ", ".join(sorted(changes))
        message = (
            f"The partner source {self.name!r} changed {fields}, but staff edited this listing "
            "by hand after its last import, so the source's values wait here for review."
        )
        if pending:
            pending[0].payload, pending[0].message = changes, message
            return
        self.session.add(
            ChangeRequest(
                kind="edit",
                group_id=group.id,
                payload=changes,
                message=message,
                source=self.name,
                status=ReviewStatus.PENDING,
            )
        )
        log.info("event=source_change_to_review source=%s group_id=%s", self.name, group.uuid)


# -- counting a feed's rows ------------------------------------------------------------


def count_rows(path: Path, fmt: str) -> int:
    """The records a feed lists (meeting rows, CSV data rows, services), before grouping."""
    try:
        if fmt == "csv":
            with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
                return max(0, sum(1 for row in csv.reader(handle) if any(row)) - 1)
        document = json.loads(path.read_bytes())
    except (OSError, ValueError, csv.Error):
        return 0
    return sum(1 for _item in _json_rows(document))


def _json_rows(document: Any) -> Iterator[Any]:
    if isinstance(document, list):
        yield from document
    elif isinstance(document, dict):
        for key in ("meetings", "contents", "data"):
            if isinstance(document.get(key), list):
                yield from document[key]
                return
        yield document
