"""Backups: the whole directory as one JSON Lines file, and back into an empty instance.

The file (gzip-compressed when its name ends in `.gz`) is, one JSON value a line:

- a manifest: `{"format": "clearinghouse-backup", "version": 1, "schema_revision": …,
  "exported_at": …, "tables": {table: [column, …]}}`;
- one line per row, `[table, [value, …]]`, values in the manifest's column order, tables in
  foreign-key order and rows in primary-key order (so two exports of the same data are the
  same bytes after the manifest, whatever the database);
- an end line, `{"end": true, "rows": {table: count}}`, so a cut-off file is refused.

What is left out: sign-ins (`staff_sessions`), the outbox and the index position (an import
queues every listing for the index instead), the stored public bodies (made again on first
read, `clearinghouse.bodies`), and every password hash — imported accounts get
an unusable password and must be given a new one (`clearinghouse users set-password`).  API
keys are kept as their hashes, so partners' keys go on working.

Both directions stream: rows are read and written in batches, never all at once.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import Connection, Table, insert, literal, select, text
from sqlalchemy.sql.sqltypes import Date, DateTime, Time

from clearinghouse.models import Base, Group, Outbox, utcnow

FORMAT = "clearinghouse-backup"
VERSION = 1
# Never exported: secrets and session state, and what the import rebuilds itself.
SKIPPED_TABLES = frozenset(
    {"staff_sessions", "outbox", "sync_state", "alembic_version", "public_bodies"}
)
# Exported without these columns; the import fills them with the value given here.
WITHHELD_COLUMNS: dict[str, dict[str, str]] = {"users": {"password_hash": "!password-reset"}}
# Tables an import replaces: `init` fills them, and they hold nothing of anyone's.
REPLACED_TABLES = frozenset({"concerns", "geocode_cache"})
BATCH_SIZE = 1000


class BackupError(ValueError):
    """A backup that cannot be written or read, or a database it cannot go into, said plainly."""


@dataclass(frozen=True)
class BackupReport:
    rows: dict[str, int]

    def summary(self) -> str:
        listed = ", ".join(f"{count} {table}" for table, count in self.rows.items() if count)
        return listed or "nothing"


def backup_tables() -> list[Table]:
    """The tables a backup holds, parents before children."""
    return [table for table in Base.metadata.sorted_tables if table.name not in SKIPPED_TABLES]


def exported_columns(table: Table) -> list[str]:
    withheld = WITHHELD_COLUMNS.get(table.name, {})
    return [column.name for column in table.columns if column.name not in withheld]


def export_backup(connection: Connection, path: Path) -> BackupReport:
    """Write the whole directory to `path`, streaming, in one read transaction."""
    tables = backup_tables()
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "schema_revision": schema_revision(connection),
        "exported_at": utcnow().isoformat(),
        "tables": {table.name: exported_columns(table) for table in tables},
    }
    counts: dict[str, int] = {}
    with _open(path, "w") as out:
        out.write(_line(manifest))
        for table in tables:
            counts[table.name] = 0
            for row in _rows_in_key_order(connection, table):
                out.write(_line([table.name, [_encode(value) for value in row]]))
                counts[table.name] += 1
        out.write(_line({"end": True, "rows": counts}))
    return BackupReport(counts)


def import_backup(connection: Connection, path: Path) -> BackupReport:
    """Load a backup into an empty database in the caller's transaction.

    The schema must be migrated (`migrate`) and hold no listings, users, keys, requests or
    history; the concern taxonomy and geocoding cache that `init` may have loaded are
    replaced.  Every listing is queued for the search index.  Raises BackupError, after which
    the caller rolls back.
    """
    tables = {table.name: table for table in backup_tables()}
    _refuse_non_empty(connection)
    with _open(path, "r") as source:
        lines = (json.loads(line) for line in source if line.strip())
        manifest = _check_manifest(next(lines, None), tables, schema_revision(connection))
        for name in REPLACED_TABLES:
            connection.execute(tables[name].delete())
        counts = _load_rows(connection, lines, tables, manifest["tables"])
    _restart_sequences(connection)
    _queue_for_index(connection)
    return BackupReport(counts)


def schema_revision(connection: Connection) -> str | None:
    return connection.scalar(text("SELECT version_num FROM alembic_version"))


def _rows_in_key_order(connection: Connection, table: Table) -> Iterator[Any]:
    columns = [table.c[name] for name in exported_columns(table)]
    order = [_bytewise(connection, column) for column in table.primary_key.columns]
    result = connection.execution_options(stream_results=True, yield_per=BATCH_SIZE).execute(
        select(*columns).order_by(*order)
    )
    yield from result


def _bytewise(connection: Connection, column: Any) -> Any:
    """Order text keys by their bytes on every database (PostgreSQL's default is locale order)."""
    if column.type.python_type is not str:
        return column
    return column.collate("C" if connection.dialect.name == "postgresql" else "BINARY")


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _decode(table: Table, names: list[str], values: list[Any]) -> dict[str, Any]:
    row: dict[str, Any] = dict(WITHHELD_COLUMNS.get(table.name, {}))
    for name, value in zip(names, values, strict=True):
        kind = table.c[name].type
        if value is not None and isinstance(kind, DateTime):
            value = datetime.fromisoformat(value)
        elif value is not None and isinstance(kind, Date):
            value = date.fromisoformat(value)
        elif value is not None and isinstance(kind, Time):
            value = time.fromisoformat(value)
        row[name] = value
    return row


def _line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def _open(path: Path, mode: str) -> IO[str]:
    if path.suffix == ".gz":
        return cast(IO[str], gzip.open(path, mode + "t", encoding="utf-8"))
    return path.open(mode, encoding="utf-8")


def _refuse_non_empty(connection: Connection) -> None:
    for table in Base.metadata.sorted_tables:
        if table.name in REPLACED_TABLES or table.name == "sync_state":
            continue
        if connection.scalar(select(literal(1)).select_from(table).limit(1)) is not None:
            raise BackupError(
                f"the database is not empty (table {table.name} has rows): a backup goes only "
                "into a new database; create one and run `clearinghouse import` against it"
            )


def _check_manifest(
    manifest: Any, tables: dict[str, Table], revision: str | None
) -> dict[str, Any]:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("this is not a clearinghouse backup (its first line has no manifest)")
    if manifest.get("version") != VERSION:
        raise BackupError(
            f"backup format version {manifest.get('version')!r} is not supported (this "
            f"version reads {VERSION})"
        )
    if manifest.get("schema_revision") != revision:
        raise BackupError(
            f"the backup was made at schema revision {manifest.get('schema_revision')!r} and "
            f"this database is at {revision!r}: import it with the version that made it, "
            "then upgrade"
        )
    for name, columns in manifest.get("tables", {}).items():
        if name not in tables or columns != exported_columns(tables[name]):
            raise BackupError(f"the backup's table {name!r} does not match this schema")
    return manifest


def _load_rows(
    connection: Connection,
    lines: Iterator[Any],
    tables: dict[str, Table],
    columns: dict[str, list[str]],
) -> dict[str, int]:
    counts = dict.fromkeys(columns, 0)
    batch: list[dict[str, Any]] = []
    current: Table | None = None
    for number, line in enumerate(lines, start=2):
        if isinstance(line, dict) and line.get("end") is True:
            _insert(connection, current, batch)
            if line.get("rows") != counts:
                raise BackupError(f"the backup's row counts do not match its rows (line {number})")
            return counts
        if not (isinstance(line, list) and len(line) == 2 and line[0] in columns):
            raise BackupError(f"line {number} of the backup is not a row of a known table")
        name, values = line
        if current is None or current.name != name:
            if counts[name]:
                raise BackupError(f"line {number} of the backup: {name} rows out of order")
            _insert(connection, current, batch)
            current, batch = tables[name], []
        try:
            batch.append(_decode(current, columns[name], values))
        except (TypeError, ValueError) as error:
            raise BackupError(f"line {number} of the backup has a bad value: {error}") from error
        counts[name] += 1
        if len(batch) >= BATCH_SIZE and not _self_referencing(current):
            _insert(connection, current, batch)
            batch = []
    raise BackupError("the backup ends early (no end line): it was cut off; nothing was imported")


def _insert(connection: Connection, table: Table | None, rows: list[dict[str, Any]]) -> None:
    if table is None or not rows:
        return
    if _self_referencing(table):
        rows = _parents_first(table, rows)
    connection.execute(insert(table), rows)


def _self_referencing(table: Table) -> bool:
    return any(key.column.table is table for key in table.foreign_keys)


def _parents_first(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order a self-referencing table's rows (the concern tree) so parents go in first."""
    (key,) = [key for key in table.foreign_keys if key.column.table is table]
    child, parent = key.parent.name, key.column.name
    placed: set[Any] = set()
    ordered: list[dict[str, Any]] = []
    waiting = rows
    while waiting:
        ready = [row for row in waiting if row[child] is None or row[child] in placed]
        if not ready:
            raise BackupError(f"the backup's {table.name} refer to parents it does not hold")
        ordered.extend(ready)
        placed.update(row[parent] for row in ready)
        waiting = [row for row in waiting if row[parent] not in placed]
    return ordered


def _restart_sequences(connection: Connection) -> None:
    """Point PostgreSQL's id sequences past the imported ids (SQLite follows by itself)."""
    if connection.dialect.name != "postgresql":
        return
    for table in backup_tables():
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or keys[0].type.python_type is not int:
            continue
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{keys[0].name}'), "
                f"COALESCE(MAX({keys[0].name}), 0) + 1, false) FROM {table.name}"
            )
        )


def _queue_for_index(connection: Connection) -> None:
    """One outbox upsert per listing, in id order: the worker or `index rebuild` applies them."""
    connection.execute(
        insert(Outbox).from_select(
            ["group_uuid", "group_id", "action", "created_at"],
            select(Group.uuid, Group.id, literal("upsert"), literal(utcnow())).order_by(Group.id),
        )
    )
