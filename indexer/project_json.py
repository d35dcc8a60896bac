"""The project's own JSON (what the API and `/groups/<id>.json` give) → raw listing records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from indexer.reader_base import RawRecord, Unreadable, json_items, undecodable


def read_items(document: Any) -> Iterator[RawRecord]:
    """The groups of a project JSON document (already sniffed) as raw records."""
    for row, item in enumerate(json_items(document) or [], start=1):
        if isinstance(item, Unreadable):
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
