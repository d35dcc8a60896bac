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
    engine answers searches in its place; "not ready" (503) when nothing can answer.
    """
    from clearinghouse.search import get_backend, get_fallback

    checks: dict[str, Any] = {}
    ready = True
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # any driver error means not ready
        db.session.rollback()
        checks["database"] = f"unavailable: {type(error).__name__}"
        ready = False
    serving, serving_state = _engine_check(checks, "search", get_backend, STATE_NAME)
    degraded = False
    if serving is None and ready:
        fallback, fallback_state = _engine_check(
            checks, "fallback", get_fallback, FALLBACK_STATE_NAME
        )
        if fallback is not None:
            serving, serving_state, degraded = fallback, fallback_state, True
    ready = ready and serving is not None
    if ready and serving is not None:
        ready = _outbox_check(checks, serving, serving_state)
    state = "degraded" if ready and degraded else "ready" if ready else "not ready"
    if state != "ready":
        log.warning("event=%s checks=%s", state.replace(" ", "_"), checks)
    return jsonify({"status": state, "checks": checks}), (200 if ready else 503)


def _engine_check(
    checks: dict[str, Any],
    key: str,
    get: Callable[[], SearchBackend | None],
    state_name: str,
) -> tuple[SearchBackend | None, str]:
    """The engine if it pings (recording the check under `key`), else None."""
    try:
        backend = get()
        if backend is None:
            return None, state_name
        pinged = bool(backend.ping())
        checks[key] = {"engine": backend.name, "ping": "ok" if pinged else "failed"}
    except Exception as error:  # an engine that cannot even be built
        checks[key] = {"ping": f"failed: {type(error).__name__}"}
        return None, state_name
    return (backend if pinged else None), state_name


def _outbox_check(checks: dict[str, Any], backend: SearchBackend, state_name: str) -> bool:
    """The serving engine's lag behind the outbox, within READYZ_MAX_PENDING."""
    try:
        lag = status(db.session(), backend, state_name)
        limit = int(current_app.config.get("READYZ_MAX_PENDING", DEFAULT_MAX_PENDING))
        checks["outbox"] = {
            "engine": backend.name,
            "pending": lag["pending"],
            "lag_seconds": lag["lag_seconds"],
            "last_seq": lag["last_seq"],
            "newest_seq": lag["newest_seq"],
            "max_pending": limit,
        }
        return int(str(lag["pending"])) <= limit
    except Exception as error:
        db.session.rollback()
        checks["outbox"] = f"unavailable: {type(error).__name__}"
        return False
