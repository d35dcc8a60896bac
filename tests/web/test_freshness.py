"""Groups confirm their own listing: real e-mail through a loopback SMTP server, links
followed with the Flask client, every outcome checked, on a clock the test controls."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from clearinghouse import flags, freshness, mail
from clearinghouse.extensions import db
from clearinghouse.models import (
    ChangeRequest,
    FreshnessLink,
    FreshnessRequest,
    Group,
    MailState,
    OutgoingMail,
    utcnow,
)
from tests.conftest import two_workers_at_once
from tests.mail_server import REFUSED_DOMAIN, Mailbox, smtp_server  # noqa: F401  (fixture)
from tests.staff_support import approve, csrf_token, make_user, new_client, post, signed_in_client

LEADER = "leader@example.org"
LINK = re.compile(r"https?://\S+/confirm/\S+")


@pytest.fixture
def mailbox(app: Flask, smtp_server: tuple[str, Mailbox]) -> Mailbox:  # noqa: F811
    url, box = smtp_server
    app.config["SMTP_URL"] = url
    return box


@pytest.fixture
def old_group(make_group: Callable[..., Group]) -> Group:
    """A listing with a private contact, last touched long ago."""
    group = make_group(private_contact={"email": LEADER, "name": "Pat Leader"})
    group.created_at = utcnow() - timedelta(days=800)
    db.session.commit()
    return group


def run_worker(app: Flask, now: datetime) -> None:
    """What the worker's freshness and mail jobs do, at `now`."""
    freshness.run_cycle(db.session, freshness.FreshnessSettings.from_config(app.config), now=now)
    mail.send_due(
        db.session,
        mail.MailSettings.from_config(app.config),
        now=now,
        on_bounce=freshness.flag_bounced_contact,
    )


def links(message: EmailMessage) -> dict[str, str]:
    """The message's confirm links by their last path part, as paths for the test client."""
    body = message.get_body(("plain",))
    assert body is not None
    found = {}
    for url in LINK.findall(body.get_content()):
        path = urlsplit(url).path
        found[path.rsplit("/", 1)[-1]] = path
    return found


def answer(client: FlaskClient, path: str, data: dict[str, str] | None = None) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:400]
    response = client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, path)})
    assert response.status_code == 200, response.get_data(as_text=True)[:600]
    return response.get_data(as_text=True)


def test_request_mail_lists_the_group_and_still_right_confirms(
    app: Flask, client: FlaskClient, old_group: Group, mailbox: Mailbox
) -> None:
    run_worker(app, utcnow())
    [message] = mailbox.to(LEADER)
    assert "still right" in str(message["Subject"])
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Evening Grief Circle" in text and "Tuesday" in text and "circle@example.org" in text
    assert "Pat Leader" not in text
    assert message.get_body(("html",)) is not None
    assert "/stop-emails" in str(message["List-Unsubscribe"])
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    paths = links(message)
    assert {"still-right", "changed", "stopped", "stop-emails"} <= set(paths)
    # The token is stored only as a hash; the sent message keeps no body.
    token = paths["still-right"].split("/")[2]
    assert db.session.get(FreshnessLink, freshness.token_hash(token)) is not None
    assert all(
        token not in (row.text_body + row.html_body)
        for row in db.session.scalars(select(OutgoingMail))
    )

    assert client.get(paths["still-right"]).status_code == 200
    assert db.session.get(Group, old_group.id).confirmed_at is None  # a GET changes nothing
    page = answer(client, paths["still-right"])
    assert "confirmed as still right" in page
    db.session.expire_all()
    group = db.session.get(Group, old_group.id)
    assert group.confirmed_at is not None and group.confirmed_via == "email-link"
    assert group.verified_at is None  # a confirmation is not a staff check
    public = client.get(f"/groups/{group.slug}").get_data(as_text=True)
    assert "Confirmed by the group on" in public
    assert LEADER not in public and "Pat Leader" not in public

    # Used once: the same link, or another answer from that e-mail, is refused clearly.
    again = client.get(paths["changed"])
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)
    # Confirmed: not asked again at the next pass.
    run_worker(app, utcnow() + timedelta(days=1))
    assert len(mailbox.to(LEADER)) == 1


def test_something_changed_becomes_a_reviewed_edit_with_a_field_diff(
    app: Flask, client: FlaskClient, old_group: Group, mailbox: Mailbox
) -> None:
    run_worker(app, utcnow())
    path = links(mailbox.to(LEADER)[0])["changed"]
    form = client.get(path).get_data(as_text=True)
    assert 'value="Evening Grief Circle"' in form  # prefilled
    data = {
        "name": "Evening Grief Circle",
        "concerns": "grief",
        "description": "A peer-led circle for anyone grieving a death.",
        "format": "peer-led",
        "attendance": "in-person",
        "open": "yes",
        "cost": "free",
        "languages": "en",
        "location_name": "Lincoln Park Library",
        "address": "1150 W Fullerton Ave",
        "city": "Chicago",
        "region": "IL",
        "postal_code": "60614",
        "meeting_freq": "weekly",
        "meeting_days": "TH",
        "meeting_start": "19:00",
        "meeting_end": "20:30",
        "contact_email": "circle@example.org",
    }
    page = answer(client, path, data)
    assert "received your changes" in page
    change = db.session.scalar(select(ChangeRequest))
    assert change is not None and change.kind == "edit" and change.source == "group-contact"
    assert set(change.payload) == {"meetings"}, change.payload
    assert db.session.get(Group, old_group.id).meetings[0].byday == ["TU"]  # not yet applied

    staff = signed_in_client(app, "editor@example.org", "editor")
    review = staff.get(f"/staff/review/{change.id}").get_data(as_text=True)
    assert "Thursdays" in review and "Tuesdays" in review
    assert (
        post(
            staff, f"/staff/review/{change.id}/approve", {"version": _version(old_group)}
        ).status_code
        == 302
    )
    db.session.expire_all()
    assert db.session.get(Group, old_group.id).meetings[0].byday == ["TH"]


def _version(group: Group) -> str:
    from clearinghouse import store

    return store.version_of(db.session.get(Group, group.id))  # type: ignore[arg-type]


def test_stopped_meeting_is_a_removal_request_that_archives_on_approval(
    app: Flask, client: FlaskClient, old_group: Group, mailbox: Mailbox
) -> None:
    run_worker(app, utcnow())
    path = links(mailbox.to(LEADER)[0])["stopped"]
    answer(client, path, {"note": "We joined the Westside Grief Circle"})
    change = db.session.scalar(select(ChangeRequest))
    assert change is not None and change.kind == "remove"
    assert change.payload["replaced_by"] == "We joined the Westside Grief Circle"
    assert db.session.get(Group, old_group.id).status == "active"
    staff = signed_in_client(app, "editor@example.org", "editor")
    assert "Westside Grief Circle" in staff.get(f"/staff/review/{change.id}").get_data(as_text=True)
    assert approve(staff, change.id).status_code == 302
    db.session.expire_all()
    assert db.session.get(Group, old_group.id).status == "archived"


def test_expired_and_forged_links_get_a_clear_page(
    app: Flask, client: FlaskClient, old_group: Group, mailbox: Mailbox
) -> None:
    run_worker(app, utcnow() - timedelta(days=31))  # sent 31 days ago: the links expired
    path = links(mailbox.to(LEADER)[0])["still-right"]
    expired = client.get(path)
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    assert client.post(path, data={"csrf_token": csrf_token(client, "/suggest")}).status_code == 410
    forged = client.get("/confirm/not-a-real-token-at-all/still-right")
    assert forged.status_code == 404 and "don't recognise" in forged.get_data(as_text=True)
    assert client.get("/confirm/" + "x" * 500).status_code == 404
    assert db.session.get(Group, old_group.id).confirmed_at is None


def test_reminder_after_14_days_then_hand_off_to_staff_after_30_more(
    app: Flask, old_group: Group, mailbox: Mailbox
) -> None:
    start = utcnow()
    run_worker(app, start)
    run_worker(app, start + timedelta(days=13))
    assert len(mailbox.to(LEADER)) == 1
    run_worker(app, start + timedelta(days=14, minutes=1))
    assert len(mailbox.to(LEADER)) == 2
    assert str(mailbox.to(LEADER)[1]["Subject"]).startswith("Reminder:")
    run_worker(app, start + timedelta(days=30))
    assert len(mailbox.to(LEADER)) == 2  # one reminder only
    assert flags.NO_ANSWER not in db.session.get(Group, old_group.id).flags
    run_worker(app, start + timedelta(days=44, minutes=2))
    db.session.expire_all()
    assert flags.NO_ANSWER in db.session.get(Group, old_group.id).flags
    staff = signed_in_client(app, "editor@example.org", "editor")
    page = staff.get("/staff/freshness").get_data(as_text=True)
    assert "Evening Grief Circle" in page and "no answer from the group" in page
    csv_text = staff.get("/staff/freshness.csv").get_data(as_text=True)
    assert old_group.uuid in csv_text and "no answer from the group" in csv_text
    listed = staff.get(f"/staff/listings?flagged={flags.NO_ANSWER}").get_data(as_text=True)
    assert "Evening Grief Circle" in listed
    assert post(staff, f"/staff/listings/{old_group.uuid}/verify").status_code == 302
    db.session.expire_all()
    assert flags.NO_ANSWER not in db.session.get(Group, old_group.id).flags


def test_a_refused_address_bounces_flags_the_contact_and_gets_no_more_mail(
    app: Flask, make_group: Callable[..., Group], mailbox: Mailbox
) -> None:
    group = make_group(private_contact={"email": f"gone@{REFUSED_DOMAIN}"})
    group.created_at = utcnow() - timedelta(days=800)
    db.session.commit()
    run_worker(app, utcnow())
    row = db.session.scalar(select(OutgoingMail))
    assert row is not None and row.state == MailState.BOUNCED and row.text_body == ""
    assert flags.BAD_CONTACT in db.session.get(Group, group.id).flags
    assert not mail.may_send_to(db.session, f"gone@{REFUSED_DOMAIN}")
    run_worker(app, utcnow() + timedelta(days=15))  # no reminder to a bounced address
    assert db.session.scalar(select(OutgoingMail).where(OutgoingMail.id != row.id)) is None


def test_two_workers_sending_at_once_send_each_message_once(app: Flask, mailbox: Mailbox) -> None:
    """`serve`'s in-process loop beside `clearinghouse worker`: each message has one sender."""
    now = utcnow()
    addresses = [f"leader{number}@example.org" for number in range(8)]
    for address in addresses:
        mail.queue_message(db.session, kind="test", to=address, subject="Hi", text="Hello", now=now)
    db.session.commit()
    settings = mail.MailSettings.from_config(app.config)
    two_workers_at_once(app, lambda: mail.send_due(db.session, settings, now=now))

    assert sorted(address for address in addresses for _ in mailbox.to(address)) == addresses
    states = db.session.scalars(select(OutgoingMail.state)).all()
    assert states == ["sent"] * len(addresses)


def test_staff_can_mark_a_contact_bounced(app: Flask, old_group: Group, mailbox: Mailbox) -> None:
    old_group.flags = [flags.NO_ANSWER]
    db.session.commit()
    staff = signed_in_client(app, "editor@example.org", "editor")
    response = post(
        staff,
        f"/staff/freshness/{old_group.uuid}/bounced",
        {},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert flags.BAD_CONTACT in db.session.get(Group, old_group.id).flags
    run_worker(app, utcnow())
    assert mailbox.to(LEADER) == []


def test_stop_emails_link_and_one_click_are_honoured(
    app: Flask, client: FlaskClient, old_group: Group, mailbox: Mailbox
) -> None:
    run_worker(app, utcnow())
    message = mailbox.to(LEADER)[0]
    one_click = urlsplit(str(message["List-Unsubscribe"]).strip("<>")).path
    # The mail program's one-click POST carries no CSRF token (RFC 8058).
    response = client.post(one_click, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert not mail.may_send_to(db.session, LEADER)
    run_worker(app, utcnow() + timedelta(days=15))  # no reminder
    assert len(mailbox.to(LEADER)) == 1


def test_stop_emails_page_needs_the_form_token(
    app: Flask, client: FlaskClient, old_group: Group, mailbox: Mailbox
) -> None:
    run_worker(app, utcnow())
    path = links(mailbox.to(LEADER)[0])["stop-emails"]
    assert client.post(path, data={}).status_code == 400
    assert mail.may_send_to(db.session, LEADER)
    answer(client, path)
    assert not mail.may_send_to(db.session, LEADER)


def test_no_smtp_and_not_demo_asks_nobody(app: Flask, old_group: Group) -> None:
    from indexer.worker import ask_groups

    assert app.config["SMTP_URL"] is None
    assert ask_groups(app) is False
    assert db.session.scalar(select(FreshnessRequest)) is None


def test_demo_without_smtp_logs_only_the_links(
    app: Flask, old_group: Group, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["MAIL_LOG_LINKS"] = True
    caplog.set_level(logging.INFO)
    run_worker(app, utcnow())
    logged = caplog.text
    assert "/confirm/" in logged and "event=mail_not_sent" in logged
    assert LEADER not in logged and "Pat Leader" not in logged and "Evening Grief" not in logged
    row = db.session.scalar(select(OutgoingMail))
    assert row is not None and row.state == MailState.SENT and row.via == "log"


def test_logs_carry_no_address_or_link_when_mail_is_sent(
    app: Flask,
    client: FlaskClient,
    old_group: Group,
    mailbox: Mailbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    run_worker(app, utcnow())
    answer(client, links(mailbox.to(LEADER)[0])["still-right"])
    ours = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name.split(".")[0] in ("clearinghouse", "indexer", "werkzeug")
    )
    assert "event=mail_sent" in ours
    assert LEADER not in ours and "/confirm/" not in ours


def test_request_lines_in_logs_mask_the_confirmation_token() -> None:
    from clearinghouse.public import mask_place

    line = '"GET /confirm/AbC123-_x/still-right HTTP/1.1" 200'
    assert mask_place(line) == '"GET /confirm/…/still-right HTTP/1.1" 200'


def test_smtp_url_is_checked_at_start_up() -> None:
    settings = mail.SmtpSettings.parse("smtp://user:p%40ss@mail.example.org:587?starttls=1")
    assert settings == mail.SmtpSettings("mail.example.org", 587, False, True, "user", "p@ss")
    assert mail.SmtpSettings.parse("smtps://mail.example.org").port == 465
    with pytest.raises(mail.MailSettingsError, match="smtp://"):
        mail.SmtpSettings.parse("http://mail.example.org")


def test_group_page_says_may_be_out_of_date_when_unchecked_for_two_years(
    client: FlaskClient, make_group: Callable[..., Group]
) -> None:
    group = make_group()
    page = client.get(f"/groups/{group.slug}").get_data(as_text=True)
    assert "may be out of date" in page
    group.verified_at = utcnow() - timedelta(days=30)
    db.session.commit()
    page = client.get(f"/groups/{group.slug}").get_data(as_text=True)
    assert "Checked by our staff on" in page and "may be out of date" not in page
    group.confirmed_at = utcnow() - timedelta(days=3)
    db.session.commit()
    page = client.get(f"/groups/{group.slug}").get_data(as_text=True)
    assert "Confirmed by the group on" in page and "Checked by our staff" not in page


def test_freshness_page_counts_this_month(
    app: Flask, client: FlaskClient, old_group: Group, mailbox: Mailbox
) -> None:
    run_worker(app, utcnow())
    answer(client, links(mailbox.to(LEADER)[0])["still-right"])
    make_user("admin@example.org", "admin")
    staff = new_client(app)
    from tests.staff_support import sign_in

    sign_in(staff, "admin@example.org")
    page = staff.get("/staff/freshness").get_data(as_text=True)
    assert re.search(r"Requests sent</dt><dd>1<", page)
    assert re.search(r"Still right</dt><dd>1<", page)
    assert "100%" in page  # the only listing is now confirmed


def test_a_spanish_speaking_group_is_asked_in_spanish(
    app: Flask, client: FlaskClient, make_group: Callable[..., Group], mailbox: Mailbox
) -> None:
    group = make_group(private_contact={"email": LEADER}, languages=["es", "en"])
    group.created_at = utcnow() - timedelta(days=800)
    db.session.commit()
    run_worker(app, utcnow())
    [message] = mailbox.to(LEADER)
    assert str(message["Subject"]) == f"¿Sigue siendo correcta nuestra ficha de {group.name}?"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Esto es lo que ve el público:" in text and "Los martes, 7:00–8:30 p. m." in text
    assert "Still right" not in text and "This is what people see" not in text
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert '<html lang="es">' in html and "Sigue siendo correcta</a>" in html
    urls = LINK.findall(text)
    assert urls and all(url.endswith("?lang=es") for url in urls)
    page = client.get(urlsplit(urls[0]).path + "?lang=es")
    assert page.status_code == 200
    assert "¿Sigue siendo correcto?" in page.get_data(as_text=True)
