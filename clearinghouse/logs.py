"""Structured logs: one JSON object a line.

The code logs events as `log.info("event=login user_id=%s", user.id)`, readable in the source and
in a test's captured output; `JsonFormatter` turns each into `{"event": "login", "user_id": 7, …}`
with the time, level, logger and the message itself. A message from a library (no `event=`) keeps
its text under `message` and its logger's name as the event.

What goes into a message is the caller's choice, so the rule for callers is: ids, counts, names of
things and error types — never a person's contact details, a password, an API key (its prefix is
fine), a session token or a listing's private fields. `tests/web/test_logs.py` plants such values,
runs a session of actions with logging at DEBUG and scans every line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

# `key=value` pairs; a value runs to the next ` key=` so an error text with spaces stays whole.
_FIELD = re.compile(r"([a-z_][a-z0-9_]*)=(.*?)(?=\s+[a-z_][a-z0-9_]*=|\s*$)", re.S)
_INTEGER = re.compile(r"-?[0-9]{1,18}")
_DECIMAL = re.compile(r"-?[0-9]{1,18}\.[0-9]+")
# Reserved names a message's own fields may not overwrite.
_RESERVED = ("time", "level", "logger", "message")
# Libraries that log every statement and row at INFO/DEBUG (rows hold private contact fields):
# kept at WARNING whatever level the app logs at.
QUIET_LIBRARIES = ("sqlalchemy", "urllib3", "elastic_transport", "geopy", "faker")


def event_fields(message: str) -> dict[str, Any]:
    """The fields of an `event=name key=value …` message; {} for any other message."""
    if not message.startswith("event="):
        return {}
    fields: dict[str, Any] = {}
    for name, value in _FIELD.findall(message):
        fields[name] = _typed(value)
    return fields


def _typed(value: str) -> Any:
    if _INTEGER.fullmatch(value):
        return int(value)
    if _DECIMAL.fullmatch(value):
        return float(value)
    return {"True": True, "False": False, "-": None}.get(value, value)


class JsonFormatter(logging.Formatter):
    """Formats each record as one line of JSON (newlines inside values are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        fields = event_fields(message)
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": fields.pop("event", None) or record.name,
        }
        for name, value in fields.items():
            entry[f"field_{name}" if name in _RESERVED else name] = value
        entry["message"] = message
        if record.exc_info:
            entry["error"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: int | str = logging.INFO, stream: IO[str] | None = None) -> logging.Handler:
    """Send every log record, at `level` and above, to `stream` (stderr) as JSON lines.

    Replaces a handler an earlier call installed, so building the app twice logs each line once.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler.formatter, JsonFormatter):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
