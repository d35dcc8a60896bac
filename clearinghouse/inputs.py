"""Rules for untrusted text, dates and numbers, shared by the web boundary and the importers.

Pure functions, no Flask: `clearinghouse.hardening` applies them to every request,
`clearinghouse.listings` to every imported or submitted record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

# C0 controls but tab, line feed and carriage return (forms send those from text areas), DEL,
# and the C1 controls. PostgreSQL refuses NUL in text; the rest only hide text from people.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Stricter for one-line values (URL paths, query parameters, e-mail addresses).
LINE_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The largest id an integer column holds on every database (PostgreSQL's INTEGER).
MAX_DATABASE_INT = 2**31 - 1
# The widest dates that survive time-zone arithmetic in either direction.
EARLIEST = datetime(1, 1, 2)
LATEST = datetime(9999, 12, 30)
MAX_NESTING = 32


def strip_control(text: str) -> str:
    """`text` without control characters (tab and line breaks are kept)."""
    return CONTROL_CHARACTERS.sub("", text)


def has_control(text: str, *, multiline: bool = False) -> bool:
    pattern = CONTROL_CHARACTERS if multiline else LINE_CONTROL_CHARACTERS
    return pattern.search(text) is not None


def clean_record(value: Any, depth: int = 0) -> Any:
    """A raw record with control characters removed from every string, keys included.

    Values nested deeper than any real record are left alone: validation reads none of them.
    """
    if isinstance(value, str):
        return strip_control(value)
    if depth >= MAX_NESTING:
        return value
    if isinstance(value, Mapping):
        return {clean_record(k, depth + 1): clean_record(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_record(item, depth + 1) for item in value]
    return value


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 date or date-time as naive UTC; ValueError when it is not one we can store.

    A date-time at the edge of the calendar (9999-12-31T23:59:59-01:00) is outside it once
    moved to UTC, so the range is checked before any arithmetic.
    """
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not an ISO 8601 date or date-time") from None
    if not EARLIEST <= moment.replace(tzinfo=None) <= LATEST:
        raise ValueError(f"{text[:40]!r} is out of range; use a year from 0001 to 9999")
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def parse_day(text: str) -> date:
    """A YYYY-MM-DD day that leaves room for a day either side; ValueError otherwise."""
    text = text.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a date (YYYY-MM-DD)") from None
    if not EARLIEST.date() <= day <= LATEST.date():
        raise ValueError(f"{text[:40]!r} is out of range; use a year from 0001 to 9999")
    return day


_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,18}")


def parse_int(text: str, low: int, high: int) -> int:
    """A whole number written in ASCII digits, within low..high; ValueError otherwise."""
    text = text.strip()
    if not _WHOLE_NUMBER.fullmatch(text):
        raise ValueError(f"{text[:40]!r} is not a whole number")
    number = int(text)
    if not low <= number <= high:
        raise ValueError(f"{number} is out of range; use {low} to {high}")
    return number
