"""Readers: turn an import file into raw listing records, one `RawRecord` per listing.

A reader checks that the file is what `--format` says *before* yielding anything (a
`FormatError` with one message otherwise), then yields records in the project's raw listing
shape (what `clearinghouse.listings.validate_listing` takes), or an error for a row that
cannot be read at all.  Readers never touch the database; see docs/import-formats.md.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

FORMATS = ("csv", "json", "meeting-guide", "hsds")
# Big enough that a 10 MB field is read (and then rejected by validation with a reason).
FIELD_LIMIT = 64 * 1024 * 1024
_SURROGATE = re.compile("[\udc80-\udcff]")
_NON_ASCII_TEXT = re.compile("[^\x00-\x7f\udc80-\udcff]")

# A check of one record before rows are merged: [(field, message)] for what is wrong.
RowCheck = Callable[[dict[str, Any]], list[tuple[str, str]]]


@dataclass(frozen=True)
class RawRecord:
    """One listing read from a file: `record` in the raw listing shape, or why it is unreadable.

    `row` is the 1-based data row (CSV: the record number after the header; JSON: index + 1).
    """

    row: int
    record: dict[str, Any] | None
    error: str | None = None
    field: str = ""
    warnings: tuple[str, ...] = ()


class FormatError(ValueError):
    """The file is not what its declared format says; the message names the file and why."""


@dataclass
class Source:
    """A file whose format has been checked, ready to be read record by record."""

    path: Path
    fmt: str
    layout: str
    read: Callable[[], Iterator[RawRecord]]
    warnings: list[str] = field(default_factory=list)
    total: int | None = None

    def records(self) -> Iterator[RawRecord]:
        return self.read()


def open_source(path: Path, fmt: str, *, check: RowCheck | None = None) -> Source:
    """Sniff `path` as `fmt` and return a Source; raise FormatError if it is something else.

    `check` (meeting lists only) validates each meeting row alone before rows of the same
    group are merged, so one broken row is rejected on its own and never sinks its group.
    """
    from indexer import hsds_reader, meeting_guide

    path = Path(path)
    if fmt not in FORMATS:
        raise FormatError(f"{path.name}: unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "csv":
        return _open_csv(path, check)
    items, layout, warnings = _load_json(path, fmt)
    layout = fmt if fmt != "json" else layout
    if fmt == "meeting-guide":
        meeting_guide.sniff(path, items)
        reader: Callable[[], Iterator[RawRecord]] = partial(meeting_guide.read_feed, items, check)
    elif fmt == "hsds":
        items = hsds_reader.sniff(path, items)
        reader = partial(hsds_reader.read_services, items)
    else:
        _sniff_project_json(path, items)
        reader = partial(_read_project_json, items)
    # Meeting rows merge and HSDS services split, so only project JSON knows its count.
    listed = json_items(items) if fmt == "json" else None
    total = len(listed) if listed is not None else None
    return Source(path, fmt, layout, reader, warnings, total)


def read_records(path: Path, fmt: str, *, check: RowCheck | None = None) -> Iterator[RawRecord]:
    """The records of one file (FormatError first if it is not `fmt`)."""
    return open_source(path, fmt, check=check).records()


# -- encodings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Encoding:
    name: str
    errors: str
    warning: str | None


def detect_encoding(path: Path) -> Encoding:
    """UTF-8 (with or without BOM) or UTF-16 with BOM; else decide between two repairs.

    A file whose non-ASCII bytes are never valid UTF-8 was saved by a legacy program: it
    is read as Windows-1252 with a warning.  A file that is mostly UTF-8 with some broken
    bytes is read as UTF-8, and each row holding an undecodable byte is rejected with its
    number — guessing there would silently garble the rows that are right.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return Encoding("utf-16", "surrogateescape", None)
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8-sig")("surrogateescape")
        broken = valid = 0
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            text = decoder.decode(chunk)
            if text.isascii():
                continue
            broken += len(_SURROGATE.findall(text))
            valid += 1 if _NON_ASCII_TEXT.search(text) else 0
        broken += len(_SURROGATE.findall(decoder.decode(b"", final=True)))
    if not broken:
        return Encoding("utf-8-sig", "surrogateescape", None)
    if not valid:
        return Encoding(
            "cp1252",
            "surrogateescape",
            f"{path.name}: not UTF-8; read as Windows-1252 (cp1252) — check accented letters, "
            "and save the file as UTF-8 next time",
        )
    return Encoding(
        "utf-8-sig",
        "surrogateescape",
        f"{path.name}: some rows are not valid UTF-8 and were rejected; save the file as UTF-8",
    )


def undecodable(value: Any) -> str | None:
    """A message when a value read from a file holds a byte that could not be decoded."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        if found:
            byte = ord(found.group()) - 0xDC00
            return f"holds a byte (0x{byte:02X}) that is not valid UTF-8; save the file as UTF-8"
        return None
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            message = undecodable(item)
            if message:
                return message
    return None


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
        return json.loads(text), "json", warnings
    except json.JSONDecodeError as error:
        first_error = error
    if stripped.startswith("{"):
        items: list[Any] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError:
                if not items:
                    break
                items.append(_Unreadable(f"line {number} is not JSON"))
        else:
            return items, "ndjson", warnings
    looks = "CSV" if "," in text.split("\n", 1)[0] else "something else"
    raise FormatError(
        f"{path.name}: not JSON (looks like {looks}; {first_error.msg} at line "
        f"{first_error.lineno} column {first_error.colno}); expected {_expected(fmt)}"
    )


@dataclass(frozen=True)
class _Unreadable:
    reason: str


def json_items(items: Any) -> list[Any] | None:
    """The records in a JSON document: an array, `{"data": [...]}` as the API gives, or one."""
    if isinstance(items, list):
        return items
    if isinstance(items, dict) and isinstance(items.get("data"), list):
        return items["data"]
    if isinstance(items, dict) and "name" in items:
        return [items]  # one group: a single-line NDJSON export, or one API item
    return None


def _expected(fmt: str) -> str:
    return {
        "json": 'the project\'s JSON: an array of groups, {"data": [...]} or NDJSON',
        "meeting-guide": "a Meeting Guide JSON feed: an array of meetings",
        "hsds": 'HSDS 3.0 JSON: an array of services or a page with "contents"',
        "csv": "CSV with a header row",
    }[fmt]


def _sniff_project_json(path: Path, document: Any) -> None:
    from indexer import hsds_reader, meeting_guide

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
    if sample and meeting_guide.looks_like_feed(sample):
        raise FormatError(
            f"{path.name}: looks like a Meeting Guide feed; use --format meeting-guide"
        )
    if sample and hsds_reader.looks_like_services(sample):
        raise FormatError(f"{path.name}: looks like HSDS services; use --format hsds")
    if sample and not any("name" in item for item in sample):
        raise FormatError(f"{path.name}: expected {_expected('json')}; no item has a name")


def _read_project_json(document: Any) -> Iterator[RawRecord]:
    for row, item in enumerate(json_items(document) or [], start=1):
        if isinstance(item, _Unreadable):
            yield RawRecord(row, None, item.reason, "record")
        elif not isinstance(item, dict):
            yield RawRecord(row, None, "is not an object with fields", "record")
        elif message := undecodable(item):
            yield RawRecord(row, None, message, "record")
        else:
            yield RawRecord(row, project_record(item))


def project_record(item: dict[str, Any]) -> dict[str, Any]:
    """A group in the public JSON shape as a raw record: the public `id` becomes the external id."""
    record = dict(item)
    if not record.get("external_id") and record.get("id"):
        record["external_id"] = str(record["id"])
    for name in ("id", "url", "distance", "updated_at", "created_at"):
        record.pop(name, None)
    meetings = record.get("meetings")
    if isinstance(meetings, list):
        record["meetings"] = [
            {k: v for k, v in meeting.items() if k != "text"}
            if isinstance(meeting, dict)
            else meeting
            for meeting in meetings
        ]
    return record


# -- CSV ---------------------------------------------------------------------------------


def _open_csv(path: Path, check: RowCheck | None) -> Source:
    from indexer import csv_layout, meeting_guide

    encoding = detect_encoding(path)
    with path.open(encoding=encoding.name, errors=encoding.errors, newline="") as handle:
        head = handle.read(64 * 1024)
    warnings = [encoding.warning] if encoding.warning else []
    stripped = head.lstrip()
    if not stripped:
        raise FormatError(f"{path.name}: the file is empty; expected CSV with a header row")
    if "\x00" in head:
        raise FormatError(f"{path.name}: a binary file, not CSV text")
    if stripped[0] in "[{":
        raise FormatError(
            f"{path.name}: looks like JSON, not CSV; use --format json or meeting-guide"
        )
    delimiter = _delimiter(stripped.split("\n", 1)[0])
    header = [
        normalise_column(name)
        for name in next(csv.reader(io.StringIO(stripped), delimiter=delimiter))
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

    return Source(path, "csv", layout, read, warnings)


def normalise_column(name: str) -> str:
    """Column names compare by words: "Postal Code" → "postal_code"; a BOM is ignored."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lstrip("\ufeff").lower()).strip("_")


def _delimiter(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=lambda sep: counts[sep]) if any(counts.values()) else ","


CsvRow = tuple[int, dict[str, str] | None, str, str | None]


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
