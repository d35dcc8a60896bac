"""Staff sign-in: passwords, throttled guessing, rate limit, sign-ins the server ends, cookies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from clearinghouse import create_app
from clearinghouse.accounts import (
    MIN_PASSWORD_LENGTH,
    find_signed_in,
    open_sign_in,
    set_password,
)
from clearinghouse.config import from_environment
from clearinghouse.extensions import db
from clearinghouse.models import StaffSession, User, utcnow
from clearinghouse.staff.auth import GUESS_LIMITS
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
GUESSES_BEFORE_WAIT = 5


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


def wrong_guesses(client: FlaskClient, email: str, times: int) -> list[tuple[int, str]]:
    """Status and flashed message of each wrong guess, the e-mail itself left out."""
    answers = []
    for _ in range(times):
        response = sign_in(client, email, "wrong password!")
        page = response.get_data(as_text=True)
        message = page.split('class="flash', 1)[-1].split("</", 1)[0]
        answers.append((response.status_code, message))
    return answers


def client_at(app: Flask, address: str) -> FlaskClient:
    client = new_client(app)
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_known_and_unknown_emails_answer_alike_however_often_they_are_guessed(app: Flask) -> None:
    make_user("ana@example.org", "editor")
    known = wrong_guesses(client_at(app, "10.0.0.1"), "ana@example.org", GUESSES_BEFORE_WAIT + 2)
    unknown = wrong_guesses(client_at(app, "10.0.0.2"), "nobody@example.org", len(known))
    assert known == unknown
    assert "do not match an account" in known[0][1]
    assert known[-1][0] == 429 and "Too many wrong tries for this email" in known[-1][1]
    assert not any("locked" in message for _status, message in known)


def test_guessing_from_one_address_never_locks_the_account_for_others(app: Flask) -> None:
    make_user("boss@example.org", "admin")
    wrong_guesses(client_at(app, "10.0.0.66"), "boss@example.org", GUESSES_BEFORE_WAIT * 4)
    assert sign_in(client_at(app, "10.0.0.7"), "boss@example.org").status_code == 302


def test_once_an_address_must_wait_even_the_right_password_waits(app: Flask) -> None:
    make_user("ana@example.org", "editor")
    client = client_at(app, "10.0.0.1")
    wrong_guesses(client, "ana@example.org", GUESSES_BEFORE_WAIT)
    response = sign_in(client, "ana@example.org")
    assert response.status_code == 429
    assert "Wait 15 minutes" in response.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302
    # Another e-mail from the same address is counted on its own.
    make_user("bo@example.org", "editor")
    assert sign_in(client, "bo@example.org").status_code == 302


def test_the_wait_grows_with_more_wrong_guesses() -> None:
    windows = sorted(item.get_expiry() for item in GUESS_LIMITS)
    amounts = [item.amount for item in sorted(GUESS_LIMITS, key=lambda i: i.get_expiry())]
    assert windows == sorted(set(windows)) and amounts == sorted(amounts)
    assert amounts[0] == GUESSES_BEFORE_WAIT


# -- sign-ins the server can end ---------------------------------------------------------------


def copy_cookies(source: FlaskClient, target: FlaskClient, *names: str) -> None:
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, name
        target.set_cookie(name, cookie.value)


def test_a_copied_session_cookie_stops_working_after_sign_out(app: Flask) -> None:
    make_user("ana@example.org", "editor")
    browser = new_client(app)
    assert sign_in(browser, "ana@example.org").status_code == 302
    thief = new_client(app)
    copy_cookies(browser, thief, "session")
    assert thief.get("/staff/").status_code == 200
    post(browser, "/staff/logout")
    assert thief.get("/staff/").status_code == 302
    assert browser.get("/staff/").status_code == 302


def remembered_sign_in(app: Flask, email: str) -> FlaskClient:
    client = new_client(app)
    token = csrf_token(client, "/staff/login")
    data = {"email": email, "password": PASSWORD, "csrf_token": token, "remember": "y"}
    assert client.post("/staff/login", data=data).status_code == 302
    return client


def test_remember_me_cookies_are_new_each_sign_in_and_die_at_sign_out(app: Flask) -> None:
    make_user("ana@example.org", "editor")
    first, second = (
        remembered_sign_in(app, "ana@example.org"),
        remembered_sign_in(app, "ana@example.org"),
    )
    first_cookie, second_cookie = (
        first.get_cookie("remember_token"),
        second.get_cookie("remember_token"),
    )
    assert first_cookie is not None and second_cookie is not None
    assert first_cookie.value != second_cookie.value
    kept = new_client(app)
    copy_cookies(first, kept, "remember_token")  # a browser reopened: no session cookie
    assert kept.get("/staff/").status_code == 200
    post(first, "/staff/logout")
    stale = new_client(app)
    stale.set_cookie("remember_token", first_cookie.value)
    assert stale.get("/staff/").status_code == 302
    assert second.get("/staff/").status_code == 200  # the other sign-in goes on


def test_deactivation_and_a_new_password_end_every_sign_in(app: Flask) -> None:
    from tests.staff_support import signed_in_client

    user = make_user("ana@example.org", "editor")
    elsewhere = remembered_sign_in(app, "ana@example.org")
    admin = signed_in_client(app, "boss@example.org", "admin")
    post(admin, f"/staff/users/{user.id}/deactivate")
    post(admin, f"/staff/users/{user.id}/activate")
    assert elsewhere.get("/staff/").status_code == 302
    again = remembered_sign_in(app, "ana@example.org")
    set_password(db.session(), user, "another long password")
    db.session.commit()
    assert again.get("/staff/").status_code == 302
    assert sign_in(new_client(app), "ana@example.org", "another long password").status_code == 302


def test_deactivating_forgets_the_sign_ins_at_once_and_activating_leaves_them_alone(
    app: Flask,
) -> None:
    from tests.staff_support import signed_in_client

    user = make_user("ana@example.org", "editor")
    remembered_sign_in(app, "ana@example.org")
    admin = signed_in_client(app, "boss@example.org", "admin")

    def sign_ins() -> int:
        rows = db.session.scalars(select(StaffSession).where(StaffSession.user_id == user.id))
        return len(rows.all())

    assert sign_ins() == 1
    post(admin, f"/staff/users/{user.id}/deactivate")
    assert sign_ins() == 0  # gone from the server, so no reactivation can revive them
    post(admin, f"/staff/users/{user.id}/activate")
    current = remembered_sign_in(app, "ana@example.org")
    post(admin, f"/staff/users/{user.id}/activate")  # activating an active account again
    assert current.get("/staff/").status_code == 200
    assert sign_ins() == 1


def test_a_new_password_needs_the_minimum_length_and_a_short_one_changes_nothing(
    app: Flask,
) -> None:
    make_user("ana@example.org", "editor")
    runner = app.test_cli_runner()

    def set_new(password: str) -> tuple[int, str]:
        args = ["users", "set-password", "--email", "ana@example.org", "--password", password]
        result = runner.invoke(args=args)
        return result.exit_code, result.output

    too_short = "s" * (MIN_PASSWORD_LENGTH - 1)
    code, output = set_new(too_short)
    assert code != 0
    assert f"the password needs at least {MIN_PASSWORD_LENGTH} characters" in output
    assert sign_in(new_client(app), "ana@example.org", too_short).status_code != 302
    assert sign_in(new_client(app), "ana@example.org").status_code == 302  # the old one works
    just_long_enough = "e" * MIN_PASSWORD_LENGTH
    assert set_new(just_long_enough)[0] == 0
    assert sign_in(new_client(app), "ana@example.org", just_long_enough).status_code == 302


def test_sign_ins_end_when_the_server_says_so_whatever_the_cookie(app: Flask) -> None:
    make_user("ana@example.org", "editor")
    client = new_client(app)
    sign_in(client, "ana@example.org")
    sign_in_row = db.session.scalars(select(StaffSession)).one()
    assert timedelta(hours=11) < sign_in_row.expires_at - utcnow() <= timedelta(hours=12)
    remembered = remembered_sign_in(app, "ana@example.org")
    rows = db.session.scalars(select(StaffSession).order_by(StaffSession.id)).all()
    assert timedelta(days=13.9) < rows[-1].expires_at - utcnow() <= timedelta(days=14)
    for row in rows:
        row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/staff/").status_code == 302
    assert remembered.get("/staff/").status_code == 302


def test_a_new_sign_in_sweeps_away_everyones_expired_sign_ins(app: Flask) -> None:
    make_user("ana@example.org", "editor")
    make_user("ben@example.org", "editor")
    for email in ("ana@example.org", "ben@example.org", "ben@example.org"):
        assert sign_in(new_client(app), email).status_code == 302
    ana_old, ben_old, ben_live = db.session.scalars(select(StaffSession).order_by(StaffSession.id))
    for row in (ana_old, ben_old):
        row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    kept = ben_live.id

    assert sign_in(new_client(app), "ana@example.org").status_code == 302

    db.session.expire_all()
    kept_row, new_row = db.session.scalars(select(StaffSession).order_by(StaffSession.id))
    assert kept_row.id == kept  # ben's live sign-in stays; both expired ones are gone
    assert new_row.user_id != kept_row.user_id and new_row.expires_at > utcnow()


def test_an_account_made_inactive_outside_the_console_is_signed_out(app: Flask) -> None:
    user = make_user("ana@example.org", "editor")
    client = new_client(app)
    sign_in(client, "ana@example.org")
    assert client.get("/staff/").status_code == 200
    token = open_sign_in(db.session(), user, timedelta(hours=1))
    user.active = False  # by a script or in the database: the sign-in rows stay behind
    db.session.commit()
    assert db.session.scalars(select(StaffSession)).all()
    assert client.get("/staff/").status_code == 302
    # The accounts module refuses it too, not only Flask-Login's is_authenticated.
    assert find_signed_in(db.session(), token) is None


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
                data={"email": f"x{n}@example.org", "password": "wrong one", "csrf_token": token},
            ).status_code
            for n in range(11)
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
