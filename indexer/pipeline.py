"""The ingest pipeline: read → validate → geocode → dedupe → store, with a report that adds up.

Each record is validated by `validate_listing` (the one validation), placed on the map by
`geocode_listing`, matched to what the store already holds, and written by `apply_listing`
(the one write path, with audit and outbox).  Matching:

- same source + external id → that group, updated in place (or left unchanged);
- no external id → a stable key `auto:<hash>` of the name, place and schedule, stored as the
  external id so that a re-run finds the group again;
- the same group already listed by *another* source (`duplicates.same_group`) → added anyway and
  both flagged `possible-duplicate:<other uuid>` for staff;
- the same external id or slug twice in one run → the second is rejected ("duplicate of row N").

Work is committed every `BATCH` records.  A dry run does everything a real run does and rolls
each batch back, so its counts are the counts a real run would give, while the write lock
(SQLite) or the outbox lock (PostgreSQL) is held for one batch at a time, never for the whole
file: the site keeps answering and saving during a dry run of a large file.  (One difference:
a dry run does not flag a listing as a possible duplicate of one added earlier in the same
run from another file.)
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, scoped_session, selectinload

from clearinghouse.duplicates import flag_pair, name_key, same_group
from clearinghouse.geocoding import geocode_listing
from clearinghouse.groups import with_details
from clearinghouse.inputs import strip_control
from clearinghouse.listings import ListingData, Validation, validate_listing
from clearinghouse.models import Group, GroupStatus
from clearinghouse.resources import resource_dir
from clearinghouse.store import Change, apply_listing, apply_listings
from clearinghouse.taxonomy import Taxonomy
from indexer.readers import DEFAULT_CONCERNS, FormatError, RawRecord, Source, open_sources

log = logging.getLogger(__name__)

BATCH = 500
MAX_WARNINGS = 10_000  # kept in the report; the rest are only counted
MEETING_LISTS = ("meeting-guide", "tsml", "bmlt")
# A plain session, or Flask-SQLAlchemy's scoped `db.session`.
AnySession = Session | scoped_session[Any]
# Called for an existing listing before it is updated: True keeps it as it is (the hook has
# sent the changes elsewhere, e.g. to review), False lets the update through.
HoldUpdate = Callable[[ListingData, Group], bool]


@dataclass(frozen=True)
class Reject:
    """One reason a row was not stored; a row with several problems has several."""

    path: str
    row: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.path} row {self.row}" if self.row else self.path
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


Notice = Reject  # a warning has the same shape: where, which field, what was repaired


@dataclass
class IngestReport:
    """What a run did; `read == added + updated + unchanged + rejected` always holds.

    `read` counts listings (groups): a meeting list's rows merge into groups, an HSDS
    service at two places is two.  `rows` counts the file's rows (meetings, services,
    CSV records): each is in one of the groups or rejected on its own.
    """

    rows: int = 0
    read: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[Notice] = field(default_factory=list)
    flagged_duplicates: int = 0
    warning_count: int = 0
    # Source refreshes: listings archived because the feed no longer carries them, and
    # staff-edited listings whose feed changes went to review instead (counted as unchanged).
    removed: int = 0
    held: int = 0
    # The ids (external or `auto:` keys) of every listing the files carried, rejected rows
    # included when their id could be read: what a refresh keeps.
    keys: set[str] = field(default_factory=set, repr=False)

    def summary(self) -> str:
        return (
            f"read {self.rows} rows → {self.read} groups: {self.added} added, "
            f"{self.updated} updated, {self.unchanged} unchanged, {self.rejected} rejected"
        )

    def details(self) -> str:
        """The summary plus warnings and duplicate flags, for people reading the output."""
        extra = []
        if self.warning_count:
            extra.append(f"{self.warning_count} warnings")
        if self.flagged_duplicates:
            extra.append(f"{self.flagged_duplicates} possible duplicates flagged for staff")
        if self.held:
            extra.append(f"{self.held} staff-edited listings: the source's changes sent to review")
        return self.summary() + (f" ({'; '.join(extra)})" if extra else "")

    def reject(self, path: str, row: int, field_name: str, reason: str) -> None:
        self.rejects.append(Reject(path, row, field_name, _shorten(reason)))

    def warn(self, path: str, row: int, field_name: str, message: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(Notice(path, row, field_name, _shorten(message)))


def ingest_files(
    session: AnySession,
    paths: Sequence[Path],
    *,
    fmt: str,
    source: str | None = None,
    default_concerns: Sequence[str] = (),
    dry_run: bool = False,
    taxonomy: Taxonomy,
    progress: bool = False,
    hold: HoldUpdate | None = None,
) -> IngestReport:
    """Import files of one format; every file is checked before anything is written.

    `source` names who sent the files: listings are matched by their ids within it.  A file
    whose records carry their own ids needs one (`require_source`); a file without ids may
    go without, and is then its own source, named after the file.
    """

    default_concerns = tuple(default_concerns) or DEFAULT_CONCERNS.get(fmt, ())

    def check(record: dict[str, Any]) -> list[tuple[str, str]]:
        validation = validate(record, taxonomy, default_concerns)
        return [(error.field, error.message) for error in validation.errors]

    sources = open_sources([Path(path) for path in paths], fmt, check=check)
    for opened in sources:
        _require_concern(opened, default_concerns)
        if source is None:
            require_source(opened)
    run = _Run(session, taxonomy, default_concerns, dry_run, progress, hold)
    try:
        for opened in sources:
            label = opened.path.name
            for message in opened.warnings:
                run.report.warn(label, 0, "", message.removeprefix(f"{label}: "))
            run.feed(opened.records(), path=label, source=source or label, total=opened.total)
        run.finish()
    except BaseException:
        session.rollback()
        raise
    return run.report


def ingest_records(
    session: AnySession,
    records: Iterable[RawRecord | dict[str, Any]],
    *,
    taxonomy: Taxonomy,
    source: str,
    default_concerns: Sequence[str] = (),
    dry_run: bool = False,
    status: str = GroupStatus.ACTIVE,
    progress: bool = False,
    total: int | None = None,
) -> IngestReport:
    """Import raw records (dicts are numbered 1, 2, … as rows) from one source."""
    run = _Run(session, taxonomy, default_concerns, dry_run, progress)
    try:
        run.feed(records, path=source, source=source, total=total, status=status)
        run.finish()
    except BaseException:
        session.rollback()
        raise
    return run.report


def load_sample_listings(folder: Path | None = None) -> Iterator[dict[str, Any]]:
    """The sample listings in `folder` (default seed_data/): sample_listings.json or .json.gz."""
    folder = folder or resource_dir("seed_data")
    plain, packed = folder / "sample_listings.json", folder / "sample_listings.json.gz"
    if plain.exists():
        text = plain.read_text(encoding="utf-8")
    elif packed.exists():
        text = gzip.decompress(packed.read_bytes()).decode("utf-8")
    else:
        raise FileNotFoundError(f"no sample listings in {folder} (sample_listings.json)")
    listings = json.loads(text)
    if isinstance(listings, dict):
        listings = listings.get("data", [])
    yield from listings


def listing_key(data: ListingData) -> str:
    """A stable external id for a record that has none: name, place and schedule."""
    place = data.location
    where = (place.postal_code or f"{place.city.lower()},{place.region}") if place else ""
    schedule = [
        [m.freq, list(m.byday), str(m.start or ""), str(m.end or "")] for m in data.meetings
    ]
    name = " ".join(data.name.lower().split())
    text = json.dumps([name, where, data.online_url or "", schedule], sort_keys=True)
    return "auto:" + hashlib.sha256(text.encode()).hexdigest()[:24]


def validate(
    record: dict[str, Any], taxonomy: Taxonomy, default_concerns: Sequence[str]
) -> Validation:
    """validate_listing for a partner's record (default concerns only for records naming
    none; unusable place and join fields left out with a warning, see `from_feed`)."""
    return validate_listing(record, taxonomy, default_concerns=default_concerns, from_feed=True)


def require_source(opened: Source) -> None:
    """FormatError when a file carries its own ids but no source was named.

    Ids are only unique within one partner's data: two partners' `listings.csv` both with
    `external_id` 1 would overwrite each other's listing if the file name were the source.
    """
    if opened.id_field:
        raise FormatError(
            f"{opened.path.name}: its records carry their own ids ({opened.id_field}), so name "
            "who sent it with --source NAME (e.g. --source lakeside-hospice): ids are matched "
            "within a source, and another partner's file with the same ids would overwrite "
            "these listings"
        )


def _require_concern(opened: Source, default_concerns: Sequence[str]) -> None:
    if opened.layout in MEETING_LISTS and not default_concerns:
        raise FormatError(
            f"{opened.path.name}: a meeting list names no concern; give one with --concern "
            "(e.g. --concern alcohol for an AA list)"
        )


class _Run:
    """One import run: counts, the keys seen so far, and batched writes."""

    def __init__(
        self,
        session: AnySession,
        taxonomy: Taxonomy,
        default_concerns: Sequence[str],
        dry_run: bool,
        progress: bool,
        hold: HoldUpdate | None = None,
    ) -> None:
        self.hold = hold
        self.session: Session = session if isinstance(session, Session) else session()
        self.taxonomy = taxonomy
        self.default_concerns = tuple(default_concerns)
        self.dry_run = dry_run
        self.progress = progress
        self.report = IngestReport()
        self.seen_keys: dict[tuple[str, str], tuple[str, int]] = {}
        self.seen_slugs: dict[str, tuple[str, int]] = {}
        # name → source → group ids: the candidates for "the same group from another source".
        self.names: dict[str, dict[str | None, list[int]]] | None = None
        self.started = time.monotonic()
        self.savepoints = session.get_bind().dialect.name == "postgresql"

    def feed(
        self,
        records: Iterable[RawRecord | dict[str, Any]],
        *,
        path: str,
        source: str,
        total: int | None = None,
        status: str = GroupStatus.ACTIVE,
    ) -> None:
        from tqdm import tqdm

        source = strip_control(source)  # a file name or --source is stored with every group
        bar = tqdm(total=total, file=sys.stderr, disable=not self.progress, unit=" records",
                   desc=path[:30])  # fmt: skip
        batch: list[tuple[int, ListingData]] = []
        # One log line per stored listing would bury the progress bar; the audit trail keeps
        # every change, and `finish` logs the run.
        store_log = logging.getLogger("clearinghouse.store")
        level = store_log.level
        store_log.setLevel(max(logging.WARNING, store_log.getEffectiveLevel()))
        try:
            for index, raw in enumerate(records, start=1):
                self.report.read += 1
                bar.update()
                prepared = self._prepare(raw, index, path, source)
                if prepared is not None:
                    batch.append(prepared)
                if len(batch) >= BATCH:
                    self._store(batch, path, source, status)
                    batch = []
            if batch:
                self._store(batch, path, source, status)
        finally:
            store_log.setLevel(level)
            bar.close()

    def finish(self) -> None:
        order = {
            path: index
            for index, path in enumerate(dict.fromkeys(r.path for r in self.report.rejects))
        }
        self.report.rejects.sort(key=lambda reject: (order[reject.path], reject.row))
        if self.dry_run:
            self.session.rollback()
        else:
            self.session.commit()
        report = self.report
        log.info(
            "event=ingest_finished dry_run=%s rows=%d read=%d added=%d updated=%d unchanged=%d "
            "rejected=%d warnings=%d duplicates=%d took_ms=%d",
            self.dry_run, report.rows, report.read, report.added, report.updated, report.unchanged,
            report.rejected, report.warning_count, report.flagged_duplicates,
            (time.monotonic() - self.started) * 1000,
        )  # fmt: skip

    # -- steps ---------------------------------------------------------------------------

    def _prepare(
        self, raw: RawRecord | dict[str, Any], index: int, path: str, source: str
    ) -> tuple[int, ListingData] | None:
        """Validate, key and geocode one record; None (and a reject) when it cannot be stored."""
        if not isinstance(raw, RawRecord):
            raw = RawRecord(index, raw)
        row, report = raw.row, self.report
        report.rows += raw.rows
        for message in raw.warnings:
            report.warn(path, row, "", message)
        if raw.record is None:
            problems = raw.problems or ((raw.field or "record", raw.error or "unreadable"),)
            return self._rejected(path, row, list(problems))
        validation = validate(raw.record, self.taxonomy, self.default_concerns)
        for warning in validation.warnings:
            report.warn(path, row, warning.field, warning.message)
        if validation.data is None or validation.errors:
            given = raw.record.get("external_id")
            if isinstance(given, str | int) and not isinstance(given, bool) and str(given).strip():
                report.keys.add(str(given).strip())  # still carried, though rejected this time
            return self._rejected(path, row, [(e.field, e.message) for e in validation.errors])
        data = validation.data
        key = data.external_id or listing_key(data)
        report.keys.add(key)
        earlier = self.seen_keys.get((source, key))
        slug_earlier = self.seen_slugs.get(data.slug) if data.slug else None
        if earlier or slug_earlier:
            name = "external_id" if earlier else "slug"
            return self._rejected(path, row, [(name, _duplicate_of(earlier or slug_earlier, path))])
        self.seen_keys[(source, key)] = (path, row)
        if data.slug:
            self.seen_slugs[data.slug] = (path, row)
        data, notes = geocode_listing(dataclasses.replace(data, external_id=key))
        for note in notes:
            # An approximate place is expected for addresses without coordinates (the
            # listing is flagged for staff); only a place that could not be found is news.
            if "placed approximately" not in note:
                name, _, message = note.partition(": ")
                report.warn(path, row, name, message)
        return row, data

    def _rejected(self, path: str, row: int, problems: list[tuple[str, str]]) -> Any:
        self.report.rejected += 1
        for name, message in problems or [("record", "is not valid")]:
            self.report.reject(path, row, name, message)
        return None

    def _store(
        self, batch: list[tuple[int, ListingData]], path: str, source: str, status: str
    ) -> None:
        """Write one batch: existing groups fetched in one query, then commit (or flush)."""
        session = self.session
        keys = [data.external_id for _row, data in batch if data.external_id]
        existing = {
            group.external_id: group
            for group in session.scalars(
                with_details(
                    select(Group).where(Group.source == source, Group.external_id.in_(keys))
                )
            )
        }
        items = [(data, existing.get(data.external_id)) for _row, data in batch]
        if self.hold is not None:
            batch, items = self._without_held(batch, items)
        others = [self._duplicate(data, source) if group is None else None for data, group in items]
        changes = self._apply_batch(batch, items, source, status, path)
        for (_row, _data), other, change in zip(batch, others, changes, strict=True):
            if change is None:
                continue
            setattr(self.report, change.action, getattr(self.report, change.action) + 1)
            if change.action == "added":
                if not self.dry_run:  # a dry run's groups are rolled back with their batch
                    self._remember(change.group, source)
                if other is not None:
                    self._flag(change.group, other)
        if self.dry_run:
            session.rollback()  # counted; release the locks before the next batch
        else:
            session.commit()

    def _without_held(
        self, batch: list[tuple[int, ListingData]], items: list[tuple[ListingData, Group | None]]
    ) -> tuple[list[tuple[int, ListingData]], list[tuple[ListingData, Group | None]]]:
        """Leave out the existing listings `hold` keeps as they are (counted unchanged)."""
        assert self.hold is not None
        kept_batch, kept_items = [], []
        for entry, (data, group) in zip(batch, items, strict=True):
            if group is not None and self.hold(data, group):
                self.report.unchanged += 1
                self.report.held += 1
                continue
            kept_batch.append(entry)
            kept_items.append((data, group))
        return kept_batch, kept_items

    def _apply_batch(
        self,
        batch: list[tuple[int, ListingData]],
        items: list[tuple[ListingData, Group | None]],
        source: str,
        status: str,
        path: str,
    ) -> list[Change | None]:
        """apply_listings for the batch (new groups inserted with one flush).

        On PostgreSQL the batch runs in a savepoint; if the database refuses any row, the
        batch is rolled back and written again row by row, each in its own savepoint, so a
        refused row is only that row.
        """
        actor = f"import:{source}"
        if not self.savepoints:
            return list(
                apply_listings(self.session, items, actor=actor, source=source, status=status)
            )
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self.session.begin_nested():
                return list(
                    apply_listings(self.session, items, actor=actor, source=source, status=status)
                )
        except SQLAlchemyError as error:
            log.info("event=ingest_batch_retry_by_row reason=%s", type(error).__name__)
        return [
            self._apply(data, group, source, status, path, row)
            for (row, _data), (data, group) in zip(batch, items, strict=True)
        ]

    def _apply(
        self, data: ListingData, group: Group | None, source: str, status: str, path: str, row: int
    ) -> Any:
        """apply_listing for one row, inside a savepoint (PostgreSQL)."""
        actor = f"import:{source}"
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self.session.begin_nested():
                return apply_listing(
                    self.session, data, actor=actor, group=group, source=source, status=status
                )
        except SQLAlchemyError as error:
            reason = str(getattr(error, "orig", error)).splitlines()[0]
            self._rejected(path, row, [("record", f"the database refused it ({reason})")])
            return None

    # -- duplicates from other sources ---------------------------------------------------

    def _name_index(self) -> dict[str, dict[str | None, list[int]]]:
        if self.names is None:
            self.names = {}
            rows = self.session.execute(select(Group.id, Group.name, Group.source))
            for group_id, name, group_source in rows:
                by_source = self.names.setdefault(name_key(name), {})
                by_source.setdefault(group_source, []).append(group_id)
        return self.names

    def _remember(self, group: Group, source: str) -> None:
        if self.names is not None:
            by_source = self.names.setdefault(name_key(group.name), {})
            by_source.setdefault(source, []).append(group.id)

    def _duplicate(self, data: ListingData, source: str) -> Group | None:
        by_source = self._name_index().get(name_key(data.name), {})
        candidates = [
            group_id
            for group_source, ids in by_source.items()
            if group_source != source
            for group_id in ids
        ]
        if not candidates:
            return None
        query = select(Group).where(
            Group.id.in_(candidates[:20]), or_(Group.source.is_(None), Group.source != source)
        )
        for candidate in self.session.scalars(query.options(selectinload(Group.location))):
            if same_group(data, candidate):
                return candidate
        return None

    def _flag(self, added: Group, other: Group) -> None:
        flag_pair(added, other)
        self.report.flagged_duplicates += 1
        log.info("event=ingest_possible_duplicate group_id=%s other_id=%s", added.uuid, other.uuid)


def _shorten(text: str, limit: int = 500) -> str:
    """Messages may quote the bad value; a 10 MB value must not reach the terminal."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _duplicate_of(where: tuple[str, int] | None, path: str) -> str:
    if where is None:
        return "duplicate"
    earlier_path, row = where
    return (
        f"duplicate of row {row}"
        if earlier_path == path
        else f"duplicate of {earlier_path} row {row}"
    )
