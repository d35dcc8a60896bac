"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives.

Addresses at `refused.example.org` are refused for good (550), like a mailbox that does not
exist, so tests can see a bounce at send time.  `tls_smtp_server` is the same server behind
TLS (STARTTLS on a plain port, or TLS from the first byte) with a certificate from a test CA
(trustme) and a login it requires.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

REFUSED_DOMAIN = "refused.example.org"


class Mailbox:
    """The server's handler: every accepted message, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.over_tls: list[bool] = []  # per message: the session had switched to TLS

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address.lower().endswith("@" + REFUSED_DOMAIN):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.over_tls.append(session.ssl is not None)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if str(m["To"]).lower() == address.lower()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, Mailbox]]:
    """(CLEARINGHOUSE_SMTP_URL for the server, its mailbox)."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", mailbox
    finally:
        controller.stop()


RELAY_LOGIN = ("relay-user", "relay pass/word")  # a space and a slash: the URL quotes them


@dataclass
class TlsServer:
    url: str  # CLEARINGHOUSE_SMTP_URL, login included
    ca_file: Path  # the test CA (PEM): what CLEARINGHOUSE_SMTP_CA_FILE or SSL_CERT_FILE names
    mailbox: Mailbox
    logins: list[str]  # user names that logged in


@pytest.fixture
def tls_smtp_server(tmp_path: Path) -> Iterator[Callable[[str], TlsServer]]:
    """`start("starttls" | "smtps")`: a TLS mail server on loopback that takes RELAY_LOGIN."""
    authority = trustme.CA()
    ca_file = tmp_path / "test-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    controllers: list[Controller] = []

    def start(mode: str) -> TlsServer:
        mailbox, logins = Mailbox(), []

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            ok = (
                isinstance(data, LoginPassword)
                and (
                    data.login.decode(),
                    data.password.decode(),
                )
                == RELAY_LOGIN
            )
            if ok:
                logins.append(data.login.decode())
            return AuthResult(success=ok)

        port = free_port()
        options: dict[str, Any] = {"authenticator": authenticate}
        if mode == "starttls":
            options.update(tls_context=server_context, require_starttls=True, auth_required=True)
        else:
            # TLS from the first byte: aiosmtpd's "has TLS yet?" knows only STARTTLS, and it
            # warns when AUTH is required without it; the tests check `logins` instead.
            options.update(ssl_context=server_context, auth_require_tls=False)
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        user, password = (quote(part, safe="") for part in RELAY_LOGIN)
        scheme, query = ("smtp", "?starttls=1") if mode == "starttls" else ("smtps", "")
        url = f"{scheme}://{user}:{password}@127.0.0.1:{port}{query}"
        return TlsServer(url, ca_file, mailbox, logins)

    try:
        yield start
    finally:
        for controller in controllers:
            controller.stop()
