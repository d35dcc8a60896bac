"""The listing store: typed SQLAlchemy 2.0 models, the system of record."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

from flask_login import UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    scoped_session,
)

# What store functions take: a Session, or Flask-SQLAlchemy's scoped `db.session` proxy.
DbSession = Session | scoped_session[Any]


def utcnow() -> datetime:
    """Naive UTC timestamps: SQLite keeps no zone, so every datetime in the store is UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_uuid() -> str:
    return str(uuid.uuid4())


class GroupStatus(StrEnum):
    """Where a listing stands; only active listings are public (pages, API, feeds, index)."""

    PENDING = "pending"  # submitted or imported, waiting for staff
    ACTIVE = "active"
    INACTIVE = "inactive"  # not meeting for now (e.g. an HSDS "temporarily closed")
    ARCHIVED = "archived"  # gone: kept for the audit trail and old links


class ReviewStatus(StrEnum):
    """Where a public submission (`ChangeRequest`) stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)

group_concerns = Table(
    "group_concerns",
    Base.metadata,
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("concern_slug", ForeignKey("concerns.slug", ondelete="CASCADE"), primary_key=True),
)


class Concern(Base):
    __tablename__ = "concerns"

    slug: Mapped[str] = mapped_column(String(80), primary_key=True)
    label: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    parent_slug: Mapped[str | None] = mapped_column(ForeignKey("concerns.slug"), index=True)
    synonyms: Mapped[list[str]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<Concern {self.slug}>"


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str | None] = mapped_column(String(500))
    phone: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    groups: Mapped[list[Group]] = relationship(back_populates="organization")


class Group(Base):
    """A listing: one self-help group."""

    __tablename__ = "groups"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_groups_source_external_id"),
        Index("ix_groups_status_updated", "status", "updated_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    format: Mapped[str] = mapped_column(String(24), default="peer-led")
    attendance: Mapped[str] = mapped_column(String(16), default="in-person")
    open: Mapped[bool] = mapped_column(default=True)
    time_limited: Mapped[bool] = mapped_column(default=False)
    cost: Mapped[str] = mapped_column(String(16), default="free")
    cost_note: Mapped[str] = mapped_column(String(300), default="")
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    audience: Mapped[list[str]] = mapped_column(JSON, default=list)
    accessibility: Mapped[list[str]] = mapped_column(JSON, default=list)
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(500))
    online_url: Mapped[str | None] = mapped_column(String(500))
    online_phone: Mapped[str | None] = mapped_column(String(200))  # a one-tap dial string
    online_notes: Mapped[str] = mapped_column(String(1000), default="")
    service_area: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Staff only: never rendered on public pages, feeds or logs.
    private_contact_name: Mapped[str | None] = mapped_column(String(200))
    private_contact_phone: Mapped[str | None] = mapped_column(String(40))
    private_contact_email: Mapped[str | None] = mapped_column(String(254))
    private_notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default=GroupStatus.ACTIVE.value, index=True)
    verified_at: Mapped[datetime | None] = mapped_column()
    # The group itself said "still right" (clearinghouse/freshness.py): not a staff check.
    confirmed_at: Mapped[datetime | None] = mapped_column()
    confirmed_via: Mapped[str | None] = mapped_column(String(40))  # e.g. "email-link"
    source: Mapped[str | None] = mapped_column(String(80))
    external_id: Mapped[str | None] = mapped_column(String(200))
    unknown_concerns: Mapped[list[str]] = mapped_column(JSON, default=list)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    # Temporarily closed (still listed, labelled, no meetings) until `closed_until`, the day
    # meetings start again, or until further notice (None); see `schedule.closed_on`.
    temporarily_closed: Mapped[bool] = mapped_column(default=False)
    closed_until: Mapped[date | None] = mapped_column()
    closed_reason: Mapped[str] = mapped_column(String(300), default="")
    # Days the whole group does not meet: [{"date": "2026-12-24", "reason": "Christmas Eve"}].
    cancellations: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization | None] = relationship(back_populates="groups")
    location: Mapped[Location | None] = relationship(
        back_populates="group", cascade="all, delete-orphan", uselist=False
    )
    meetings: Mapped[list[Meeting]] = relationship(
        back_populates="group", cascade="all, delete-orphan", order_by="Meeting.position"
    )
    concerns: Mapped[list[Concern]] = relationship(
        secondary=group_concerns, order_by=Concern.position
    )

    @property
    def is_public(self) -> bool:
        return self.status == GroupStatus.ACTIVE

    def __repr__(self) -> str:
        return f"<Group {self.slug}>"


class Location(Base):
    __tablename__ = "locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    region: Mapped[str] = mapped_column(String(8), default="", index=True)
    postal_code: Mapped[str] = mapped_column(String(12), default="")
    country: Mapped[str] = mapped_column(String(2), default="US")
    lat: Mapped[float | None] = mapped_column()
    lon: Mapped[float | None] = mapped_column()
    approximate: Mapped[bool] = mapped_column(default=False)
    timezone: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str] = mapped_column(String(1000), default="")

    group: Mapped[Group] = relationship(back_populates="location")


class Meeting(Base):
    """One schedule rule: weekly or monthly on some days, or by arrangement."""

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    freq: Mapped[str] = mapped_column(String(12), default="weekly")
    byday: Mapped[list[str]] = mapped_column(JSON, default=list)
    start: Mapped[time | None] = mapped_column()
    end: Mapped[time | None] = mapped_column()
    timezone: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(300), default="")
    # Weekly rules may meet every `interval` weeks, counted from the week of `anchor`.
    interval: Mapped[int] = mapped_column(default=1)
    anchor: Mapped[date | None] = mapped_column()
    # Days this rule does not meet, as on Group.cancellations.
    cancellations: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)

    group: Mapped[Group] = relationship(back_populates="meetings")


class PublicBody(Base):
    """A group's public JSON as `serialize.group_body` made it, at one version of the group.

    Search results read a page of these in one query instead of loading groups through the
    ORM (`clearinghouse.bodies`).  A body counts only while `version` is the group's
    `updated_at` and `format` the serializer's `BODY_FORMAT`; otherwise it is made again.
    Only public fields are in it: private contact details never are.
    """

    __tablename__ = "public_bodies"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    version: Mapped[datetime] = mapped_column()
    format: Mapped[int] = mapped_column()
    body: Mapped[str] = mapped_column(Text)


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(12), default="editor")
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str | None:
        """Flask-Login's id for the cookies: this sign-in's token, never the account id.

        Set by `accounts.open_sign_in` / `accounts.find_signed_in`; a token only the server
        can revoke (sign-out, password change, deactivation, expiry).
        """
        token = self.__dict__.get("sign_in_token")
        return token if isinstance(token, str) else None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class StaffSession(Base):
    """One sign-in: the hash of the token its cookies carry, until it ends or is revoked."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class ApiKey(Base):
    """A partner's key; only its hash is stored, the prefix identifies it in lists and logs."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(128))
    rate_limit: Mapped[str] = mapped_column(String(40), default="120/minute")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by: Mapped[User | None] = relationship()  # shown on the keys page: who made it


class ChangeRequest(Base):
    """A public submission of a new group, or a suggested edit to an existing one."""

    __tablename__ = "change_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # "new" | "edit"
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    submitter_email: Mapped[str | None] = mapped_column(String(254))  # private
    status: Mapped[str] = mapped_column(String(10), default=ReviewStatus.PENDING.value, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column()
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A partner source's name when the source suggested it (a staff-edited listing whose
    # feed changed); None for the public.
    source: Mapped[str | None] = mapped_column(String(80))

    group: Mapped[Group | None] = relationship()


class SourceOutcome(StrEnum):
    """How a partner source's last refresh ended."""

    IMPORTED = "imported"  # read and applied (removals too, unless held)
    NOT_MODIFIED = "not-modified"  # the feed answered 304 or sent the same bytes: nothing to do
    HELD = "held"  # imported, but removals were held by the safety brake for staff
    FAILED = "failed"  # not fetched or not readable; the error is kept on the source


class FeedSource(Base):
    """A partner feed the worker fetches and imports every `interval_seconds`.

    Its listings are the groups whose `source` is this name; `attention` holds a message for
    staff (the safety brake held removals) until a refresh no longer needs it.
    """

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    format: Mapped[str] = mapped_column(String(20))
    concern: Mapped[str | None] = mapped_column(String(80))
    interval_seconds: Mapped[int] = mapped_column(default=6 * 3600)
    paused: Mapped[bool] = mapped_column(default=False)
    etag: Mapped[str | None] = mapped_column(String(300))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    body_sha256: Mapped[str | None] = mapped_column(String(64))
    last_run_at: Mapped[datetime | None] = mapped_column()
    last_outcome: Mapped[str | None] = mapped_column(String(20))
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_summary: Mapped[str] = mapped_column(Text, default="")
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    rejects: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    attention: Mapped[str] = mapped_column(Text, default="")
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    running_since: Mapped[datetime | None] = mapped_column()
    failures: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailState(StrEnum):
    """Where an outgoing e-mail stands (`OutgoingMail.state`)."""

    QUEUED = "queued"  # waiting for the worker (also between retries)
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry
    BOUNCED = "bounced"  # the server refused the address for good


class OutgoingMail(Base):
    """An e-mail queued by web or batch code and sent by the worker (clearinghouse/mail.py).

    The bodies carry one-time links, so they are emptied once the message is sent or given up.
    """

    __tablename__ = "outgoing_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # "freshness-request", "freshness-reminder"
    to_address: Mapped[str] = mapped_column(String(254), index=True)  # private
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text, default="")
    html_body: Mapped[str] = mapped_column(Text, default="")
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[str] = mapped_column(String(10), default=MailState.QUEUED.value, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    via: Mapped[str] = mapped_column(String(10), default="")  # "smtp" | "log" (demo)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()


class MailContact(Base):
    """What we know of one address: refused by its server, or asked to hear no more."""

    __tablename__ = "mail_contacts"

    address: Mapped[str] = mapped_column(String(254), primary_key=True)  # lower case
    bounced_at: Mapped[datetime | None] = mapped_column()
    bounce_reason: Mapped[str] = mapped_column(String(300), default="")
    opted_out_at: Mapped[datetime | None] = mapped_column()


class FreshnessRequest(Base):
    """One yearly "is this still right?" to a group's private contact, and its answer."""

    __tablename__ = "freshness_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(String(254))  # private
    sent_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    reminded_at: Mapped[datetime | None] = mapped_column()
    handed_off_at: Mapped[datetime | None] = mapped_column()
    answered_at: Mapped[datetime | None] = mapped_column()
    answer: Mapped[str | None] = mapped_column(String(20))  # confirmed | changed | stopped
    change_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("change_requests.id", ondelete="SET NULL")
    )

    group: Mapped[Group] = relationship()


class FreshnessLink(Base):
    """A link in a freshness e-mail: only the SHA-256 of its token is kept."""

    __tablename__ = "freshness_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("freshness_requests.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(10))  # "answer" | "stop"
    expires_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[FreshnessRequest] = relationship()


class AuditEvent(Base):
    """Who changed what, field by field."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(300))  # "user:<email>", "import:<source>", "public"
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    group_uuid: Mapped[str | None] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(20))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Outbox(Base):
    """Pending index changes; the monotonic seq also drives the partner change feed."""

    __tablename__ = "outbox"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    group_uuid: Mapped[str] = mapped_column(String(36), index=True)
    group_id: Mapped[int | None] = mapped_column()
    action: Mapped[str] = mapped_column(String(8))  # "upsert" | "remove"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookState(StrEnum):
    """Whether the worker delivers to a subscription."""

    ACTIVE = "active"
    PAUSED = "paused"  # failed for the whole retry window; staff or the partner resume it


class WebhookSubscription(Base):
    """A partner's URL that is POSTed every committed change matching its concerns/regions.

    `secret` signs each delivery (HMAC-SHA256).  It is stored as issued, not hashed: the
    server must hold the key to sign with, and a hash cannot sign.  See docs/api.md.
    `last_seq` is the subscription's cursor over the outbox: every change up to it has been
    delivered or did not match.
    """

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    api_key_id: Mapped[int] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    concerns: Mapped[list[str]] = mapped_column(JSON, default=list)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(10), default=WebhookState.ACTIVE.value, index=True)
    last_seq: Mapped[int] = mapped_column(default=0)
    failing_since: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)  # failed tries of the current change
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str] = mapped_column(Text, default="")
    paused_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    api_key: Mapped[ApiKey] = relationship()


class WebhookDelivery(Base):
    """One try of one change to one subscription: the delivery log staff read."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column()
    attempt: Mapped[int] = mapped_column(default=1)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # pruned by age
    status_code: Mapped[int | None] = mapped_column()
    ok: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str] = mapped_column(String(500), default="")
    took_ms: Mapped[int] = mapped_column(default=0)


class SyncState(Base):
    """How far a consumer of the outbox (the search index) has got."""

    __tablename__ = "sync_state"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_seq: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class GeocodeCacheEntry(Base):
    __tablename__ = "geocode_cache"

    query: Mapped[str] = mapped_column(String(500), primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))
    found: Mapped[bool] = mapped_column(default=True)
    place: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchMiss(Base):
    """Counts of public searches that found nothing: concern + region + day, no person's data."""

    __tablename__ = "search_misses"
    __table_args__ = (UniqueConstraint("concern", "region", "day", name="uq_search_miss"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    concern: Mapped[str] = mapped_column(String(80), default="")
    region: Mapped[str] = mapped_column(String(8), default="")
    day: Mapped[date] = mapped_column()
    count: Mapped[int] = mapped_column(default=0)
