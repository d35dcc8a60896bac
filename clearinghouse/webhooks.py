"""Partner webhooks: every committed change a subscription cares about, POSTed and signed.

A partner (by API key) subscribes a URL, optionally for some concerns and regions.  The
worker walks each active subscription's cursor over the outbox, in seq order: a change that
does not match moves the cursor on; one that matches is POSTed as the change feed's entry
(`clearinghouse.changes.change_json`) and the cursor moves only when the partner answers
2xx.  So deliveries are in order, one change at a time, at least once; the partner drops a
repeat by its `X-Clearinghouse-Delivery` key (`<subscription>-<seq>`).

Several workers may run at once: a worker first leases a subscription (`leases.take` on its
`next_attempt_at`), so only one delivers it at a time; another carries on from the cursor.

A failed try is retried with back-off (30 s doubling to an hour); a subscription still
failing `retry_window` (a day) after its first failure is paused for staff to see.  A revoked
key's subscriptions are not delivered; the delivery log keeps `LOG_KEPT` (30 days).

Each body is signed: `X-Clearinghouse-Signature: t=<unix>,v1=<hex>`, where hex is
HMAC-SHA256(secret, "<t>." + body).  The secret is stored as issued (see `WebhookSubscription`).
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import ipaddress
import json
import logging
import re
import secrets
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import urllib3
from sqlalchemy import delete, select

from clearinghouse import geo, leases
from clearinghouse.changes import Change, change_json, changes_after
from clearinghouse.models import (
    ApiKey,
    DbSession,
    Group,
    Outbox,
    WebhookDelivery,
    WebhookState,
    WebhookSubscription,
    utcnow,
)
from clearinghouse.taxonomy import Taxonomy

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
SIGNATURE_HEADER = "X-Clearinghouse-Signature"
DELIVERY_HEADER = "X-Clearinghouse-Delivery"
MAX_URL_CHARS = 2000
MAX_SUBSCRIPTIONS_PER_KEY = 10
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
CHANGES_PER_READ = 200
_CURSOR = re.compile(r"[0-9]{1,18}")
LOG_KEPT = timedelta(days=30)  # delivery log rows older than this are pruned


class WebhookError(ValueError):
    """A subscription request that cannot be accepted: which field, and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class WebhookSettings:
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    retry_window: timedelta = timedelta(days=1)
    max_per_run: int = 100  # deliveries per subscription per worker pass
    # Only for tests and single-machine demos: allow http:// and private/loopback addresses.
    allow_private: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WebhookSettings:
        return cls(
            connect_timeout=float(config.get("WEBHOOK_CONNECT_TIMEOUT", 5.0)),
            read_timeout=float(config.get("WEBHOOK_READ_TIMEOUT", 10.0)),
            retry_window=timedelta(seconds=float(config.get("WEBHOOK_RETRY_SECONDS", 86400))),
            allow_private=bool(config.get("WEBHOOK_ALLOW_PRIVATE_URLS", False)),
        )


# -- subscribing ----------------------------------------------------------------------------


def subscribe(
    session: DbSession,
    api_key: ApiKey,
    *,
    url: object,
    concerns: object = None,
    regions: object = None,
    since: object = None,
    taxonomy: Taxonomy,
    settings: WebhookSettings,
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its secret (shown once); raises WebhookError on bad input."""
    count = len(list(session.scalars(select(WebhookSubscription.id).filter_by(api_key=api_key))))
    if count >= MAX_SUBSCRIPTIONS_PER_KEY:
        raise WebhookError(
            "url", f"this key has {count} subscriptions, the most allowed; delete one first"
        )
    head = session.scalar(select(Outbox.seq).order_by(Outbox.seq.desc()).limit(1)) or 0
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    subscription = WebhookSubscription(
        api_key=api_key,
        url=check_url(url, allow_private=settings.allow_private),
        concerns=_concerns(concerns, taxonomy),
        regions=_regions(regions),
        last_seq=_since(since, head),
        secret=secret,
    )
    session.add(subscription)
    session.flush()
    log.info("event=webhook_subscribed subscription=%s key=%s", subscription.uuid, api_key.prefix)
    return subscription, secret


def check_url(value: object, *, allow_private: bool) -> str:
    if not isinstance(value, str) or not value.strip():
        raise WebhookError("url", "give the https:// address to POST changes to")
    url = value.strip()
    if len(url) > MAX_URL_CHARS:
        raise WebhookError("url", f"at most {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise WebhookError("url", f"{url[:60]!r} is not a URL") from None
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed or not host:
        raise WebhookError("url", f"must be an {' or '.join(allowed)} URL with a host")
    if parts.username or parts.password:
        raise WebhookError("url", "must not carry a user name or password")
    if not allow_private and _private_literal(host):
        raise WebhookError("url", f"{host} is a private or local address")
    return url


def _private_literal(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False


def _concerns(value: object, taxonomy: Taxonomy) -> list[str]:
    slugs = _strings("concerns", value)
    for slug in slugs:
        if slug not in taxonomy:
            raise WebhookError("concerns", f"{slug[:40]!r} is not a concern slug; see /concerns")
    return slugs


def _regions(value: object) -> list[str]:
    codes = [code.upper() for code in _strings("regions", value)]
    for code in codes:
        if not geo.region_name(code):
            raise WebhookError("regions", f"{code[:20]!r} is not a US state or Canadian province")
    return codes


def _strings(field: str, value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise WebhookError(field, "a list of strings, or leave it out for all")
    if len(value) > 100:
        raise WebhookError(field, "at most 100 values")
    return list(dict.fromkeys(item.strip() for item in value if item.strip()))


def _since(value: object, head: int) -> int:
    """The cursor to start after: an export's X-Changes-Cursor, or now."""
    if value is None:
        return head
    if not isinstance(value, str) or not _CURSOR.fullmatch(value):
        raise WebhookError("since", "a cursor from /export.ndjson's X-Changes-Cursor header")
    seq = int(value)
    if seq > head:
        raise WebhookError("since", f"cursor {seq} is ahead of the feed (newest is {head})")
    return seq


def subscription_json(subscription: WebhookSubscription) -> dict[str, Any]:
    """What the partner and staff see of a subscription (never the secret)."""

    def stamp(moment: datetime | None) -> str | None:
        return moment.isoformat() + "Z" if moment is not None else None

    return {
        "id": subscription.uuid,
        "url": subscription.url,
        "concerns": list(subscription.concerns),
        "regions": list(subscription.regions),
        "state": subscription.state,
        "cursor": str(subscription.last_seq),
        "failing_since": stamp(subscription.failing_since),
        "last_error": subscription.last_error,
        "paused_at": stamp(subscription.paused_at),
        "created_at": stamp(subscription.created_at),
    }


def resume(subscription: WebhookSubscription) -> None:
    """Deliver again from where the subscription stopped (nothing is skipped)."""
    subscription.state = WebhookState.ACTIVE.value
    subscription.paused_at = None
    subscription.failing_since = None
    subscription.attempts = 0
    subscription.next_attempt_at = None


# -- signing --------------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value: t=<unix seconds>,v1=<HMAC-SHA256 of "<t>." + body, hex>."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


# -- delivering -----------------------------------------------------------------------------


_pool: urllib3.PoolManager | None = None


def _http() -> urllib3.PoolManager:
    global _pool
    if _pool is None:
        _pool = urllib3.PoolManager(retries=False)
    return _pool


def deliver_due(
    session: DbSession,
    *,
    taxonomy: Taxonomy,
    settings: WebhookSettings,
    now: datetime | None = None,
) -> bool:
    """One pass over every active subscription whose next try is due; True when work remains."""
    moment = now or utcnow()
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.at < moment - LOG_KEPT))
    due = session.scalars(
        select(WebhookSubscription)
        .join(ApiKey, ApiKey.id == WebhookSubscription.api_key_id)
        .where(ApiKey.revoked_at.is_(None))  # a revoked key's subscriptions wait, unsent
        .where(WebhookSubscription.state == WebhookState.ACTIVE.value)
        .where(
            (WebhookSubscription.next_attempt_at.is_(None))
            | (WebhookSubscription.next_attempt_at <= moment)
        )
        .order_by(WebhookSubscription.id)
    )
    more = False
    for subscription in list(due):
        lease = claim(session, subscription.id, settings, moment)
        if lease is None:
            continue  # another worker is delivering it
        try:
            more = deliver_subscription(session, subscription, taxonomy, settings, moment) or more
        finally:
            if subscription.next_attempt_at == lease:  # neither failed nor paused: release
                subscription.next_attempt_at = None
            session.commit()
    return more


def claim(
    session: DbSession, subscription_id: int, settings: WebhookSettings, now: datetime
) -> datetime | None:
    """Lease a due subscription to this worker; its lease end, or None if another holds it."""
    per_try = settings.connect_timeout + settings.read_timeout
    lease = now + timedelta(seconds=settings.max_per_run * per_try + 60)
    column = WebhookSubscription.next_attempt_at
    return lease if leases.take(session, column, subscription_id, now=now, until=lease) else None


def deliver_subscription(
    session: DbSession,
    subscription: WebhookSubscription,
    taxonomy: Taxonomy,
    settings: WebhookSettings,
    now: datetime,
) -> bool:
    """Deliver this subscription's pending changes in order until one fails; True if more wait."""
    sent = 0
    while sent < settings.max_per_run:
        page = changes_after(session, subscription.last_seq, CHANGES_PER_READ)
        if not page.changes:
            session.commit()
            return False
        for change in page.changes:
            if not matches(session, subscription, change, taxonomy):
                subscription.last_seq = change.seq
                continue
            if not _post(session, subscription, change, settings, now):
                session.commit()
                return False
            sent += 1
            subscription.last_seq = change.seq
            session.commit()
            if sent >= settings.max_per_run:
                return True
        session.commit()
    return True


def matches(
    session: DbSession, subscription: WebhookSubscription, change: Change, taxonomy: Taxonomy
) -> bool:
    """Whether the change's group is in the subscription's concerns and regions.

    A removal is judged on the group as it was left (archived rows keep their concerns and
    place); a group deleted outright is sent to everyone, since nothing says it did not match.
    """
    if not subscription.concerns and not subscription.regions:
        return True
    group = change.group or session.scalar(select(Group).filter_by(uuid=change.group_uuid))
    if group is None:
        return True
    if subscription.concerns:
        wanted = taxonomy.expand(subscription.concerns)
        if not any(concern.slug in wanted for concern in group.concerns):
            return False
    if subscription.regions:
        region = (group.location.region or "").upper() if group.location else ""
        if region not in subscription.regions:
            return False
    return True


def _post(
    session: DbSession,
    subscription: WebhookSubscription,
    change: Change,
    settings: WebhookSettings,
    now: datetime,
) -> bool:
    """One try of one change; logs it and, on failure, schedules the retry or the pause."""
    body = json.dumps(change_json(change), ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = calendar.timegm(now.timetuple())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "clearinghouse-webhooks/1",
        SIGNATURE_HEADER: signature(subscription.secret, timestamp, body),
        DELIVERY_HEADER: f"{subscription.uuid}-{change.seq}",
    }
    started = time.perf_counter()
    status: int | None = None
    error = ""
    try:
        _check_address(subscription.url, settings)
        response = _http().request(
            "POST",
            subscription.url,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(connect=settings.connect_timeout, read=settings.read_timeout),
            redirect=False,
            preload_content=False,
        )
        status = response.status
        # The answer's body is never read: an endpoint cannot keep the worker busy with it.
        response.close()
        response.release_conn()
        if not 200 <= status < 300:
            error = f"the endpoint answered HTTP {status}"
    except (urllib3.exceptions.HTTPError, OSError, ValueError) as failure:
        error = _describe(failure)
    took_ms = int((time.perf_counter() - started) * 1000)
    attempt = subscription.attempts + 1
    session.add(
        WebhookDelivery(
            subscription_id=subscription.id,
            seq=change.seq,
            attempt=attempt,
            at=now,
            status_code=status,
            ok=not error,
            error=error[:500],
            took_ms=took_ms,
        )
    )
    if not error:
        subscription.attempts = 0
        subscription.failing_since = None
        subscription.last_error = ""
        return True
    _failed(subscription, error, settings, now)
    log.warning(
        "event=webhook_failed subscription=%s seq=%d attempt=%d state=%s error=%r",
        subscription.uuid,
        change.seq,
        attempt,
        subscription.state,
        error[:200],
    )
    return False


def _failed(
    subscription: WebhookSubscription, error: str, settings: WebhookSettings, now: datetime
) -> None:
    subscription.attempts += 1
    subscription.last_error = error[:2000]
    subscription.failing_since = subscription.failing_since or now
    if now - subscription.failing_since >= settings.retry_window:
        subscription.state = WebhookState.PAUSED.value
        subscription.paused_at = now
        subscription.next_attempt_at = None
        return
    delay = min(LONGEST_RETRY, FIRST_RETRY * 2 ** (subscription.attempts - 1))
    subscription.next_attempt_at = now + delay


def _check_address(url: str, settings: WebhookSettings) -> None:
    """Refuse, at delivery time, a host that resolves to a private address (DNS can change)."""
    if settings.allow_private:
        return
    host = urlsplit(url).hostname or ""
    for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP):
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            raise WebhookError("url", f"{host} resolves to a private address ({address})")


def _describe(failure: BaseException) -> str:
    if isinstance(failure, urllib3.exceptions.TimeoutError):
        return "the endpoint did not answer in time"
    if isinstance(failure, WebhookError):
        return f"refused: {failure.reason}"
    return f"could not reach the endpoint: {type(failure).__name__}: {str(failure)[:200]}"


def subscriptions_for(session: DbSession, api_key: ApiKey) -> Iterable[WebhookSubscription]:
    return session.scalars(
        select(WebhookSubscription).filter_by(api_key=api_key).order_by(WebhookSubscription.id)
    )
