"""Admin areas: imports (dry run, then apply), staff accounts, partner API keys."""

from __future__ import annotations

import html
import io
import logging
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from clearinghouse.accounts import MIN_PASSWORD_LENGTH, AccountError, create_api_key, create_user
from clearinghouse.extensions import db
from clearinghouse.models import ApiKey, Group, User
from tests.api_support import live_api_key
from tests.staff_support import PASSWORD, new_client, post, sign_in, signed_in_client

GOOD_AND_BAD = (
    "external_id,name,concerns,city,state,postal_code,days,start,end,private_contact_name\n"
    "A-1,Lakeside Grief Group,grief,Chicago,IL,60614,TU,19:00,20:30,Robin\n"
    "A-2,,grief,Chicago,IL,60614,WE,19:00,20:00,\n"
    "A-3,Harbor Caregivers,caregiving,Milwaukee,WI,53202,2TH,18:00,19:00,\n"
)


@pytest.fixture
def admin(app: Flask, tmp_path: Path) -> FlaskClient:
    app.config["IMPORT_FOLDER"] = str(tmp_path / "imports")
    return signed_in_client(app, "admin@example.org", "admin")


def upload(client: FlaskClient, text: str, **fields: str) -> str:
    data = {"fmt": "csv", "source": "lakeside", "concern": "", **fields}
    data["file"] = (io.BytesIO(text.encode()), "partner list.csv")  # type: ignore[assignment]
    response = post(client, "/staff/imports", data, content_type="multipart/form-data")
    return response.get_data(as_text=True)


def group_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Group)) or 0


def test_an_import_is_checked_first_then_applied_on_confirmation(
    admin: FlaskClient, app: Flask
) -> None:
    report = upload(admin, GOOD_AND_BAD)
    assert "Dry run: nothing has changed yet" in report
    counts = report.split('id="import-counts"', 1)[1].split("</table>", 1)[0]
    assert "Would be added</th><td>2<" in counts
    assert "Rejected</th><td>1<" in counts
    rejects = report.split('class="rejects"', 1)[1]
    assert "<td>2</td><td>name</td><td>is required</td>" in rejects.replace("\n", "")
    assert group_count() == 0
    match = re.search(r'<input[^>]*name="token"[^>]*value="([^"]+)"', report)
    assert match is not None
    token = match[1]
    applied = post(admin, "/staff/imports/confirm", {"token": token}).get_data(as_text=True)
    assert "Import applied" in applied
    assert "Added</th><td>2<" in applied
    assert group_count() == 2
    lakeside = db.session.scalar(select(Group).where(Group.name == "Lakeside Grief Group"))
    assert lakeside is not None and lakeside.private_contact_name == "Robin"
    assert lakeside.source == "lakeside"
    # The upload is gone: confirming again changes nothing.
    again = post(admin, "/staff/imports/confirm", {"token": token})
    assert again.status_code == 302
    assert group_count() == 2
    assert not any(Path(app.config["IMPORT_FOLDER"]).glob("*/options.json"))


def test_an_unreadable_import_says_why_and_changes_nothing(admin: FlaskClient) -> None:
    page = upload(admin, '{"not": "a meeting list"', fmt="json")
    assert "Dry run" not in page
    assert 'class="error"' in page
    assert group_count() == 0


def test_a_meeting_list_needs_a_default_concern(admin: FlaskClient) -> None:
    feed = '[{"name": "Lunch Bunch", "day": 2, "time": "12:00", "city": "Chicago", "state": "IL"}]'
    page = upload(admin, feed, fmt="meeting-guide")
    assert "names no concern" in page
    unknown = upload(admin, feed, fmt="meeting-guide", concern="not a concern at all")
    assert "is not a concern" in unknown
    checked = upload(admin, feed, fmt="meeting-guide", concern="alcohol")
    assert "Dry run" in checked


def test_an_import_asks_who_sent_the_file(admin: FlaskClient) -> None:
    page = upload(admin, GOOD_AND_BAD, source=" ")
    assert "Dry run" not in page
    assert 'id="source-error"' in page
    assert group_count() == 0


def test_confirm_with_a_made_up_token_is_refused(admin: FlaskClient) -> None:
    for token in ("../../etc", "nope"):
        response = post(admin, "/staff/imports/confirm", {"token": token})
        assert response.status_code == 302
        assert response.headers["Location"] == "/staff/imports"


def test_admins_create_and_deactivate_staff_accounts(admin: FlaskClient, app: Flask) -> None:
    response = post(
        admin, "/staff/users", {"email": "New@Example.org", "role": "editor", "password": PASSWORD}
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "new@example.org"))
    assert user is not None and user.role == "editor"
    assert user.password_hash.startswith("$argon2")
    assert sign_in(new_client(app), "new@example.org").status_code == 302
    post(admin, f"/staff/users/{user.id}/deactivate")
    db.session.refresh(user)
    assert user.active is False
    assert "deactivated" in sign_in(new_client(app), "new@example.org").get_data(as_text=True)


def test_a_deactivated_user_is_signed_out_at_once(admin: FlaskClient, app: Flask) -> None:
    editor = signed_in_client(app, "ed@example.org", "editor")
    assert editor.get("/staff/").status_code == 200
    user = db.session.scalar(select(User).where(User.email == "ed@example.org"))
    assert user is not None
    post(admin, f"/staff/users/{user.id}/deactivate")
    assert editor.get("/staff/").status_code == 302


def test_account_form_errors_are_shown_on_the_fields(admin: FlaskClient) -> None:
    short = post(
        admin, "/staff/users", {"email": "a@example.org", "role": "editor", "password": "short"}
    )
    assert short.status_code == 400
    assert "at least 10 characters" in short.get_data(as_text=True)
    taken = post(
        admin, "/staff/users", {"email": "admin@example.org", "role": "admin", "password": PASSWORD}
    )
    assert "already exists" in taken.get_data(as_text=True)
    bad_role = post(
        admin, "/staff/users", {"email": "b@example.org", "role": "owner", "password": PASSWORD}
    )
    assert bad_role.status_code == 400


def test_the_account_form_says_what_is_wrong_and_takes_the_shortest_allowed_password(
    admin: FlaskClient,
) -> None:
    def create(email: str, password: str) -> tuple[int, str]:
        data = {"email": email, "role": "editor", "password": password}
        response = post(admin, "/staff/users", data)
        return response.status_code, html.unescape(response.get_data(as_text=True))

    status, page = create("not-an-address", PASSWORD)
    assert status == 400
    assert "'not-an-address' is not an email address" in page
    status, page = create("short@example.org", "p" * (MIN_PASSWORD_LENGTH - 1))
    assert status == 400
    assert f"the password needs at least {MIN_PASSWORD_LENGTH} characters" in page
    assert create("exact@example.org", "p" * MIN_PASSWORD_LENGTH)[0] == 302
    emails = set(db.session.scalars(select(User.email)))
    assert emails == {"admin@example.org", "exact@example.org"}


def test_an_unknown_role_is_refused_naming_the_roles_there_are(app: Flask) -> None:
    # The form offers only real roles; the accounts module still refuses any other caller's.
    with pytest.raises(AccountError) as refused:
        create_user(db.session(), "someone@example.org", "owner", PASSWORD)
    assert str(refused.value) == "role 'owner' is not one of admin, editor"
    assert db.session.scalar(select(User).where(User.email == "someone@example.org")) is None


def flashed(page: str) -> list[tuple[str, str]]:
    """(category, message) of each flashed message on a staff page."""
    return re.findall(r'<p class="flash flash-([a-z]+)"[^>]*>([^<]*)</p>', html.unescape(page))


def test_admins_cannot_deactivate_themselves(admin: FlaskClient) -> None:
    me = db.session.scalar(select(User).where(User.email == "admin@example.org"))
    assert me is not None
    page = post(admin, f"/staff/users/{me.id}/deactivate", follow_redirects=True)
    assert flashed(page.get_data(as_text=True)) == [
        ("error", "You cannot deactivate your own account.")
    ]
    db.session.refresh(me)
    assert me.active is True


def test_account_and_key_actions_say_what_they_did_and_unknown_ones_are_404(
    admin: FlaskClient, app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="clearinghouse.staff.admin")
    for url in ("/staff/users/9999/deactivate", "/staff/users/9999/activate"):
        assert post(admin, url).status_code == 404, url
    assert post(admin, "/staff/api-keys/9999/revoke").status_code == 404
    signed_in_client(app, "ed@example.org", "editor")
    ed = db.session.scalar(select(User).where(User.email == "ed@example.org"))
    assert ed is not None
    page = post(admin, f"/staff/users/{ed.id}/deactivate", follow_redirects=True)
    assert flashed(page.get_data(as_text=True)) == [("success", "ed@example.org is deactivated.")]
    page = post(admin, f"/staff/users/{ed.id}/activate", follow_redirects=True)
    assert flashed(page.get_data(as_text=True)) == [("success", "ed@example.org is active.")]
    # Who changed whose access is in the log, as one structured line each.
    me = db.session.scalar(select(User.id).where(User.email == "admin@example.org"))
    assert [r.getMessage() for r in caplog.records if r.name == "clearinghouse.staff.admin"] == [
        f"event=user_deactivated user_id={ed.id} by={me}",
        f"event=user_activated user_id={ed.id} by={me}",
    ]


def test_an_api_key_is_shown_once_and_can_be_revoked(admin: FlaskClient) -> None:
    response = post(admin, "/staff/api-keys", {"name": "County 211 line"})
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    key = page.split('<code id="new-key">', 1)[1].split("</code>", 1)[0]
    # docs/api.md: `chk_`, the 8-character prefix, then a 256-bit secret (43 URL-safe chars).
    assert re.fullmatch(r"chk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", key), key
    api_key = live_api_key(db.session, key)
    assert api_key is not None and api_key.name == "County 211 line"
    listing = admin.get("/staff/api-keys").get_data(as_text=True)
    assert key not in listing  # never shown again
    assert f"chk_{api_key.prefix}_" in listing and "County 211 line" in listing
    assert "<td>admin@example.org</td>" in listing  # who made it
    post(admin, f"/staff/api-keys/{api_key.id}/revoke")
    assert live_api_key(db.session, key) is None
    db.session.refresh(api_key)
    assert api_key.revoked_at is not None
    assert db.session.scalar(select(func.count()).select_from(ApiKey)) == 1


def test_an_api_key_needs_a_name_and_gets_the_default_rate_limit(app: Flask) -> None:
    with pytest.raises(AccountError) as refused:
        create_api_key(db.session, "   ")
    assert str(refused.value) == "an API key needs a name (the partner it is for)"
    api_key, _key = create_api_key(db.session, "County 211 line")
    assert api_key.rate_limit == "120/minute"
    assert api_key.created_by is None  # made outside the console (the CLI names no one)
    assert create_api_key(db.session, "Trickle", rate_limit="1/hour")[0].rate_limit == "1/hour"
    with pytest.raises(AccountError, match="'0/hour' is not understood"):
        create_api_key(db.session, "Nothing", rate_limit="0/hour")
