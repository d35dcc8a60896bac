"""The format chooser: open an import file as its declared format, or say what it is instead.

A reader checks that the file is what `--format` says *before* yielding anything (a
`FormatError` with one message otherwise), then yields records in the project's raw listing
shape (what `clearinghouse.listings.validate_listing` takes), or an error for a row that
cannot be read at all.  Readers never touch the database; see docs/import-formats.md.

This module is the only one that imports the format modules (`csv_layout`,
`meeting_guide`, `hsds_reader`, `project_json`); they and it share `indexer.reader_base`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from indexer import bmlt, csv_layout, hsds_reader, hsds_tables, meeting_guide, project_json
from indexer.reader_base import (
    FIELD_LIMIT,
    TOO_DEEP,
    CsvRow,
    Encoding,
    FormatError,
    RawRecord,
    RowCheck,
    Source,
    Unreadable,
    detect_encoding,
    id_field,
    json_items,
    looks_like_meeting_feed,
    parse_int,
    parse_json,
    undecodable,
)

__all__ = [
    "DEFAULT_CONCERNS",
    "FORMATS",
    "FormatError",
    "RawRecord",
    "Source",
    "open_source",
    "open_sources",
    "read_records",
]

FORMATS = ("csv", "json", "meeting-guide", "hsds", "bmlt")
# The concern of a format's records when the import gives none: BMLT is NA's.
DEFAULT_CONCERNS = {"bmlt": ("drugs",)}


def open_sources(paths: Sequence[Path], fmt: str, *, check: RowCheck | None = None) -> list[Source]:
    """`open_source` for each path; BMLT files share the GetFormats catalogues among them."""
    if fmt == "bmlt":
        return _open_bmlt([Path(path) for path in paths], check)
    return [open_source(path, fmt, check=check) for path in paths]


def open_source(path: Path, fmt: str, *, check: RowCheck | None = None) -> Source:
    """Sniff `path` as `fmt` and return a Source; raise FormatError if it is something else.

    `check` (meeting lists only) validates each meeting row alone before rows of the same
    group are merged, so one broken row is rejected on its own and never sinks its group.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise FormatError(f"{path.name}: unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "hsds" and hsds_tables.is_package(path):
        return _open_hsds_package(path)
    if path.is_dir():
        raise FormatError(f"{path.name}: a folder; only --format hsds reads a folder of tables")
    if fmt == "csv":
        return _open_csv(path, check)
    if fmt == "bmlt":
        return _open_bmlt([path], check)[0]
    items, layout, warnings = _load_json(path, fmt)
    layout = fmt if fmt != "json" else layout
    if fmt == "meeting-guide":
        meeting_guide.sniff(path, items)
        reader: Callable[[], Iterator[RawRecord]] = partial(meeting_guide.read_feed, items, check)
        ids = id_field(items, ("slug", "id"))
    elif fmt == "hsds":
        items = hsds_reader.sniff(path, items)
        reader = partial(hsds_reader.read_services, items)
        ids = id_field(items, ("id",))
    else:
        _sniff_project_json(path, items)
        reader = partial(project_json.read_items, items)
        ids = id_field(json_items(items) or [], ("external_id", "id"))
    # Meeting rows merge and HSDS services split, so only project JSON knows its count.
    listed = json_items(items) if fmt == "json" else None
    total = len(listed) if listed is not None else None
    return Source(path, fmt, layout, reader, warnings, total, id_field=ids)


def read_records(path: Path, fmt: str, *, check: RowCheck | None = None) -> Iterator[RawRecord]:
    """The records of one file (FormatError first if it is not `fmt`)."""
    return open_source(path, fmt, check=check).records()


def _open_hsds_package(path: Path) -> Source:
    """An HSDS datapackage: its tables joined into services, then read as HSDS JSON is."""
    package = hsds_tables.read_package(path)
    outcomes = [line for line in hsds_tables.iter_tally(package) if " used" not in line
                or "," in line]  # fmt: skip
    warnings = [*package.warnings, *outcomes]

    def read() -> Iterator[RawRecord]:
        told: set[int] = set()
        for record in hsds_reader.read_services(package.services):
            extra = package.row_warnings.get(record.row, []) if record.row not in told else []
            told.add(record.row)
            yield replace(record, warnings=(*extra, *record.warnings)) if extra else record

    return Source(path, "hsds", "hsds-datapackage", read, warnings)


def _open_bmlt(paths: list[Path], check: RowCheck | None) -> list[Source]:
    """A GetFormats file in the same import translates the format keys of the others."""
    opened = []
    for path in paths:
        document, _layout, warnings = _load_json(path, "bmlt")
        meetings, catalogue = bmlt.sniff(path, document)
        opened.append((path, meetings, catalogue, warnings))
    shared: bmlt.Catalogue = {}
    for _path, meetings, catalogue, _warnings in opened:
        if catalogue and not meetings:
            shared.update(catalogue)
    sources = []
    for path, meetings, catalogue, warnings in opened:
        formats = catalogue or shared or None
        if meetings and formats is None:
            warnings.append(
                f"{path.name}: no GetFormats catalogue (add the server's GetFormats response "
                "to the import); format keys were read as NAWS world ids"
            )
        reader = partial(bmlt.read_meetings, meetings, formats, check)
        sources.append(Source(path, "bmlt", "bmlt", reader, warnings))
    return sources


# -- JSON --------------------------------------------------------------------------------


def _load_json(path: Path, fmt: str) -> tuple[Any, str, list[str]]:
    """Parse a JSON document or NDJSON (one object per line); FormatError if neither."""
    encoding = detect_encoding(path)
    text = path.read_bytes().decode(encoding.name, encoding.errors)
    warnings = [encoding.warning] if encoding.warning else []
    stripped = text.lstrip()
    if not stripped:
        raise FormatError(f"{path.name}: the file is empty; expected {_expected(fmt)}")
    try:
        return parse_json(text), "json", warnings
    except json.JSONDecodeError as error:
        first_error = error
    except ValueError as error:  # nested too deeply, and not an array of records
        raise FormatError(f"{path.name}: {error}; expected {_expected(fmt)}") from None
    if stripped.startswith("{"):
        items: list[Any] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line, parse_int=parse_int))
            except RecursionError:
                items.append(Unreadable(f"line {number} {TOO_DEEP} to read"))
            except json.JSONDecodeError:
                if not items:
                    break
                items.append(Unreadable(f"line {number} is not JSON"))
        else:
            return items, "ndjson", warnings
    looks = "CSV" if "," in text.split("\n", 1)[0] else "something else"
    raise FormatError(
        f"{path.name}: not JSON (looks like {looks}; {first_error.msg} at line "
        f"{first_error.lineno} column {first_error.colno}); expected {_expected(fmt)}"
    )


def _expected(fmt: str) -> str:
    return {
        "json": 'the project\'s JSON: an array of groups, {"data": [...]} or NDJSON',
        "meeting-guide": "a Meeting Guide JSON feed: an array of meetings",
        "hsds": 'HSDS 3.0 JSON: an array of services or a page with "contents"',
        "csv": "CSV with a header row",
        "bmlt": "BMLT semantic JSON (GetSearchResults or GetFormats)",
    }[fmt]


def _sniff_project_json(path: Path, document: Any) -> None:
    items = json_items(document)
    if items is None:
        if isinstance(document, dict) and "contents" in document:
            raise FormatError(
                f"{path.name}: looks like HSDS (a page with contents); use --format hsds"
            )
        raise FormatError(
            f"{path.name}: expected {_expected('json')}; found a {type(document).__name__}"
        )
    sample = [item for item in items[:50] if isinstance(item, dict)]
    if items and not sample:
        raise FormatError(f"{path.name}: expected {_expected('json')}; the items are not objects")
    if sample and looks_like_meeting_feed(sample):
        raise FormatError(
            f"{path.name}: looks like a Meeting Guide feed; use --format meeting-guide"
        )
    if sample and hsds_reader.looks_like_services(sample):
        raise FormatError(f"{path.name}: looks like HSDS services; use --format hsds")
    if sample and not any("name" in item for item in sample):
        raise FormatError(f"{path.name}: expected {_expected('json')}; no item has a name")


# -- CSV ---------------------------------------------------------------------------------


def _open_csv(path: Path, check: RowCheck | None) -> Source:
    encoding = detect_encoding(path)
    with path.open(encoding=encoding.name, errors=encoding.errors, newline="") as handle:
        head = handle.read(64 * 1024)
    warnings = [encoding.warning] if encoding.warning else []
    stripped = head.lstrip()
    if not stripped:
        raise FormatError(f"{path.name}: the file is empty; expected CSV with a header row")
    if head.count("\x00") > len(head) // 100:  # one NUL in a cell is that row's problem
        raise FormatError(f"{path.name}: a binary file, not CSV text")
    if stripped[0] in "[{":
        raise FormatError(
            f"{path.name}: looks like JSON, not CSV; use --format json or meeting-guide"
        )
    # Lines may end in CR alone (classic Mac exports), so split them as csv will.
    delimiter = _delimiter(stripped.splitlines()[0])
    header = [
        normalise_column(name)
        for name in next(csv.reader(io.StringIO(stripped, newline=""), delimiter=delimiter))
    ]
    layout = csv_layout.detect(header)
    if layout is None:
        shown = ", ".join(name for name in header[:8] if name) or "nothing"
        raise FormatError(
            f"{path.name}: no recognisable CSV header (found {shown}); expected the project's "
            "columns (name, concerns, …, see docs/import-formats.md) or the 12 Step Meeting "
            "List template (Time, Day, Name, Location, Address, Types, …)"
        )
    unknown = csv_layout.unknown_columns(header, layout)
    if unknown:
        warnings.append(f"{path.name}: columns ignored (not in the layout): {', '.join(unknown)}")

    def read() -> Iterator[RawRecord]:
        rows = _csv_rows(path, encoding, delimiter, header)
        if layout == "tsml":
            return meeting_guide.read_tsml(rows, check)
        return csv_layout.read_rows(rows)

    id_columns = ("slug", "id") if layout == "tsml" else ("external_id", "id")
    ids = next((name for name in id_columns if name in header), "")
    return Source(path, "csv", layout, read, warnings, id_field=ids)


def normalise_column(name: str) -> str:
    """Column names compare by words: "Postal Code" → "postal_code"; a BOM is ignored."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lstrip("\ufeff").lower()).strip("_")


def _delimiter(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=lambda sep: counts[sep]) if any(counts.values()) else ","


def _csv_rows(
    path: Path, encoding: Encoding, delimiter: str, header: list[str]
) -> Iterator[CsvRow]:
    """(row number, values by column, failing field, error) for every non-blank data record."""
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)
    with path.open(encoding=encoding.name, errors=encoding.errors, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        row = 0
        while True:
            row += 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield row, None, "record", f"cannot be read as CSV ({error})"
                continue
            if not any(value.strip() for value in values):
                continue
            extra = [value for value in values[len(header) :] if value.strip()]
            if extra:
                message = f"has {len(values)} fields but the header has {len(header)}"
                yield row, None, "record", message
                continue
            named = dict(zip(header, values, strict=False))
            for column, value in named.items():
                if problem := undecodable(value):
                    yield row, None, column or "record", problem
                    break
            else:
                yield row, named, "", None
