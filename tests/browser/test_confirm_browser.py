"""A group answers its yearly e-mail in Chromium: the worker's jobs send it to a real SMTP
server (aiosmtpd on loopback), the test reads the message it received and opens its links.

"Something changed" → the form, filled and sent → staff see the field diff in review.
"Still right" → the confirmation → the group page says "Confirmed by the group on <date>".
The server is this file's own (a fresh database), as these tests change data.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from clearinghouse import create_app
from clearinghouse.extensions import db
from clearinghouse.geocoding import geocode_listing
from clearinghouse.listings import validate_listing
from clearinghouse.models import Group, utcnow
from clearinghouse.store import apply_listing
from clearinghouse.taxonomy import default_taxonomy
from indexer.worker import Worker, ask_groups, send_mail
from tests.conftest import app_config, sample_record
from tests.mail_server import Mailbox, free_port
from tests.services.browser import local_page
from tests.staff_support import PASSWORD, make_user

pytestmark = pytest.mark.browser
EDITOR = "editor@example.org"
CHANGING = "changing-leader@example.org"
CONFIRMING = "confirming-leader@example.org"
LINK = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class ConfirmServer:
    url: str
    app: Flask
    mailbox: Mailbox


def _old_listing(name: str, leader: str) -> None:
    record = sample_record(name=name, private_contact={"email": leader})
    validation = validate_listing(record, default_taxonomy())
    assert validation.data is not None, validation.errors
    group = apply_listing(db.session, geocode_listing(validation.data)[0], actor="test").group
    group.created_at = utcnow() - timedelta(days=800)  # due for its yearly question


@pytest.fixture(scope="module")
def confirm_server(
    template_database: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConfirmServer]:
    folder = tmp_path_factory.mktemp("confirm-live")
    path = folder / "confirm.db"
    shutil.copy(template_database, path)
    mailbox = Mailbox()
    smtp_port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    app = create_app(
        app_config(
            f"sqlite:///{path}",
            folder,
            TILE_URL="/static/no-tiles/{z}/{x}/{y}.png",
            SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
        )
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["MAIL_LINK_BASE"] = url  # the e-mail's links lead to this server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with app.app_context():
            make_user(EDITOR, "editor")
            _old_listing("Riverside Grief Circle", CHANGING)
            _old_listing("Hillside Grief Circle", CONFIRMING)
            db.session.commit()
            db.session.remove()
        # What `clearinghouse worker` does: the freshness job queues the e-mails, then the
        # mail job sends them.
        worker = Worker(app)
        worker.add("freshness", ask_groups, every=3600)
        worker.add("mail", send_mail, every=15)
        worker.run_due()
        assert all(job.failures == 0 for job in worker.jobs)
        yield ConfirmServer(url, app, mailbox)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        smtp.stop()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def page(chromium_browser: Browser, confirm_server: ConfirmServer) -> Iterator[Page]:
    with local_page(chromium_browser, confirm_server.url) as page:
        yield page


def links_in(message: EmailMessage) -> dict[str, str]:
    """The message's links (as sent, absolute) by their last path part."""
    body = message.get_body(("plain",))
    assert body is not None
    return {url.rstrip("/").rsplit("/", 1)[-1]: url for url in LINK.findall(body.get_content())}


def received_by(server: ConfirmServer, address: str) -> dict[str, str]:
    [message] = server.mailbox.to(address)
    assert "still right" in str(message["Subject"])
    links = links_in(message)
    assert all(url.startswith(server.url + "/confirm/") for url in links.values())
    return links


def test_something_changed_reaches_staff_review_as_a_diff(
    page: Page, confirm_server: ConfirmServer
) -> None:
    links = received_by(confirm_server, CHANGING)
    page.goto(links["changed"])
    expect(page.get_by_role("heading", name="What has changed?")).to_be_visible()
    expect(page.get_by_label("Group name")).to_have_value("Riverside Grief Circle")
    page.get_by_role("checkbox", name="Tuesday").uncheck()
    page.get_by_role("checkbox", name="Thursday").check()
    page.get_by_label(re.compile(r"^Anything else")).fill("We moved to Thursdays in the spring.")
    page.get_by_role("button", name="Send the changes").click()
    expect(
        page.get_by_text("We've received your changes to Riverside Grief Circle")
    ).to_be_visible()

    page.goto("/staff/login")
    page.get_by_label("Email").fill(EDITOR)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name=re.compile(r"^Review")).click()
    page.get_by_role("link", name="Riverside Grief Circle").click()
    diff = page.locator("table.diff")
    expect(diff).to_contain_text("Tuesdays")  # what the listing says now
    expect(diff).to_contain_text("Thursdays")  # what the group says
    expect(page.get_by_text("We moved to Thursdays in the spring.")).to_be_visible()


def test_still_right_confirms_and_the_group_page_says_so(
    page: Page, confirm_server: ConfirmServer
) -> None:
    links = received_by(confirm_server, CONFIRMING)
    page.goto(links["still-right"])
    expect(page.get_by_role("heading", name="Is this still right?")).to_be_visible()
    expect(page.get_by_text("Hillside Grief Circle").first).to_be_visible()
    page.get_by_role("button", name="Yes, it's all still right").click()
    expect(page.get_by_role("status")).to_contain_text(
        "The listing for Hillside Grief Circle is confirmed as still right."
    )

    with confirm_server.app.app_context():
        group = db.session.query(Group).filter_by(name="Hillside Grief Circle").one()
        slug, confirmed_at = group.slug, group.confirmed_at
        db.session.remove()
    assert confirmed_at is not None
    day = f"{confirmed_at:%B} {confirmed_at.day}, {confirmed_at.year}"
    page.goto(f"/groups/{slug}")
    expect(page.get_by_text(f"Confirmed by the group on {day}.")).to_be_visible()
    expect(page.get_by_text("may be out of date")).to_have_count(0)
    # The link worked once: opening it again says so.
    page.goto(links["still-right"])
    expect(page.get_by_role("heading", name="This link was already used")).to_be_visible()
