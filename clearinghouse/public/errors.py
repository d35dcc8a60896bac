"""Friendly error pages (HTML for people, JSON for clients that ask only for JSON)."""

from __future__ import annotations

import logging

from flask import Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError

from clearinghouse.database import is_database_busy
from clearinghouse.extensions import db
from clearinghouse.i18n import N_, gettext
from clearinghouse.public import bp

log = logging.getLogger(__name__)

TITLES = {
    400: N_("Something in that request didn't look right"),
    403: N_("That isn't available"),
    404: N_("We couldn't find that page"),
    405: N_("That page can't be used that way"),
    429: N_("Too many tries"),
    500: N_("Something went wrong on our side"),
    503: N_("We're not available right now"),
}
MESSAGES = {
    400: N_("Please go back and check what you entered."),
    404: N_("The page may have moved, or the group may no longer be listed."),
    429: N_("You've sent several forms in a short time. Please wait a while and try again."),
    500: N_("We've noted the problem. Please try again in a moment."),
    503: N_(
        "The directory is busy for a moment (nothing you sent was lost or half-saved). "
        "Please try again in a few seconds."
    ),
}
RETRY_AFTER_SECONDS = 5
API_BLUEPRINTS = ("api", "hsds")


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_response(status: int, detail: str | None = None) -> tuple[str | Response, int]:
    title = gettext(TITLES.get(status, N_("Something went wrong")))
    message = gettext(detail or MESSAGES.get(status, ""))
    if _wants_json():
        return jsonify({"title": title, "status": status, "detail": message}), status
    try:
        page = render_template("public/error.html", status=status, title=title, message=message)
    except Exception:  # the page needs the database too (who is signed in): say it plainly
        log.warning("event=error_page_fallback status=%d", status, exc_info=True)
        page = f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{message}</p>"
    return page, status


def rollback_session() -> None:
    """End the failed request's transaction first, so the error page can use the database.

    Without it, a failed flush leaves the session unusable and the handler itself raises
    PendingRollbackError (a second 500 instead of a page).
    """
    try:
        db.session.rollback()
    except Exception:  # a connection that is gone cannot roll back; the pool replaces it
        log.warning("event=rollback_failed", exc_info=True)


@bp.app_errorhandler(SQLAlchemyError)
def database_error(error: SQLAlchemyError) -> Response:
    """A busy or unreachable database is a 503 with Retry-After; anything else a 500."""
    rollback_session()
    if not is_database_busy(error):
        raise error  # a bug: the 500 handler below answers (and tests see the traceback)
    log.warning(
        "event=database_busy path=%s error=%s detail=%r",
        request.path,
        type(error).__name__,
        str(getattr(error, "orig", error)).splitlines()[0][:200],
    )
    if request.blueprint in API_BLUEPRINTS:
        from clearinghouse.api.http import ApiProblem, problem_response

        return problem_response(
            ApiProblem(
                503,
                "the database is busy or unreachable for a moment; retry after "
                f"{RETRY_AFTER_SECONDS} seconds",
                slug="database-busy",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        )
    body, status = error_response(503)
    response = body if isinstance(body, Response) else Response(body, mimetype="text/html")
    response.status_code = status
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@bp.app_errorhandler(CSRFError)
def csrf_error(error: CSRFError) -> tuple[str | Response, int]:
    log.info("event=csrf_refused path=%s", request.path)
    return error_response(
        400,
        N_(
            "This form had expired or was sent from somewhere else. "
            "Please reload the page and send it again — what you typed may need re-entering."
        ),
    )


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[str | Response, int] | HTTPException:
    status = error.code or 500
    if status < 400:
        return error
    detail = error.description if status in (404, 400) and _is_ours(error) else None
    return error_response(status, detail)


@bp.app_errorhandler(InternalServerError)
def server_error(error: InternalServerError) -> tuple[str | Response, int]:
    rollback_session()
    log.error("event=server_error path=%s", request.path, exc_info=error.original_exception)
    return error_response(500)


def _is_ours(error: HTTPException) -> bool:
    """Our own abort() messages are written for people; werkzeug's defaults are not."""
    return bool(error.description) and error.description != type(error).description
