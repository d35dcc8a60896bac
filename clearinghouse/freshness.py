"""Listings that stay true: each group confirms its own listing once a year.

The yearly cycle, run by the worker's freshness job (`run_cycle`, with a `now` tests control):

1. *Ask*: an active listing with a private contact e-mail, last confirmed by the group or
   checked by staff more than `ask_after` ago (and not asked within that time), gets one
   e-mail with three answers — still right, something changed, we've stopped meeting.
2. *Remind*: no answer after `REMIND_AFTER` (14 days): one reminder with fresh links.
3. *Hand off*: still no answer `HAND_OFF_AFTER` (30 days) after the reminder: the listing is
   flagged "no answer from the group" for staff.

Links are random tokens of which only the SHA-256 is stored (`FreshnessLink`); an answer link
works once (the request is answered) and expires after `link_days`.  A confirmation is not a
staff verification: it sets `Group.confirmed_at`/`confirmed_via`, and the request keeps who
answered (the private address) and when.  A change becomes a suggested edit and a stop a
removal request in the review queue; staff decide.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import render_template
from sqlalchemy import exists, func, or_, select

from clearinghouse import flags, i18n, mail, schedule, schedule_es, store
from clearinghouse.groups import rule_of
from clearinghouse.i18n import force_locale, gettext
from clearinghouse.models import (
    AuditEvent,
    ChangeRequest,
    DbSession,
    FeedSource,
    FreshnessLink,
    FreshnessRequest,
    Group,
    GroupStatus,
    MailContact,
    OutgoingMail,
    utcnow,
)

log = logging.getLogger(__name__)

REMIND_AFTER = timedelta(days=14)
HAND_OFF_AFTER = timedelta(days=30)  # after the reminder
STOP_LINK_LIFETIME = timedelta(days=400)  # "stop these e-mails" works all year
FRESH_FOR = timedelta(days=2 * 365)  # the public page's "may be out of date" threshold
ASK_BATCH = 200
CONFIRM_PREFIX = "/confirm"  # the public routes (clearinghouse/public/confirm.py)
ANSWERS = ("still-right", "changed", "stopped")
KIND_REQUEST = "freshness-request"
KIND_REMINDER = "freshness-reminder"
CONFIRMED_VIA_EMAIL = "email-link"


@dataclass(frozen=True)
class FreshnessSettings:
    ask_after: timedelta
    link_lifetime: timedelta
    base_url: str  # where the links in e-mails point

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> FreshnessSettings:
        return cls(
            ask_after=timedelta(days=int(config.get("CONFIRM_AFTER_DAYS", 335))),
            link_lifetime=timedelta(days=int(config.get("CONFIRM_LINK_DAYS", 30))),
            base_url=str(
                config.get("MAIL_LINK_BASE") or config.get("BASE_URL") or "http://localhost:5000"
            ).rstrip("/"),
        )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def last_checked(group: Group) -> datetime | None:
    """The newer of the group's own confirmation and the staff's last check."""
    moments = [moment for moment in (group.confirmed_at, group.verified_at) if moment]
    return max(moments) if moments else None


def is_stale(group: Group, now: datetime) -> bool:
    """Neither confirmed by the group nor checked by staff within FRESH_FOR: the group page
    says it may be out of date, and searches rank it below fresh listings.  A listing nobody
    has checked yet is judged from when it was listed (a new listing is not out of date)."""
    checked = last_checked(group) or group.created_at
    return checked is None or now - checked > FRESH_FOR


def confirm_url(base_url: str, token: str, answer: str = "", language: str = "en") -> str:
    path = f"{base_url}{CONFIRM_PREFIX}/{token}" + (f"/{answer}" if answer else "")
    return path + _language_query(language)


def stop_url(base_url: str, token: str, language: str = "en") -> str:
    return f"{base_url}{CONFIRM_PREFIX}/{token}/stop-emails" + _language_query(language)


def _language_query(language: str) -> str:
    return f"?{i18n.PARAM}={language}" if language != i18n.DEFAULT_LANGUAGE else ""


def mail_language(group: Group) -> str:
    """The language a group is written to in: Spanish when Spanish is its (first) language."""
    first = (group.languages or [i18n.DEFAULT_LANGUAGE])[0]
    return first if first in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


# ------------------------------------------------------------------- the cycle


def run_cycle(
    session: DbSession, settings: FreshnessSettings, *, now: datetime | None = None
) -> bool:
    """Hand off, remind, then ask; commits; True when more listings wait to be asked."""
    now = now or utcnow()
    hand_off_due(session, now=now)
    remind_due(session, settings, now=now)
    asked = ask_due(session, settings, now=now)
    session.commit()
    return asked >= ASK_BATCH


def _fresh_since(cutoff: datetime) -> Any:
    """SQL: the listing was confirmed or verified after `cutoff` (never NULL)."""
    return or_(
        Group.confirmed_at.is_not(None) & (Group.confirmed_at > cutoff),
        Group.verified_at.is_not(None) & (Group.verified_at > cutoff),
    )


def _unreachable(address: Any) -> Any:
    return exists().where(
        MailContact.address == func.lower(address),
        or_(MailContact.bounced_at.is_not(None), MailContact.opted_out_at.is_not(None)),
    )


def due_for_asking(session: DbSession, settings: FreshnessSettings, now: datetime) -> Any:
    cutoff = now - settings.ask_after
    asked_lately = exists().where(
        FreshnessRequest.group_id == Group.id, FreshnessRequest.sent_at > cutoff
    )
    fed = exists().where(FeedSource.name == Group.source)  # the partner's feed keeps it true
    return (
        select(Group)
        .where(
            Group.status == GroupStatus.ACTIVE,
            Group.private_contact_email.is_not(None),
            Group.private_contact_email != "",
            Group.created_at <= cutoff,
            ~_fresh_since(cutoff),
            ~asked_lately,
            ~fed,
            ~_unreachable(Group.private_contact_email),
        )
        .order_by(Group.id)
    )


def ask_due(session: DbSession, settings: FreshnessSettings, *, now: datetime) -> int:
    """Queue one request e-mail to each listing due (up to ASK_BATCH); returns how many."""
    groups = list(session.scalars(due_for_asking(session, settings, now).limit(ASK_BATCH)))
    for group in groups:
        address = (group.private_contact_email or "").strip()
        request = FreshnessRequest(group_id=group.id, address=address, sent_at=now)
        session.add(request)
        session.flush()
        _send(session, request, settings, now, reminder=False)
    if groups:
        log.info("event=freshness_asked groups=%d", len(groups))
    return len(groups)


def _open_requests() -> Any:
    return select(FreshnessRequest).where(
        FreshnessRequest.answered_at.is_(None), FreshnessRequest.handed_off_at.is_(None)
    )


def remind_due(session: DbSession, settings: FreshnessSettings, *, now: datetime) -> int:
    """One reminder, with fresh links, to each request unanswered after REMIND_AFTER."""
    query = _open_requests().where(
        FreshnessRequest.reminded_at.is_(None), FreshnessRequest.sent_at <= now - REMIND_AFTER
    )
    reminded = 0
    for request in session.scalars(query).all():
        request.reminded_at = now
        group = request.group
        if group.status != GroupStatus.ACTIVE or not mail.may_send_to(session, request.address):
            continue
        _send(session, request, settings, now, reminder=True)
        reminded += 1
    if reminded:
        log.info("event=freshness_reminded requests=%d", reminded)
    return reminded


def hand_off_due(session: DbSession, *, now: datetime) -> int:
    """Flag for staff each listing whose group did not answer the reminder in time."""
    query = _open_requests().where(
        FreshnessRequest.reminded_at.is_not(None),
        FreshnessRequest.reminded_at <= now - HAND_OFF_AFTER,
    )
    handed = 0
    for request in session.scalars(query).all():
        request.handed_off_at = now
        if request.group.status == GroupStatus.ACTIVE:
            add_flag(session, request.group, flags.NO_ANSWER, actor="freshness")
            handed += 1
    if handed:
        log.info("event=freshness_handed_off groups=%d", handed)
    return handed


def add_flag(session: DbSession, group: Group, flag: str, *, actor: str) -> None:
    """A staff worklist flag, audited (flags are not public: no index change is needed)."""
    if flag in (group.flags or []):
        return
    before = list(group.flags or [])
    group.flags = [*before, flag]
    session.add(
        AuditEvent(
            actor=actor,
            group_uuid=group.uuid,
            action="flag",
            changes={"flags": [before, group.flags]},
        )
    )


def remove_flag(session: DbSession, group: Group, flag: str, *, actor: str) -> None:
    if flag not in (group.flags or []):
        return
    before = list(group.flags or [])
    group.flags = [f for f in before if f != flag]
    session.add(
        AuditEvent(
            actor=actor,
            group_uuid=group.uuid,
            action="flag",
            changes={"flags": [before, group.flags]},
        )
    )


# ------------------------------------------------------------------- the e-mail


def _new_link(
    session: DbSession, request: FreshnessRequest, purpose: str, expires_at: datetime, now: datetime
) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        FreshnessLink(
            token_hash=token_hash(token),
            request_id=request.id,
            purpose=purpose,
            expires_at=expires_at,
            created_at=now,
        )
    )
    return token


def _send(
    session: DbSession,
    request: FreshnessRequest,
    settings: FreshnessSettings,
    now: datetime,
    *,
    reminder: bool,
) -> OutgoingMail:
    group = request.group
    answer_token = _new_link(session, request, "answer", now + settings.link_lifetime, now)
    stop_token = _new_link(session, request, "stop", now + STOP_LINK_LIFETIME, now)
    base = settings.base_url
    language = mail_language(group)
    expires = now + settings.link_lifetime
    with force_locale(language):
        context = {
            "group": group,
            "language": language,
            "listing": listing_summary(group),
            "reminder": reminder,
            "expires_on": schedule_es.long_date(expires)
            if language == "es"
            else expires.strftime("%B %-d, %Y"),
            "links": {a: confirm_url(base, answer_token, a, language) for a in ANSWERS},
            "overview_url": confirm_url(base, answer_token, language=language),
            "stop_url": stop_url(base, stop_token, language),
        }
        subject = (
            gettext("Reminder: Is our listing for %(name)s still right?", name=group.name)
            if reminder
            else gettext("Is our listing for %(name)s still right?", name=group.name)
        )
        text = render_template("mail/freshness_request.txt", **context)
        html = render_template("mail/freshness_request.html", **context)
    return mail.queue_message(
        session,
        kind=KIND_REMINDER if reminder else KIND_REQUEST,
        to=request.address,
        subject=subject,
        text=text,
        html=html,
        headers={
            # RFC 2369 and RFC 8058: the mail program's own one-click "unsubscribe".
            "List-Unsubscribe": f"<{context['stop_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        group_id=group.id,
        now=now,
    )


def listing_summary(group: Group) -> dict[str, Any]:
    """What the public sees of the listing, in words: what the e-mail and pages show."""
    place: list[str] = []
    if group.location is not None and group.attendance != "online":
        location = group.location
        place = [
            part
            for part in (
                location.name,
                location.address,
                ", ".join(p for p in (location.city, location.region) if p),
                location.postal_code,
            )
            if part
        ]
    describe = schedule_es.describe if i18n.current_language() == "es" else schedule.describe
    rules = [describe(rule_of(meeting)) for meeting in group.meetings]
    join = [part for part in (group.online_url, group.online_phone, group.online_notes) if part]
    contact = [part for part in (group.contact_phone, group.contact_email, group.website) if part]
    return {"name": group.name, "schedule": rules, "place": place, "join": join, "contact": contact}


# ------------------------------------------------------------------- answers


@dataclass(frozen=True)
class LinkLookup:
    """What a token from an e-mail leads to: `problem` is "", "unknown", "expired" or "used"."""

    problem: str
    link: FreshnessLink | None = None

    @property
    def request(self) -> FreshnessRequest:
        assert self.link is not None
        return self.link.request


def look_up(session: DbSession, token: str, purpose: str, *, now: datetime) -> LinkLookup:
    if not token or len(token) > 100:
        return LinkLookup("unknown")
    link = session.get(FreshnessLink, token_hash(token))
    if link is None or link.purpose != purpose:
        return LinkLookup("unknown")
    if link.expires_at <= now:
        return LinkLookup("expired", link)
    request = link.request
    if purpose == "answer" and (
        request.answered_at is not None or request.group.status != GroupStatus.ACTIVE
    ):
        return LinkLookup("used", link)
    return LinkLookup("", link)


def _answered(request: FreshnessRequest, answer: str, now: datetime) -> None:
    request.answered_at = now
    request.answer = answer


def confirm(session: DbSession, request: FreshnessRequest, *, now: datetime) -> None:
    """Still right: the listing is confirmed by its group today (not a staff verification)."""
    group = request.group
    group.confirmed_at = now
    group.confirmed_via = CONFIRMED_VIA_EMAIL
    _answered(request, "confirmed", now)
    remove_flag(session, group, flags.NO_ANSWER, actor="group-contact")
    # Queued for the index too: a listing that was out of date ranks with fresh ones again.
    store.audit_and_queue(
        session,
        group,
        "confirm",
        "group-contact",
        {"confirmed_at": [None, now.isoformat()], "confirmed_via": [None, "email"]},
    )
    log.info("event=freshness_confirmed group_id=%s", group.uuid)


def record_change(
    session: DbSession,
    request: FreshnessRequest,
    payload: dict[str, Any],
    message: str,
    *,
    now: datetime,
) -> ChangeRequest:
    """Something changed: a suggested edit for the review queue (the listing is unchanged)."""
    return _for_review(session, request, "edit", payload, message, answer="changed", now=now)


def record_stop(
    session: DbSession, request: FreshnessRequest, note: str, *, now: datetime
) -> ChangeRequest:
    """We've stopped meeting: a removal request for the review queue (archive on approval)."""
    payload = {"status": "no longer meets", **({"replaced_by": note} if note else {})}
    return _for_review(session, request, "remove", payload, note, answer="stopped", now=now)


def _for_review(
    session: DbSession,
    request: FreshnessRequest,
    kind: str,
    payload: dict[str, Any],
    message: str,
    *,
    answer: str,
    now: datetime,
) -> ChangeRequest:
    """The group's answer as a change request in the review queue; staff decide."""
    change = ChangeRequest(
        kind=kind,
        group_id=request.group_id,
        payload=payload,
        message=message,
        submitter_email=request.address,
        source="group-contact",
        created_at=now,
    )
    session.add(change)
    session.flush()
    request.change_request_id = change.id
    _answered(request, answer, now)
    remove_flag(session, request.group, flags.NO_ANSWER, actor="group-contact")
    log.info(
        "event=freshness_%s group_id=%s change_request_id=%s", answer, request.group.uuid, change.id
    )
    return change


def stop_emails(session: DbSession, request: FreshnessRequest, *, now: datetime) -> bool:
    """The address asks for no more of these e-mails; False when it had already asked."""
    return mail.opt_out(session, request.address, now=now)


def flag_bounced_contact(session: DbSession, row: OutgoingMail) -> None:
    """The mail job's bounce hook: listings with this private address get a staff flag."""
    address = mail.normal_address(row.to_address)
    for group in session.scalars(
        select(Group).where(func.lower(Group.private_contact_email) == address)
    ):
        add_flag(session, group, flags.BAD_CONTACT, actor="mail")


def mark_contact_bounced(session: DbSession, group: Group, *, actor: str) -> bool:
    """Staff say the group's private address is bad; False when it has none."""
    address = (group.private_contact_email or "").strip()
    if not address:
        return False
    mail.mark_bounced(session, address, f"marked bad by {actor.split(':')[0]}")
    for other in session.scalars(
        select(Group).where(func.lower(Group.private_contact_email) == address.lower())
    ):
        add_flag(session, other, flags.BAD_CONTACT, actor=actor)
    return True
