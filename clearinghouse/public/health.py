"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, jsonify
from sqlalchemy import text

from clearinghouse.extensions import db, limiter
from clearinghouse.public import bp
from clearinghouse.search.base import SearchBackend
from indexer.sync import FALLBACK_STATE_NAME, STATE_NAME, status

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

    "degraded" (still 200: keep sending traffic) when the engine is down but the fallback
    engine answers searches in its place; "not ready" (503) when nothing can answer. A 503
    names each failing check with its reason under `failing`, so a probe's log (or the person
    reading it) knows which part to look at.
    """
    from clearinghouse.search import get_backend, get_fallback

    checks: dict[str, Any] = {}
    failing: dict[str, str] = {}
    database_ok = _check_database(checks, failing)
    serving = _check_engine(checks, failing, "search", get_backend)
    state_name, degraded = STATE_NAME, None
    if serving is None and database_ok:
        fallback = _check_engine(checks, {}, "fallback", get_fallback)
        if fallback is not None:
            serving, state_name = fallback, FALLBACK_STATE_NAME
            degraded = failing.pop("search", "")
    if database_ok and serving is not None:
        _check_outbox(checks, failing, serving, state_name)
    else:
        checks["outbox"] = "not checked: needs the database and the engine"
    if failing:
        log.warning("event=not_ready failing=%s", ",".join(sorted(failing)))
        body = {"status": "not ready", "checks": checks, "failing": failing}
        return jsonify(body), 503
    if degraded is not None:
        log.warning("event=degraded reason=search_engine_down")
        body = {"status": "degraded", "checks": checks, "degraded": degraded}
        return jsonify(body), 200
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


def _check_engine(
    checks: dict[str, Any],
    failing: dict[str, str],
    key: str,
    get: Callable[[], SearchBackend | None],
) -> SearchBackend | None:
    """The engine if it pings (recording the check under `key`), else None."""
    try:
        backend = get()
        if backend is None:
            return None
        pinged = bool(backend.ping())
    except Exception as error:  # an engine that cannot even be built
        checks[key] = {"ping": f"failed: {type(error).__name__}"}
        failing[key] = f"the search engine could not be reached ({type(error).__name__})"
        return None
    checks[key] = {"engine": backend.name, "ping": "ok" if pinged else "failed"}
    if not pinged:
        failing[key] = f"the {backend.name} search engine does not answer its ping"
        return None
    return backend


def _check_outbox(
    checks: dict[str, Any], failing: dict[str, str], backend: SearchBackend, state_name: str
) -> None:
    """The serving engine's lag behind the outbox, within READYZ_MAX_PENDING."""
    try:
        lag = status(db.session(), backend, state_name)
    except Exception as error:
        db.session.rollback()
        checks["outbox"] = f"unavailable: {type(error).__name__}"
        failing["outbox"] = f"the outbox could not be read ({type(error).__name__})"
        return
    limit = int(current_app.config.get("READYZ_MAX_PENDING", DEFAULT_MAX_PENDING))
    checks["outbox"] = {
        "engine": backend.name,
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
