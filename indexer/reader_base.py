"""What every import format shares: the record a reader yields, its errors, its encoding.

The format modules (`csv_layout`, `meeting_guide`, `hsds_reader`, `project_json`) import this
module and never each other; only the chooser (`indexer.readers`) imports the formats.  So a
new format is one new module plus one branch in the chooser.
"""

from __future__ import annotations

import codecs
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


# -- JSON ---------------------------------------------------------------------------------


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


def looks_like_meeting_feed(sample: list[dict[str, Any]]) -> bool:
    """True when objects read from a file look like Meeting Guide meetings."""
    return any(_MEETING_FEED_KEYS & item.keys() for item in sample) and not any(
        "meetings" in item or "service_at_locations" in item for item in sample
    )
