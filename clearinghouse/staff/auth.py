"""Signing in and out: argon2 passwords, a per-address rate limit, per-account lock-out."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.exceptions import TooManyRequests

from clearinghouse.accounts import check_password, hash_password
from clearinghouse.extensions import db, limiter
from clearinghouse.models import User, utcnow
from clearinghouse.staff import bp
from clearinghouse.staff.forms import ActionForm, LoginForm

log = logging.getLogger(__name__)
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
LOGIN_RATE = "10 per minute;50 per hour"
# Verified against for unknown emails, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password-for-timing")
WRONG = "That email and password do not match an account. Check both and try again."


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_RATE, methods=["POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("staff.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user, message = authenticate(str(form.email.data), str(form.password.data))
        if user is not None:
            login_user(user, remember=bool(form.remember.data))
            return redirect(_safe_next(request.args.get("next")))
        flash(message, "error")
    return render_template("staff/login.html", form=form)


def authenticate(email: str, password: str) -> tuple[User | None, str]:
    """The user for these credentials, or None and what to tell the person."""
    email = email.strip().lower()
    user = db.session.scalar(select(User).where(User.email == email))
    now = utcnow()
    if user is None:
        check_password(User(password_hash=_DUMMY_HASH), password)
        log.info("event=login_failed reason=unknown_email")
        return None, WRONG
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, round((user.locked_until - now).total_seconds() / 60))
        log.info("event=login_refused reason=locked user_id=%s", user.id)
        return None, locked_message(minutes)
    if not check_password(user, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        message = WRONG
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            user.failed_logins = 0
            message = locked_message(LOCK_MINUTES)
            log.warning("event=account_locked user_id=%s minutes=%d", user.id, LOCK_MINUTES)
        db.session.commit()
        log.info("event=login_failed reason=password user_id=%s", user.id)
        return None, message
    if not user.active:
        log.info("event=login_refused reason=inactive user_id=%s", user.id)
        return None, "This account has been deactivated. Ask an administrator to restore it."
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    db.session.commit()
    log.info("event=login user_id=%s", user.id)
    return user, ""


def locked_message(minutes: int) -> str:
    return (
        f"Too many wrong passwords: this account is locked for {minutes} more "
        f"minute{'s' if minutes != 1 else ''}. Try again later, or ask an administrator."
    )


def _safe_next(target: str | None) -> str:
    """Only a path inside the staff console: never an open redirect elsewhere."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/staff/"):
            return target
    return url_for("staff.dashboard")


@bp.errorhandler(TooManyRequests)
def too_many_sign_ins(error: TooManyRequests) -> Any:
    form = LoginForm()
    flash(
        "Too many sign-in attempts from this address. Wait a few minutes, then try again.",
        "error",
    )
    return render_template("staff/login.html", form=form), 429


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    form = ActionForm()
    if form.validate_on_submit():
        log.info("event=logout user_id=%s", current_user.get_id())
        logout_user()
        flash("You are signed out.", "info")
        return redirect(url_for("staff.login"))
    return redirect(url_for("staff.dashboard"))
