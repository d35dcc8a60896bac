"""Structured logs: every line is one JSON event, and none carries a private value.

A session of ordinary work (an import, staff saves with private contact fields, wrong and right
passwords, a new account, a public suggestion, API calls with a key) runs with the app's logging
set up as in production (`clearinghouse/logs.py`) at DEBUG; then every line is read back.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from clearinghouse import logs
from clearinghouse.extensions import db
from clearinghouse.logs import event_fields
from clearinghouse.models import Group
from tests.api_support import create, index_all
from tests.conftest import sample_record
from tests.staff_support import (
    PASSWORD,
    csrf_token,
    listing_form_data,
    make_user,
    post,
    save_listing,
    sign_in,
)

# Planted values that must never be written to a log line.
PRIVATE_EMAIL = "secret.person@private-mail.example"
PRIVATE_PHONE = "312-555-0187"
PRIVATE_NAME = "Hortensia Privateperson"
PASSCODE = "Zq7passcode913"
WRONG_PASSWORD = "wrong-but-close-battery"
NEW_PASSWORD = "a brand new staff passphrase"
SUBMITTER_EMAIL = "neighbour.private@submitter.example"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The app's JSON logging at DEBUG into a buffer; the root logger is put back after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    quiet = {name: logging.getLogger(name).level for name in logs.QUIET_LIBRARIES}
    stream = io.StringIO()
    logs.configure(logging.DEBUG, stream)
    yield stream
    root.handlers[:], root.level = saved
    for name, level in quiet.items():
        logging.getLogger(name).setLevel(level)


def run_a_working_session(app: Flask, tmp_path: Path) -> list[str]:
    """Do what a day brings; return the secrets it handled (keys, session cookies)."""
    app.config["WTF_CSRF_ENABLED"] = True
    private = {"name": PRIVATE_NAME, "email": PRIVATE_EMAIL, "phone": PRIVATE_PHONE}
    feed = tmp_path / "partner.json"
    feed.write_text(
        json.dumps(
            [
                sample_record(name="Imported Circle", external_id="1", private_contact=private),
                sample_record(name="", external_id="2", private_contact=private),  # rejected
            ]
        )
    )
    result = app.test_cli_runner().invoke(
        args=["ingest", str(feed), "--format", "json", "--source", "partner"]
    )
    assert result.exit_code == 0, result.output
    group = create(db.session(), name="Evening Grief Circle")
    index_all()

    make_user("admin@example.org", "admin")
    admin = app.test_client()
    stranger = app.test_client()
    for email in ("admin@example.org", "nobody@example.org"):
        token = csrf_token(stranger, "/staff/login")
        form = {"email": email, "password": WRONG_PASSWORD, "csrf_token": token}
        assert stranger.post("/staff/login", data=form).status_code == 200
    assert sign_in(admin, "admin@example.org", PASSWORD).status_code == 302

    private_form = {
        "private_contact_name": PRIVATE_NAME,
        "private_contact_email": PRIVATE_EMAIL,
        "private_contact_phone": PRIVATE_PHONE,
        "private_contact_notes": f"Zoom passcode {PASSCODE}",
        "online_notes": f"Passcode {PASSCODE}",
    }
    saved = post(admin, "/staff/listings/new", listing_form_data(**private_form))
    assert saved.status_code == 302, saved.get_data(as_text=True)[:500]
    edited = save_listing(admin, group, listing_form_data(**private_form))
    assert edited.status_code == 302, edited.get_data(as_text=True)[:500]
    made = post(
        admin,
        "/staff/users",
        {"email": "new.editor@example.org", "role": "editor", "password": NEW_PASSWORD},
    )
    assert made.status_code == 302, made.get_data(as_text=True)[:500]
    page = post(admin, "/staff/api-keys", {"name": "Logged partner"}).get_data(as_text=True)
    found = re.search(r'<code id="new-key">([^<]+)</code>', page)
    assert found is not None
    key = found[1]

    suggestion = {
        "name": "Westside Widows",
        "concerns": "grief",
        "attendance": "in-person",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "meeting_freq": "weekly",
        "meeting_days": ["TU"],
        "meeting_start": "19:00",
        "submitter_email": SUBMITTER_EMAIL,
        "csrf_token": csrf_token(stranger, "/suggest"),
    }
    assert stranger.post("/suggest", data=suggestion).status_code == 302
    partner = app.test_client()
    for url in ("/api/v1/groups?q=grief", "/api/v1/export.ndjson", "/hsds/services"):
        response = partner.get(url, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, url
    assert partner.get("/api/v1/groups", headers={"Authorization": "Bearer chk_x_y"}).status_code
    assert db.session.query(Group).filter_by(name="Imported Circle").count() == 1
    return [key, *cookie_values(admin), *cookie_values(stranger)]


def cookie_values(client: FlaskClient) -> list[str]:
    return [cookie.value for cookie in client._cookies.values() if len(cookie.value) >= 16]


def test_every_log_line_is_a_json_event_without_private_values(
    store_app: Flask, tmp_path: Path, log_lines: io.StringIO
) -> None:
    secrets = run_a_working_session(store_app, tmp_path)
    lines = log_lines.getvalue().splitlines()
    events = [json.loads(line) for line in lines]  # each line alone is valid JSON
    assert all(isinstance(event, dict) and event.get("event") for event in events)
    names = {event["event"] for event in events}
    # The session was seen: the scan below read the lines that could have leaked.
    for expected in (
        "ingest_finished",
        "login_failed",
        "login",
        "listing_create",
        "user_created",
        "api_request",
    ):
        assert expected in names, " ".join(sorted(names))
    assert len(secrets) >= 2
    planted = [
        PRIVATE_EMAIL,
        PRIVATE_PHONE,
        PRIVATE_NAME,
        PASSCODE,
        WRONG_PASSWORD,
        PASSWORD,
        NEW_PASSWORD,
        SUBMITTER_EMAIL,
        *secrets,
    ]
    for line in lines:
        for value in planted:
            assert value not in line, f"a private value reached the log: {line[:300]}"


def test_event_messages_become_fields_and_other_messages_stay_text() -> None:
    fields = event_fields("event=index_refresh_skipped pending=8000 ratio=0.5 ok=True key=-")
    assert fields == {
        "event": "index_refresh_skipped",
        "pending": 8000,
        "ratio": 0.5,
        "ok": True,
        "key": None,
    }
    assert event_fields("event=search_failed error=no such column: x path=/a b") == {
        "event": "search_failed",
        "error": "no such column: x",
        "path": "/a b",
    }
    assert event_fields("Booting worker with pid: 7") == {}


def test_a_line_holds_the_level_logger_message_and_traceback() -> None:
    formatter = logs.JsonFormatter()
    try:
        raise ValueError("broken")
    except ValueError:
        record = logging.LogRecord(
            "clearinghouse.x", logging.ERROR, __file__, 1, "event=boom n=%d\nmore", (3,), None
        )
        import sys

        record.exc_info = sys.exc_info()
    line = formatter.format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["event"] == "boom"
    assert entry["level"] == "error"
    assert entry["logger"] == "clearinghouse.x"
    assert entry["message"] == "event=boom n=3\nmore"
    assert entry["error"] == "ValueError"
    assert "broken" in entry["traceback"]
    unstructured = json.loads(
        formatter.format(logging.makeLogRecord({"msg": "plain", "name": "g"}))
    )
    assert unstructured["event"] == "g"
    assert unstructured["message"] == "plain"
