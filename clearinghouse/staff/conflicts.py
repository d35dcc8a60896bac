"""Saves made against an older version of a listing: refused, with what changed meanwhile.

Every staff form that changes an existing listing carries the version it was opened at
(`store.version_of`, the group's `updated_at`).  A save from an older version would silently
undo someone else's change, so it is refused and nothing is written; the message names who
changed which fields since, so the editor can compare and save again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from clearinghouse import store
from clearinghouse.extensions import db
from clearinghouse.models import AuditEvent, Group

# The audit event of the save that set a version is written just after it (same flush).
_OWN_EVENT_WINDOW = timedelta(seconds=2)
_FIELD_WORDS = {"meetings": "schedule", "concerns": "concerns", "location": "place"}


class StaleListing(Exception):
    """The listing changed after the form was opened; the message says what changed."""


def require_version(group: Group, version: str | None) -> None:
    """Raise StaleListing unless `version` is current.

    None means the caller builds its record from the listing as it is now (a merge), so there
    is nothing to compare; an empty version is a form that lost its version and is refused.
    """
    if version is None or store.claim_version(db.session, group, version):
        return
    if not version:
        raise StaleListing(
            f"The form for “{group.name}” did not say which version of the listing it was "
            "opened at, so saving it could undo someone else's change. Nothing was saved. "
            "Open the listing again, then save."
        )
    raise StaleListing(stale_message(group, version))


def stale_message(group: Group, version: str) -> str:
    changes = changes_since(group, version)
    done = "; ".join(changes) if changes else "it was changed"
    return (
        f"“{group.name}” was changed by someone else after you opened it ({done}). "
        "Nothing was saved. Compare with the listing as it is now, then save again."
    )


def changes_since(group: Group, version: str) -> list[str]:
    """Each change after `version`: "pat@example.org changed name, schedule at …"."""
    try:
        since = datetime.fromisoformat(version)
    except ValueError:
        since = datetime.min
    events = events_since(group, since)
    if events and events[0].at - since < _OWN_EVENT_WINDOW and events[0].action != "verify":
        events = events[1:]  # the save that produced `version` itself
    return [_describe(event) for event in events[-10:]]


def changes_after(group: Group, moment: datetime) -> list[str]:
    """Each change made after `moment` (e.g. since a suggestion was sent)."""
    return [_describe(event) for event in events_since(group, moment)[-10:]]


def events_since(group: Group, since: datetime) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.group_uuid == group.uuid, AuditEvent.at >= since)
            .order_by(AuditEvent.id)
            .limit(50)
        )
    )


def _describe(event: AuditEvent) -> str:
    who = event.actor.removeprefix("user:")
    fields = ", ".join(_FIELD_WORDS.get(name, name.replace("_", " ")) for name in event.changes)
    what = f"changed {fields}" if fields else event.action
    return f"{who} {what} at {event.at:%Y-%m-%d %H:%M} UTC"
