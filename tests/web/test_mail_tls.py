"""Mail over TLS with a login: STARTTLS and implicit TLS (smtps) against a real aiosmtpd whose
certificate comes from a test CA.  The certificate is always verified: the test CA is
trusted only when named (CLEARINGHOUSE_SMTP_CA_FILE, or SSL_CERT_FILE), never by switching
verification off."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from clearinghouse import mail
from clearinghouse.config import from_environment
from clearinghouse.extensions import db
from clearinghouse.models import MailState, OutgoingMail
from tests.mail_server import TlsServer, tls_smtp_server  # noqa: F401  (fixture)

Start = Callable[[str], TlsServer]


def _queue_and_send(app: Flask) -> OutgoingMail:
    row = mail.queue_message(
        db.session, kind="test", to="leader@example.org", subject="Hello", text="Plain words."
    )
    db.session.commit()
    mail.send_due(db.session, mail.MailSettings.from_config(app.config))
    db.session.refresh(row)
    return row


@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_mail_goes_out_over_tls_with_the_login(
    app: Flask,
    tls_smtp_server: Start,  # noqa: F811
    mode: str,
) -> None:
    server = tls_smtp_server(mode)
    app.config.update(SMTP_URL=server.url, SMTP_CA_FILE=str(server.ca_file))

    row = _queue_and_send(app)

    assert row.state == MailState.SENT, row.last_error
    assert [str(m["Subject"]) for m in server.mailbox.messages] == ["Hello"]
    assert server.logins == ["relay-user"]
    if mode == "starttls":  # the same port spoke plain text first, then switched
        assert server.mailbox.over_tls == [True]


@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_a_certificate_no_trusted_ca_signed_is_refused(
    app: Flask,
    tls_smtp_server: Start,  # noqa: F811
    mode: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = tls_smtp_server(mode)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    app.config.update(SMTP_URL=server.url, SMTP_CA_FILE=None)  # the system's CAs only

    row = _queue_and_send(app)

    assert row.state == MailState.QUEUED  # retried later, not sent in the clear
    assert row.last_error == "SSLCertVerificationError"
    assert server.mailbox.messages == []
    assert server.logins == []  # the password never left


def test_ssl_cert_file_names_the_ca_too(
    app: Flask,
    tls_smtp_server: Start,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = tls_smtp_server("starttls")
    monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))
    app.config.update(SMTP_URL=server.url, SMTP_CA_FILE=None)

    assert _queue_and_send(app).state == MailState.SENT
    assert len(server.mailbox.messages) == 1


def test_a_wrong_password_is_a_retry_not_a_bounce(
    app: Flask,
    tls_smtp_server: Start,  # noqa: F811
) -> None:
    server = tls_smtp_server("smtps")
    wrong = server.url.replace("relay%20pass%2Fword", "guess")
    assert wrong != server.url
    app.config.update(SMTP_URL=wrong, SMTP_CA_FILE=str(server.ca_file))

    row = _queue_and_send(app)

    # Refused (535, then the server hangs up on the client's other mechanisms): retried.
    assert row.state == MailState.QUEUED
    assert row.last_error
    assert server.logins == [] and server.mailbox.messages == []
    assert mail.may_send_to(db.session, "leader@example.org")  # the address is fine


def test_a_ca_file_that_is_not_there_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pem"
    with pytest.raises(ValueError, match=r"CLEARINGHOUSE_SMTP_CA_FILE=.*nowhere\.pem"):
        from_environment(str(tmp_path), {"CLEARINGHOUSE_SMTP_CA_FILE": str(missing)})


def test_demotion_is_a_switch_and_a_bad_value_is_named(tmp_path: Path) -> None:
    assert from_environment(str(tmp_path), {})["DEMOTE_STALE"] is True
    assert (
        from_environment(str(tmp_path), {"CLEARINGHOUSE_DEMOTE_STALE": "0"})["DEMOTE_STALE"]
        is False
    )
    with pytest.raises(ValueError, match="CLEARINGHOUSE_DEMOTE_STALE='maybe'"):
        from_environment(str(tmp_path), {"CLEARINGHOUSE_DEMOTE_STALE": "maybe"})
