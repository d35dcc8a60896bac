"""The public site: find a group, understand it, get there; suggest groups and edits."""

from __future__ import annotations

import logging
import re

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

bp = Blueprint("public", __name__)

# Where a person is searching from never reaches the logs: request lines written by the
# server (werkzeug) have the place and coordinates in their query strings masked.
_PLACE_PARAMS = re.compile(r"([?&](?:near|lat|lon)=)[^&\s\"]*", re.I)
# Nor does the secret token of a group's confirmation link (clearinghouse/freshness.py).
_CONFIRM_TOKEN = re.compile(r"(/confirm/)[^/\s?\"]+")


def mask_place(text: str) -> str:
    return _CONFIRM_TOKEN.sub(r"\1…", _PLACE_PARAMS.sub(r"\1…", text))


class PlaceMaskingFilter(logging.Filter):
    """Masks `near`, `lat` and `lon` values in log records (request lines included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        if isinstance(record.msg, str):
            record.msg = mask_place(record.msg)
        return True


@bp.record_once
def _mask_request_logs(state: BlueprintSetupState) -> None:
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, PlaceMaskingFilter) for f in logger.filters):
        logger.addFilter(PlaceMaskingFilter())


from clearinghouse.public import (  # noqa: E402,F401  (routes)
    confirm,
    embed,
    errors,
    exports,
    health,
    submit,
    views,
)
