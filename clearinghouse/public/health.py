"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, current_app, jsonify
from sqlalchemy import text

from clearinghouse.extensions import db, limiter
from clearinghouse.public import bp
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
    """Ready when the database answers, the engine pings and the outbox is not far behind."""
    from clearinghouse.search import get_backend

    checks: dict[str, Any] = {}
    ready = True
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # any driver error means not ready
        db.session.rollback()
        checks["database"] = f"unavailable: {type(error).__name__}"
        ready = False
    try:
        backend = get_backend()
        pinged = bool(backend.ping())
        checks["search"] = {"engine": backend.name, "ping": "ok" if pinged else "failed"}
        ready = ready and pinged
    except Exception as error:  # an engine that cannot even be built
        checks["search"] = {"ping": f"failed: {type(error).__name__}"}
        backend = None
        ready = False
    if checks["database"] == "ok" and backend is not None:
        try:
            lag = status(db.session(), backend)
            limit = int(current_app.config.get("READYZ_MAX_PENDING", DEFAULT_MAX_PENDING))
            checks["outbox"] = {
                "pending": lag["pending"],
                "lag_seconds": lag["lag_seconds"],
                "last_seq": lag["last_seq"],
                "newest_seq": lag["newest_seq"],
                "max_pending": limit,
            }
            if int(str(lag["pending"])) > limit:
                ready = False
        except Exception as error:
            db.session.rollback()
            checks["outbox"] = f"unavailable: {type(error).__name__}"
            ready = False
    if not ready:
        log.warning("event=not_ready checks=%s", checks)
    return jsonify({"status": "ready" if ready else "not ready", "checks": checks}), (
        200 if ready else 503
    )
