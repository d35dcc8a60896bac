"""The staff console: curate listings, review submissions, verify, import, report."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, Response, abort, request
from flask.blueprints import BlueprintSetupState
from flask_login import current_user
from sqlalchemy import func, select

from clearinghouse.accounts import find_signed_in
from clearinghouse.extensions import db, login_manager
from clearinghouse.models import ChangeRequest, ReviewStatus, User

bp = Blueprint("staff", __name__, url_prefix="/staff")

F = TypeVar("F", bound=Callable[..., Any])
# Pages anyone may open: the sign-in page itself.
PUBLIC_ENDPOINTS = frozenset({"staff.login"})


@bp.record_once
def _configure_login(state: BlueprintSetupState) -> None:
    login_manager.login_view = "staff.login"
    login_manager.login_message = "Please sign in to use the staff console."
    login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(token: str) -> User | None:
    """The session and remember-me cookies carry a sign-in token the server can revoke."""
    return find_signed_in(db.session(), token)


@bp.before_request
def require_login() -> Any:
    """Every staff URL but the sign-in page needs a signed-in, active account."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.after_request
def private_responses(response: Response) -> Response:
    """Console pages hold private contact details: never cached, indexed or referred onward."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def role_required(*roles: str) -> Callable[[F], F]:
    """Refuse (403) signed-in users whose role is not one of `roles`."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


@bp.app_template_global()
def staff_is_admin() -> bool:
    return bool(current_user.is_authenticated and current_user.role == "admin")


@bp.app_template_filter("audit_value")
def audit_value(value: Any, field: str = "") -> str:
    """One side of an audited change, in words (schedules described, places joined)."""
    from clearinghouse.staff.records import describe_meetings, display

    if value is None or value == "" or value == []:
        return "—"
    return describe_meetings(value) if field == "meetings" else display(value)


@bp.context_processor
def navigation_counts() -> dict[str, Any]:
    if not current_user.is_authenticated:
        return {"pending_reviews": 0}
    pending = db.session.scalar(
        select(func.count())
        .select_from(ChangeRequest)
        .where(ChangeRequest.status == ReviewStatus.PENDING)
    )
    return {"pending_reviews": pending or 0}


from clearinghouse.staff import (  # noqa: E402,F401  (importing the views registers routes)
    admin,
    auth,
    booklet,
    dashboard,
    editing,
    freshness,
    imports,
    listings,
    reports,
    review,
    sources,
    webhooks,
)

__all__ = ["bp", "role_required"]
