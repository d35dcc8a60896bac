"""Signing in and out: argon2 passwords, sign-ins the server can end, throttled guessing.

Wrong guesses are counted per (address, e-mail) — known account or not — with a growing wait
(`GUESS_LIMITS`), so nobody learns which e-mails have accounts and nobody can lock an
administrator out from elsewhere. Each sign-in is a random token whose hash the server keeps
(`accounts.open_sign_in`): sign-out, a new password or deactivation ends it at once.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import limits
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import select
from werkzeug.exceptions import TooManyRequests

from clearinghouse.accounts import check_password, end_sign_in, hash_password, open_sign_in
from clearinghouse.extensions import db, limiter
from clearinghouse.models import User, utcnow
from clearinghouse.staff import bp
from clearinghouse.staff.forms import ActionForm, LoginForm

log = logging.getLogger(__name__)
LOGIN_RATE = "10 per minute;50 per hour"
# Wrong guesses allowed per (address, e-mail) before each wait: 5 a quarter-hour, then 10 an
# hour, then 20 a day.
GUESS_LIMITS = limits.parse_many("5 per 15 minutes;10 per hour;20 per day")
# Verified against for unknown emails, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password-for-timing")
WRONG = "That email and password do not match an account. Check both and try again."


class GuessThrottle:
    """Counts wrong sign-in guesses in the rate-limit storage (shared by workers with redis)."""

    def __init__(self, storage_uri: str) -> None:
        self.counter = FixedWindowRateLimiter(storage_from_string(storage_uri))

    @staticmethod
    def _key(address: str, email: str) -> tuple[str, str, str]:
        return ("sign-in-guess", address, hashlib.sha256(email.encode()).hexdigest()[:32])

    def wait_seconds(self, address: str, email: str) -> int:
        """0 when another guess may be tried, else how long until one may."""
        key = self._key(address, email)
        waits = [
            self.counter.get_window_stats(item, *key).reset_time - time.time()
            for item in GUESS_LIMITS
            if not self.counter.test(item, *key)
        ]
        return max(1, math.ceil(max(waits))) if waits else 0

    def wrong_guess(self, address: str, email: str) -> None:
        for item in GUESS_LIMITS:
            self.counter.hit(item, *self._key(address, email))

    def forget(self, address: str, email: str) -> None:
        for item in GUESS_LIMITS:
            self.counter.clear(item, *self._key(address, email))


def throttle() -> GuessThrottle:
    extensions = current_app.extensions
    if "sign_in_guesses" not in extensions:
        extensions["sign_in_guesses"] = GuessThrottle(
            str(current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
        )
    found: GuessThrottle = extensions["sign_in_guesses"]
    return found


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_RATE, methods=["POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("staff.dashboard"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        remember = bool(form.remember.data)
        user, message, status = authenticate(
            str(form.email.data), str(form.password.data), request.remote_addr or "-"
        )
        if user is not None:
            open_sign_in(db.session(), user, sign_in_lifetime(remember))
            db.session.commit()
            login_user(user, remember=remember)
            return redirect(_safe_next(request.args.get("next")))
        flash(message, "error")
    return render_template("staff/login.html", form=form), status


def sign_in_lifetime(remember: bool) -> timedelta:
    """How long the server honours a sign-in: the remember-me span, else a working day."""
    if remember:
        duration = current_app.config.get("REMEMBER_COOKIE_DURATION", timedelta(days=14))
        return duration if isinstance(duration, timedelta) else timedelta(seconds=duration)
    return timedelta(hours=float(current_app.config.get("STAFF_SESSION_HOURS", 12)))


def authenticate(email: str, password: str, address: str) -> tuple[User | None, str, int]:
    """The user for these credentials, or None, what to tell the person and the status.

    Known and unknown e-mails take the same path: same messages, one argon2 check each.
    """
    email = email.strip().lower()
    guesses = throttle()
    wait = guesses.wait_seconds(address, email)
    if wait:
        log.info("event=login_throttled wait_s=%d", wait)
        return None, throttled_message(wait), 429
    user = db.session.scalar(select(User).where(User.email == email))
    matches = check_password(user or User(password_hash=_DUMMY_HASH), password)
    if user is None or not matches:
        guesses.wrong_guess(address, email)
        log.info("event=login_failed user_id=%s", user.id if user else "-")
        return None, WRONG, 200
    if not user.active:
        log.info("event=login_refused reason=inactive user_id=%s", user.id)
        return None, "This account has been deactivated. Ask an administrator to restore it.", 200
    guesses.forget(address, email)
    user.last_login_at = utcnow()
    log.info("event=login user_id=%s", user.id)
    return user, "", 200


def throttled_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return (
        "Too many wrong tries for this email from your address. Wait "
        f"{minutes} minute{'s' if minutes != 1 else ''}, then try again."
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
        log.info("event=logout user_id=%s", current_user.id)
        end_sign_in(db.session(), current_user.get_id())
        db.session.commit()
        logout_user()
        flash("You are signed out.", "info")
        return redirect(url_for("staff.login"))
    return redirect(url_for("staff.dashboard"))
