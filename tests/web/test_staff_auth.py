"""Staff sign-in: passwords, lock-out, rate limit, sign-out, cookies."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from clearinghouse import create_app
from clearinghouse.config import from_environment
from clearinghouse.extensions import db
from clearinghouse.models import User
from clearinghouse.staff.auth import MAX_FAILED_LOGINS
from tests.conftest import app_config
from tests.staff_support import (
    PASSWORD,
    anon_client,
    csrf_token,
    make_user,
    new_client,
    post,
    sign_in,
)

__all__ = ["anon_client"]  # fixtures


def test_staff_pages_send_anonymous_people_to_sign_in(anon_client: FlaskClient) -> None:
    response = anon_client.get("/staff/listings")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login?next=")


def test_sign_in_with_the_right_password_opens_the_dashboard(anon_client: FlaskClient) -> None:
    make_user("ana@example.org", "editor")
    response = sign_in(anon_client, "ANA@example.org ")
    assert response.status_code == 302
    page = anon_client.get("/staff/").get_data(as_text=True)
    assert "Dashboard" in page
    assert "ana@example.org (editor)" in page
    user = db.session.scalar(db.select(User).where(User.email == "ana@example.org"))
    assert user is not None and user.last_login_at is not None


def test_wrong_password_and_unknown_email_get_the_same_message(anon_client: FlaskClient) -> None:
    make_user("ana@example.org", "editor")
    wrong = sign_in(anon_client, "ana@example.org", "not the password").get_data(as_text=True)
    unknown = sign_in(anon_client, "nobody@example.org", PASSWORD).get_data(as_text=True)
    message = "That email and password do not match an account"
    assert message in wrong
    assert message in unknown
    assert "Dashboard" not in wrong


def test_repeated_wrong_passwords_lock_the_account_with_a_clear_message(
    anon_client: FlaskClient,
) -> None:
    make_user("ana@example.org", "editor")
    for _ in range(MAX_FAILED_LOGINS - 1):
        page = sign_in(anon_client, "ana@example.org", "wrong password!").get_data(as_text=True)
        assert "locked" not in page
    page = sign_in(anon_client, "ana@example.org", "wrong password!").get_data(as_text=True)
    assert "this account is locked for 15 more minutes" in page
    # Even the right password is refused while locked.
    response = sign_in(anon_client, "ana@example.org")
    assert response.status_code == 200
    assert "this account is locked" in response.get_data(as_text=True)
    assert anon_client.get("/staff/").status_code == 302


def test_an_admin_reactivating_an_account_lifts_the_lock(app: Flask) -> None:
    from tests.staff_support import signed_in_client

    make_user("ana@example.org", "editor")
    anonymous = new_client(app)
    for _ in range(MAX_FAILED_LOGINS):
        sign_in(anonymous, "ana@example.org", "wrong password!")
    admin = signed_in_client(app, "boss@example.org", "admin")
    user = db.session.scalar(db.select(User).where(User.email == "ana@example.org"))
    assert user is not None and user.locked_until is not None
    post(admin, f"/staff/users/{user.id}/deactivate")
    post(admin, f"/staff/users/{user.id}/activate")
    assert sign_in(new_client(app), "ana@example.org").status_code == 302


def test_deactivated_accounts_cannot_sign_in(anon_client: FlaskClient) -> None:
    user = make_user("gone@example.org", "editor")
    user.active = False
    db.session.commit()
    page = sign_in(anon_client, "gone@example.org").get_data(as_text=True)
    assert "This account has been deactivated" in page


def test_sign_out_needs_a_post_with_the_csrf_token(anon_client: FlaskClient) -> None:
    make_user("ana@example.org", "editor")
    sign_in(anon_client, "ana@example.org")
    assert anon_client.get("/staff/logout").status_code == 405
    assert anon_client.post("/staff/logout").status_code == 400  # no token: refused
    assert anon_client.get("/staff/").status_code == 200
    response = post(anon_client, "/staff/logout")
    assert response.status_code == 302
    assert anon_client.get("/staff/").status_code == 302


def test_sign_in_without_a_csrf_token_is_refused(anon_client: FlaskClient) -> None:
    make_user("ana@example.org", "editor")
    response = anon_client.post(
        "/staff/login", data={"email": "ana@example.org", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert anon_client.get("/staff/").status_code == 302


def test_next_only_returns_inside_the_console(anon_client: FlaskClient) -> None:
    make_user("ana@example.org", "editor")
    token = csrf_token(anon_client, "/staff/login")
    data = {"email": "ana@example.org", "password": PASSWORD, "csrf_token": token}
    response = anon_client.post("/staff/login?next=https://evil.example/", data=data)
    assert response.headers["Location"] == "/staff/"
    post(anon_client, "/staff/logout")
    token = csrf_token(anon_client, "/staff/login")
    data["csrf_token"] = token
    response = anon_client.post("/staff/login?next=/staff/audit", data=data)
    assert response.headers["Location"] == "/staff/audit"


def test_session_cookie_is_httponly_and_samesite(anon_client: FlaskClient) -> None:
    make_user("ana@example.org", "editor")
    token = csrf_token(anon_client, "/staff/login")
    response = anon_client.post(
        "/staff/login",
        data={
            "email": "ana@example.org",
            "password": PASSWORD,
            "csrf_token": token,
            "remember": "y",
        },
    )
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    remember_cookie = next(c for c in cookies if c.startswith("remember_token="))
    for cookie in (session_cookie, remember_cookie):
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "Secure" not in cookie  # plain HTTP unless CLEARINGHOUSE_SECURE_COOKIES is set


def test_secure_cookies_setting_marks_cookies_secure(tmp_path: Path) -> None:
    plain = from_environment(str(tmp_path), {"CLEARINGHOUSE_SECRET_KEY": "x"})
    secure = from_environment(
        str(tmp_path), {"CLEARINGHOUSE_SECRET_KEY": "x", "CLEARINGHOUSE_SECURE_COOKIES": "1"}
    )
    assert plain["SESSION_COOKIE_SECURE"] is False
    assert secure["SESSION_COOKIE_SECURE"] is True
    assert secure["REMEMBER_COOKIE_SECURE"] is True


def test_secure_cookie_config_reaches_the_set_cookie_header(
    template_database: Path, tmp_path: Path
) -> None:
    import shutil

    path = tmp_path / "secure.db"
    shutil.copy(template_database, path)
    app = create_app(app_config(f"sqlite:///{path}", tmp_path, SESSION_COOKIE_SECURE=True))
    with app.app_context():
        client = new_client(app)
        response = client.get("/staff/login", base_url="https://localhost")
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if "session=" in c)
        assert "Secure" in cookie
        db.session.remove()
        db.engine.dispose()


def test_sign_in_attempts_are_rate_limited_per_address(
    template_database: Path, tmp_path: Path
) -> None:
    import shutil

    path = tmp_path / "limited.db"
    shutil.copy(template_database, path)
    app = create_app(app_config(f"sqlite:///{path}", tmp_path, RATELIMIT_ENABLED=True))
    with app.app_context():
        make_user("x@example.org", "editor")
        client = new_client(app)
        token = csrf_token(client, "/staff/login")
        codes = [
            client.post(
                "/staff/login",
                data={"email": "x@example.org", "password": "wrong one", "csrf_token": token},
            ).status_code
            for _ in range(11)
        ]
        assert codes[:10] == [200] * 10
        assert codes[10] == 429
        page = client.post(
            "/staff/login", data={"email": "x@example.org", "password": "p", "csrf_token": token}
        ).get_data(as_text=True)
        assert "Too many sign-in attempts from this address" in page
        db.session.remove()
        db.engine.dispose()


def test_keep_me_signed_in_lasts_two_weeks(anon_client: FlaskClient) -> None:
    make_user("ana@example.org", "editor")
    token = csrf_token(anon_client, "/staff/login")
    response = anon_client.post(
        "/staff/login",
        data={
            "email": "ana@example.org",
            "password": PASSWORD,
            "csrf_token": token,
            "remember": "y",
        },
    )
    remember = next(c for c in response.headers.getlist("Set-Cookie") if "remember_token=" in c)
    expires = parsedate_to_datetime(remember.split("Expires=", 1)[1].split(";", 1)[0])
    days = (expires - datetime.now(UTC)).total_seconds() / 86400
    assert 13.9 < days <= 14.0
