"""Outgoing e-mail: queued in the database by web and batch code, sent by the worker.

A web request never talks to a mail server: it calls `queue_message`, which adds an
`OutgoingMail` row in the caller's transaction.  The worker's mail job (`send_due`) sends what
is due over SMTP, retrying a temporary failure after 1, 2, 4 … minutes (at most 6 hours
apart, `MAX_ATTEMPTS` tries), and records a permanent refusal of the address (an SMTP 5xx
for the recipient) as a bounce: the message is `bounced`, the address is marked bad in
`MailContact` and nothing more is sent to it.

Logs name a message by its id and kind, never its address, body or links.  The one
exception is the demo without a mail server (`MAIL_LOG_LINKS`): it logs each would-be
message's links, so a person can follow them locally.
"""

from __future__ import annotations

import contextlib
import logging
import re
import smtplib
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import func, select

from clearinghouse import leases
from clearinghouse.models import DbSession, MailContact, MailState, OutgoingMail, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_RETRY_DELAY = timedelta(hours=6)
SEND_BATCH = 50  # messages per run of the mail job; the job runs again at once when more wait
SMTP_TIMEOUT = 30.0
_LINK = re.compile(r"https?://[^\s<>\"']+")


class MailSettingsError(ValueError):
    """CLEARINGHOUSE_SMTP_URL cannot be used; the message says what to write instead."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand messages over: from CLEARINGHOUSE_SMTP_URL."""

    host: str
    port: int
    tls: bool = False  # implicit TLS from the first byte (smtps://, usually port 465)
    starttls: bool = False  # upgrade a plain connection (usually port 587)
    username: str | None = None
    password: str | None = None
    # The CA bundle that vouches for the server's certificate (CLEARINGHOUSE_SMTP_CA_FILE);
    # None: the system's (which SSL_CERT_FILE can point elsewhere).  Always verified.
    ca_file: str | None = None

    @classmethod
    def parse(cls, url: str, ca_file: str | None = None) -> SmtpSettings:
        parts = urlsplit(url.strip())
        example = "write it like smtp://user:pass@mail.example.org:587?starttls=1"
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise MailSettingsError(f"CLEARINGHOUSE_SMTP_URL is not an smtp:// URL; {example}")
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError as error:
            raise MailSettingsError(f"CLEARINGHOUSE_SMTP_URL has a bad port; {example}") from error
        query = parse_qs(parts.query)
        starttls = query.get("starttls", ["0"])[-1].lower() in ("1", "true", "yes", "on")
        return cls(
            host=parts.hostname,
            port=port,
            tls=parts.scheme == "smtps",
            starttls=starttls and parts.scheme == "smtp",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            ca_file=ca_file,
        )


@dataclass(frozen=True)
class MailSettings:
    """What the mail job needs from the app's settings."""

    smtp: SmtpSettings | None
    sender: str
    reply_to: str | None = None
    log_links: bool = False  # the demo: no server, log each message's links instead

    @classmethod
    def from_config(cls, config: Any) -> MailSettings:
        url = config.get("SMTP_URL")
        return cls(
            smtp=SmtpSettings.parse(url, config.get("SMTP_CA_FILE")) if url else None,
            sender=config["MAIL_FROM"],
            reply_to=config.get("MAIL_REPLY_TO"),
            log_links=bool(config.get("MAIL_LOG_LINKS")),
        )

    @property
    def can_deliver(self) -> bool:
        """True when queued messages go somewhere (a server, or the demo's log)."""
        return self.smtp is not None or self.log_links


def normal_address(address: str) -> str:
    return address.strip().lower()


def queue_message(
    session: DbSession,
    *,
    kind: str,
    to: str,
    subject: str,
    text: str,
    html: str = "",
    headers: dict[str, str] | None = None,
    group_id: int | None = None,
    now: datetime | None = None,
) -> OutgoingMail:
    """Queue one message in the caller's transaction; the worker sends it."""
    message = OutgoingMail(
        kind=kind,
        to_address=to.strip(),
        subject=subject,
        text_body=text,
        html_body=html,
        headers=dict(headers or {}),
        group_id=group_id,
        state=MailState.QUEUED,
        next_attempt_at=now or utcnow(),
        created_at=now or utcnow(),
    )
    session.add(message)
    session.flush()
    log.info("event=mail_queued mail_id=%s kind=%s", message.id, kind)
    return message


def contact(session: DbSession, address: str) -> MailContact | None:
    return session.get(MailContact, normal_address(address))


def may_send_to(session: DbSession, address: str) -> bool:
    """False once the address bounced or its owner asked for no more messages."""
    found = contact(session, address)
    return found is None or (found.bounced_at is None and found.opted_out_at is None)


def _contact_row(session: DbSession, address: str) -> MailContact:
    found = contact(session, address)
    if found is None:
        found = MailContact(address=normal_address(address), bounce_reason="")
        session.add(found)
    return found


def mark_bounced(
    session: DbSession, address: str, reason: str, *, now: datetime | None = None
) -> MailContact:
    """Record that mail to `address` is refused; nothing more is sent to it."""
    found = _contact_row(session, address)
    if found.bounced_at is None:
        found.bounced_at = now or utcnow()
        found.bounce_reason = reason[:300]
    for waiting in session.scalars(
        select(OutgoingMail).where(
            func.lower(OutgoingMail.to_address) == normal_address(address),
            OutgoingMail.state == MailState.QUEUED,
        )
    ):
        _finish(waiting, MailState.BOUNCED, "address marked bad")
    session.flush()
    return found


def opt_out(session: DbSession, address: str, *, now: datetime | None = None) -> bool:
    """The address asked to hear no more; False when it had already asked."""
    found = _contact_row(session, address)
    if found.opted_out_at is not None:
        return False
    found.opted_out_at = now or utcnow()
    for waiting in session.scalars(
        select(OutgoingMail).where(
            func.lower(OutgoingMail.to_address) == normal_address(address),
            OutgoingMail.state == MailState.QUEUED,
        )
    ):
        _finish(waiting, MailState.FAILED, "the address asked for no more messages")
    session.flush()
    return True


def build_message(row: OutgoingMail, settings: MailSettings) -> EmailMessage:
    """The MIME message: plain text, with an HTML alternative when there is one."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=_domain(settings.sender))
    if settings.reply_to:
        message["Reply-To"] = settings.reply_to
    for name, value in (row.headers or {}).items():
        message[name] = value
    message.set_content(row.text_body)
    if row.html_body:
        message.add_alternative(row.html_body, subtype="html")
    return message


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip(" >") or "localhost"


# Called with (row, permanent, reason) after a message is refused; freshness flags groups.
BounceHook = Callable[[DbSession, OutgoingMail], None]


def send_due(
    session: DbSession,
    settings: MailSettings,
    *,
    now: datetime | None = None,
    limit: int = SEND_BATCH,
    on_bounce: BounceHook | None = None,
) -> int:
    """Send up to `limit` due messages, one commit each; returns how many were tried."""
    if not settings.can_deliver:
        return 0
    now = now or utcnow()
    due = list(
        session.scalars(
            select(OutgoingMail)
            .where(OutgoingMail.state == MailState.QUEUED, OutgoingMail.next_attempt_at <= now)
            .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id)
            .limit(limit)
        )
    )
    due = [row for row in due if _claim(session, row, now)]  # another worker may send the rest
    if not due:
        return 0
    if settings.smtp is None:
        for row in due:
            _log_links(session, row, now)
        session.commit()
        return len(due)
    connection: smtplib.SMTP | None = None
    try:
        for row in due:
            if not may_send_to(session, row.to_address):
                _finish(row, MailState.FAILED, "the address bounced or asked for no more mail")
                session.commit()
                continue
            connection = _deliver(session, row, settings, settings.smtp, connection, now)
            if row.state == MailState.BOUNCED and on_bounce is not None:
                on_bounce(session, row)
            session.commit()
    finally:
        if connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.quit()
    return len(due)


def _claim(session: DbSession, row: OutgoingMail, now: datetime) -> bool:
    """Lease a queued message to this worker for longer than sending the batch can take."""
    until = now + timedelta(seconds=SEND_BATCH * SMTP_TIMEOUT)
    queued = OutgoingMail.state == MailState.QUEUED
    return leases.take(
        session, OutgoingMail.next_attempt_at, row.id, now=now, until=until, also=queued
    )


def _deliver(
    session: DbSession,
    row: OutgoingMail,
    settings: MailSettings,
    smtp: SmtpSettings,
    connection: smtplib.SMTP | None,
    now: datetime,
) -> smtplib.SMTP | None:
    """Hand one message over; returns the connection to reuse (None after an error)."""
    row.attempts += 1
    try:
        if connection is None:
            connection = _connect(smtp)
        connection.send_message(build_message(row, settings))
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _text in error.recipients.values()]
        _refused(session, row, codes[0] if codes else 550, now)
        return connection
    except smtplib.SMTPResponseException as error:
        ours = (smtplib.SMTPAuthenticationError, smtplib.SMTPSenderRefused)  # not the address
        if 500 <= error.smtp_code < 600 and not isinstance(error, ours):
            _refused(session, row, error.smtp_code, now)
            return None
        _retry(row, f"SMTP {error.smtp_code}", now)
        return None
    except (smtplib.SMTPException, OSError) as error:
        _retry(row, type(error).__name__, now)
        return None
    _finish(row, MailState.SENT, "")
    row.sent_at, row.via = now, "smtp"
    log.info("event=mail_sent mail_id=%s kind=%s attempts=%d", row.id, row.kind, row.attempts)
    return connection


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    # Certificate and host name checked (the default context's CERT_REQUIRED, check_hostname).
    context = ssl.create_default_context(cafile=smtp.ca_file)
    connection: smtplib.SMTP
    if smtp.tls:
        connection = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=SMTP_TIMEOUT, context=context)
    else:
        connection = smtplib.SMTP(smtp.host, smtp.port, timeout=SMTP_TIMEOUT)
        if smtp.starttls:
            connection.starttls(context=context)
    if smtp.username:
        connection.login(smtp.username, smtp.password or "")
    return connection


def _refused(session: DbSession, row: OutgoingMail, code: int, now: datetime) -> None:
    """A permanent refusal: the address is bad (a bounce); a temporary one is retried."""
    if not 500 <= code < 600:
        _retry(row, f"SMTP {code}", now)
        return
    _finish(row, MailState.BOUNCED, f"refused by the mail server (SMTP {code})")
    mark_bounced(session, row.to_address, f"SMTP {code} at send time", now=now)
    log.warning("event=mail_bounced mail_id=%s kind=%s smtp_code=%s", row.id, row.kind, code)


def _retry(row: OutgoingMail, reason: str, now: datetime) -> None:
    row.last_error = reason[:500]
    if row.attempts >= MAX_ATTEMPTS:
        _finish(row, MailState.FAILED, reason)
        log.warning("event=mail_failed mail_id=%s kind=%s reason=%s", row.id, row.kind, reason)
        return
    delay = min(MAX_RETRY_DELAY, timedelta(minutes=2 ** (row.attempts - 1)))
    row.next_attempt_at = now + delay
    log.info(
        "event=mail_retry mail_id=%s kind=%s attempts=%d retry_in_s=%d reason=%s",
        row.id,
        row.kind,
        row.attempts,
        delay.total_seconds(),
        reason,
    )


def _finish(row: OutgoingMail, state: MailState, reason: str) -> None:
    """A message that will not be tried again: its bodies (and their links) are dropped."""
    row.state = state
    row.last_error = reason[:500]
    row.text_body = ""
    row.html_body = ""
    row.headers = {}


def _log_links(session: DbSession, row: OutgoingMail, now: datetime) -> None:
    """The demo without a mail server: log the links a person would have received."""
    links = links_in(row.text_body)
    row.attempts += 1
    log.info(
        "event=mail_not_sent reason=no-smtp-configured mail_id=%s kind=%s links=%s",
        row.id,
        row.kind,
        " ".join(links),
    )
    _finish(row, MailState.SENT, "")
    row.sent_at, row.via = now, "log"


def links_in(text: str) -> list[str]:
    return list(dict.fromkeys(_LINK.findall(text)))


def counts_by_state(session: DbSession, kinds: Iterable[str] | None = None) -> dict[str, int]:
    query = select(OutgoingMail.state, func.count()).group_by(OutgoingMail.state)
    if kinds is not None:
        query = query.where(OutgoingMail.kind.in_(list(kinds)))
    return {str(state): int(count) for state, count in session.execute(query)}
