"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, current_app, jsonify
from sqlalchemy import text

from clearinghouse.extensions import db, limiter
from clearinghouse.public import bp
from clearinghouse.search.base import SearchBackend
from indexer.sync import status

log = logging.getLogger(__name__)

DEFAULT_MAX_PENDING = 10_000


@bp.route("/healthz")
@limiter.exempt
def healthz() -> Response:
    """The process answers; touches nothing else."""
    return Response("ok", mimetype="text/plain")


@bp.route("/readyz")
@limiter.exempt
def readyz() -> tuple[Response, int]:
    """Ready when the database answers, the engine pings and the outbox is not far behind.

    A 503 names each failing check with its reason under `failing`, so a probe's log (or the
    person reading it) knows which part to look at.
    """
    checks: dict[str, Any] = {}
    failing: dict[str, str] = {}
    database_ok = _check_database(checks, failing)
    backend = _check_search(checks, failing)
    if database_ok and backend is not None:
        _check_outbox(checks, failing, backend)
    else:
        checks["outbox"] = "not checked: needs the database and the engine"
    if failing:
        log.warning("event=not_ready failing=%s", ",".join(sorted(failing)))
        body = {"status": "not ready", "checks": checks, "failing": failing}
        return jsonify(body), 503
    return jsonify({"status": "ready", "checks": checks}), 200


def _check_database(checks: dict[str, Any], failing: dict[str, str]) -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # any driver error means not ready
        db.session.rollback()
        checks["database"] = f"unavailable: {type(error).__name__}"
        failing["database"] = f"the database does not answer ({type(error).__name__})"
        return False
    checks["database"] = "ok"
    return True


def _check_search(checks: dict[str, Any], failing: dict[str, str]) -> SearchBackend | None:
    from clearinghouse.search import get_backend

    try:
        backend = get_backend()
        pinged = bool(backend.ping())
    except Exception as error:  # an engine that cannot even be built
        checks["search"] = {"ping": f"failed: {type(error).__name__}"}
        failing["search"] = f"the search engine could not be reached ({type(error).__name__})"
        return None
    checks["search"] = {"engine": backend.name, "ping": "ok" if pinged else "failed"}
    if not pinged:
        failing["search"] = f"the {backend.name} search engine does not answer its ping"
        return None
    return backend


def _check_outbox(checks: dict[str, Any], failing: dict[str, str], backend: SearchBackend) -> None:
    try:
        lag = status(db.session(), backend)
    except Exception as error:
        db.session.rollback()
        checks["outbox"] = f"unavailable: {type(error).__name__}"
        failing["outbox"] = f"the outbox could not be read ({type(error).__name__})"
        return
    limit = int(current_app.config.get("READYZ_MAX_PENDING", DEFAULT_MAX_PENDING))
    checks["outbox"] = {
        "pending": lag["pending"],
        "lag_seconds": lag["lag_seconds"],
        "last_seq": lag["last_seq"],
        "newest_seq": lag["newest_seq"],
        "max_pending": limit,
    }
    pending = int(str(lag["pending"]))
    if pending > limit:
        failing["outbox"] = (
            f"{pending} changes wait for the search index, more than {limit}; "
            f"the oldest has waited {lag['lag_seconds']} s (is `clearinghouse worker` running?)"
        )
