"""What every import format shares: the record a reader yields, its errors, its encoding.

The format modules (`csv_layout`, `meeting_guide`, `hsds_reader`, `project_json`) import this
module and never each other; only the chooser (`indexer.readers`) imports the formats.  So a
new format is one new module plus one branch in the chooser.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Big enough that a 10 MB field is read (and then rejected by validation with a reason).
FIELD_LIMIT = 64 * 1024 * 1024
_SURROGATE = re.compile("[\udc80-\udcff]")
_NON_ASCII_TEXT = re.compile("[^\x00-\x7f\udc80-\udcff]")

# A check of one record before rows are merged: [(field, message)] for what is wrong.
RowCheck = Callable[[dict[str, Any]], list[tuple[str, str]]]

# A CSV data record: (row number, values by column, failing field, error).
CsvRow = tuple[int, dict[str, str] | None, str, str | None]


@dataclass(frozen=True)
class RawRecord:
    """One listing read from a file: `record` in the raw listing shape, or why it is unreadable.

    `row` is the 1-based data row (CSV: the record number after the header; JSON: index + 1);
    for a merged meeting group, its first row.
    """

    row: int
    record: dict[str, Any] | None
    error: str | None = None
    field: str = ""
    warnings: tuple[str, ...] = ()
    # The file rows this record stands for: a merged meeting group is several, the second
    # listing of an HSDS service at two places none.
    rows: int = 1
    # Every (field, reason) when a row has several problems (else `field` and `error`).
    problems: tuple[tuple[str, str], ...] = ()


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
    # The records carry the partner's own ids (so the import needs a named source): the
    # id column of a CSV, or the key holding an id in a JSON item ("" when there is none).
    id_field: str = ""

    def records(self) -> Iterator[RawRecord]:
        return self.read()


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
    """Why a value read from a file cannot be used at all, or None.

    A byte that could not be decoded, or values nested deeper than any listing field goes
    (`MAX_DEPTH`): the row is rejected with this message instead of the reader recursing.
    """
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found:
                byte = ord(found.group()) - 0xDC00
                return (
                    f"holds a byte (0x{byte:02X}) that is not valid UTF-8; save the file as UTF-8"
                )
            continue
        if isinstance(item, Mapping):
            item = list(item.values())
        if isinstance(item, list | tuple):
            if depth >= MAX_DEPTH:
                return f"{TOO_DEEP} (more than {MAX_DEPTH} levels)"
            pending.extend((child, depth + 1) for child in item)
    return None


# -- JSON ---------------------------------------------------------------------------------

# No listing field nests deeper than a few levels; a value nested deeper is not data.
MAX_DEPTH = 16
TOO_DEEP = "holds values nested too deeply to be a listing"
# Integers longer than this stay text: Python refuses to convert 4,300+ digits, and no field
# takes a number this long, so validation rejects the field with its name instead.
_LONGEST_INTEGER = 300


def parse_int(text: str) -> int | str:
    return int(text) if len(text) <= _LONGEST_INTEGER else text


def parse_json(text: str) -> Any:
    """`json.loads`, except that one record too deeply nested to parse is not the whole file.

    When the document is an array, its items are parsed one by one and an item nested
    beyond Python's recursion limit becomes `Unreadable` (its row is rejected); any other
    document that deep raises `ValueError`.  Integers too long to be data stay text.
    """
    try:
        return json.loads(text, parse_int=parse_int)
    except RecursionError:
        return _array_items(text)


def _array_items(text: str) -> list[Any]:
    decoder = json.JSONDecoder(parse_int=parse_int)
    position = _skip_space(text, 0)
    if not text.startswith("[", position):
        raise ValueError("the document is nested too deeply to read")
    items: list[Any] = []
    position = _skip_space(text, position + 1)
    while not text.startswith("]", position):
        try:
            item, position = decoder.raw_decode(text, position)
        except RecursionError:
            item, position = Unreadable(f"{TOO_DEEP} to read"), _value_end(text, position)
        items.append(item)
        position = _skip_space(text, position)
        if text.startswith(",", position):
            position = _skip_space(text, position + 1)
        elif not text.startswith("]", position):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, position)
    if text[position + 1 :].strip():
        raise json.JSONDecodeError("Extra data", text, position + 1)
    return items


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _value_end(text: str, position: int) -> int:
    """Where the array or object starting at `position` ends, counting brackets, not recursing."""
    depth, in_string, index = 0, False, position
    while index < len(text):
        char = text[index]
        if in_string:
            if char == "\\":
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    raise json.JSONDecodeError("Unterminated array or object", text, position)


@dataclass(frozen=True)
class Unreadable:
    """A line of an NDJSON file that is not JSON; the record at that row is rejected."""

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


# Keys only a Meeting Guide meeting has: any reader that finds them can say "use
# --format meeting-guide" instead of a bare refusal.
_MEETING_FEED_KEYS = {"day", "time", "types", "formatted_address", "conference_url", "end_time"}


def id_field(items: list[Any], names: tuple[str, ...]) -> str:
    """The first of `names` that holds a value in some item of a JSON document, or ""."""
    for name in names:
        if any(isinstance(item, Mapping) and item.get(name) not in (None, "") for item in items):
            return name
    return ""


def looks_like_meeting_feed(sample: list[dict[str, Any]]) -> bool:
    """True when objects read from a file look like Meeting Guide meetings."""
    return any(_MEETING_FEED_KEYS & item.keys() for item in sample) and not any(
        "meetings" in item or "service_at_locations" in item for item in sample
    )
