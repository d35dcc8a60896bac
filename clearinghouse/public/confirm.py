"""A group answers its yearly "is this listing still right?" e-mail (clearinghouse/freshness.py).

Every link in the e-mail opens a page first and acts only on a POST with a CSRF token, so a
mail scanner that follows links cannot answer for the group.  The one exception is the
mail program's own one-click unsubscribe (RFC 8058), a POST whose body is
`List-Unsubscribe=One-Click`: it cannot carry our token, and the link's own secret token
already proves it came from the e-mail.  A forged, expired or used link gets a page that
says so, never an error.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from flask import render_template, request
from flask_wtf import FlaskForm
from flask_wtf.csrf import validate_csrf
from wtforms import TextAreaField
from wtforms.validators import ValidationError

from clearinghouse import freshness, groups, store
from clearinghouse.extensions import csrf, db, limiter
from clearinghouse.freshness import CONFIRM_PREFIX
from clearinghouse.i18n import lazy_gettext as _l
from clearinghouse.listings import validate_listing
from clearinghouse.models import FreshnessRequest, Group, utcnow
from clearinghouse.public import bp
from clearinghouse.public.forms import NewGroupForm
from clearinghouse.taxonomy import default_taxonomy

log = logging.getLogger(__name__)

CONFIRM_LIMIT = "30/minute;200/hour"
PROBLEM_STATUS = {"unknown": 404, "expired": 410, "used": 410}
# What the "Something changed" form covers, in the store's snapshot shape (store.snapshot).
FORM_FIELDS = (
    "name",
    "description",
    "organization",
    "concerns",
    "format",
    "attendance",
    "open",
    "time_limited",
    "cost",
    "cost_note",
    "languages",
    "audience",
    "accessibility",
    "contact_phone",
    "contact_email",
    "website",
    "online_url",
    "online_phone",
    "online_notes",
)
PLACE_FIELDS = ("name", "address", "city", "region", "postal_code")


class AnswerForm(FlaskForm):
    """A button: still right, or stop these e-mails (only the CSRF token)."""


class StoppedForm(FlaskForm):
    note = TextAreaField(_l("Moved to, or replaced by (optional)"))


class ChangedForm(NewGroupForm):
    """The listing's public fields, prefilled; what differs becomes a suggested edit."""

    @classmethod
    def for_group(cls, group: Group) -> ChangedForm:
        location = group.location
        first = group.meetings[0] if group.meetings else None
        byday = list(first.byday or []) if first else []
        data: dict[str, Any] = {
            "name": group.name,
            "description": group.description,
            "organization": group.organization.name if group.organization else "",
            "concerns": ", ".join(concern.label for concern in group.concerns),
            "format": group.format,
            "attendance": group.attendance,
            "open": "yes" if group.open else "no",
            "time_limited": group.time_limited,
            "cost": group.cost,
            "cost_note": group.cost_note,
            "languages": ", ".join(group.languages or []),
            "audience": list(group.audience or []),
            "accessibility": list(group.accessibility or []),
            "location_name": location.name if location else "",
            "address": location.address if location else "",
            "city": location.city if location else "",
            "region": location.region if location else "",
            "postal_code": location.postal_code if location else "",
            "online_url": group.online_url or "",
            "online_phone": group.online_phone or "",
            "online_notes": group.online_notes,
            "meeting_freq": first.freq if first else "weekly",
            "meeting_days": sorted({day.lstrip("-0123456789") for day in byday}),
            "meeting_weeks": sorted({day[:-2] for day in byday if day[:-2]}),
            "meeting_start": groups.hhmm(first.start) or "" if first else "",
            "meeting_end": groups.hhmm(first.end) or "" if first else "",
            "meeting_timezone": (first.timezone or "") if first else "",
            "contact_phone": group.contact_phone or "",
            "contact_email": group.contact_email or "",
            "website": group.website or "",
        }
        return cls(data=data)


def suggested_changes(group: Group, raw: dict[str, Any]) -> dict[str, Any]:
    """The fields of a validated raw listing that differ from the group, in snapshot shape."""
    validation = validate_listing(raw, default_taxonomy())
    assert validation.data is not None
    proposed = store.data_snapshot(validation.data)
    current = store.snapshot(group)
    changes = {
        name: proposed[name]
        for name in FORM_FIELDS
        if _normal(proposed[name]) != _normal(current[name])
    }
    before, after = current["location"] or {}, proposed["location"] or {}
    if any((before.get(k) or "") != (after.get(k) or "") for k in PLACE_FIELDS):
        # A new place is placed on the map again when staff approve it.
        changes["location"] = (
            {**after, "lat": None, "lon": None, "approximate": False} if after else None
        )
    if _covered(proposed["meetings"]) != _covered(current["meetings"][:1]):
        changes["meetings"] = proposed["meetings"]
    return changes


# What the form says of a rule: every other week and cancelled days are for staff to enter.
_MEETING_KEYS = ("freq", "byday", "start", "end", "timezone", "note")


def _covered(meetings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: meeting.get(key) for key in _MEETING_KEYS} for meeting in meetings]


def _normal(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return sorted(str(item) for item in value)
    return value


AnswerView = Callable[[str, FreshnessRequest], Any]


def with_request(purpose: str = "answer") -> Callable[[AnswerView], Callable[[str], Any]]:
    """The view gets the request its link belongs to; a forged, expired or used link gets
    the page that says so instead (the one look-up every confirm route starts with)."""

    def decorate(view: AnswerView) -> Callable[[str], Any]:
        @functools.wraps(view)
        def looked_up(token: str) -> Any:
            found = freshness.look_up(db.session, token, purpose, now=utcnow())
            if not found.problem:
                return view(token, found.request)
            log.info("event=freshness_link_refused problem=%s", found.problem)
            request_row = found.link.request if found.link is not None else None
            page = render_template(
                "public/confirm/problem.html", problem=found.problem, request_row=request_row
            )
            return page, PROBLEM_STATUS[found.problem]

        return looked_up

    return decorate


def _listing_page(template: str, request_row: FreshnessRequest, **context: Any) -> str:
    """A confirm page about the request's listing: the group and what the public sees of it."""
    group = request_row.group
    return render_template(
        template, group=group, listing=freshness.listing_summary(group), **context
    )


def _done(request_row: FreshnessRequest, answer: str) -> str:
    return render_template("public/confirm/done.html", answer=answer, group=request_row.group)


@bp.route(f"{CONFIRM_PREFIX}/<token>")
@limiter.limit(CONFIRM_LIMIT)
@with_request()
def confirm_overview(token: str, request_row: FreshnessRequest) -> Any:
    return _listing_page("public/confirm/overview.html", request_row, token=token)


@bp.route(f"{CONFIRM_PREFIX}/<token>/still-right", methods=["GET", "POST"])
@limiter.limit(CONFIRM_LIMIT)
@with_request()
def confirm_still_right(token: str, request_row: FreshnessRequest) -> Any:
    form = AnswerForm()
    if form.validate_on_submit():
        freshness.confirm(db.session, request_row, now=utcnow())
        db.session.commit()
        return _done(request_row, "confirmed")
    return _listing_page("public/confirm/still_right.html", request_row, form=form)


@bp.route(f"{CONFIRM_PREFIX}/<token>/changed", methods=["GET", "POST"])
@limiter.limit(CONFIRM_LIMIT)
@with_request()
def confirm_changed(token: str, request_row: FreshnessRequest) -> Any:
    group = request_row.group
    form = ChangedForm() if request.method == "POST" else ChangedForm.for_group(group)
    summary: list[tuple[str, str, str]] = []
    if form.is_submitted():
        status = 400
        if form.validate():
            raw = form.raw_listing()
            validation = validate_listing(raw, default_taxonomy())
            errors = [*validation.errors, *form.extra_errors()]
            if not errors:
                changes = suggested_changes(group, raw)
                message = (form.message.data or "").strip()
                if changes or message:
                    freshness.record_change(db.session, request_row, changes, message, now=utcnow())
                else:  # nothing differs after all: that is a confirmation
                    freshness.confirm(db.session, request_row, now=utcnow())
                db.session.commit()
                return _done(request_row, "changed" if changes or message else "confirmed")
            summary = form.attach_errors(errors)
        else:
            summary = [
                (f.id, str(f.label.text), " ".join(map(str, f.errors))) for f in form if f.errors
            ]
        return render_template(
            "public/confirm/changed.html", form=form, group=group, summary=summary
        ), status
    return render_template("public/confirm/changed.html", form=form, group=group, summary=summary)


@bp.route(f"{CONFIRM_PREFIX}/<token>/stopped", methods=["GET", "POST"])
@limiter.limit(CONFIRM_LIMIT)
@with_request()
def confirm_stopped(token: str, request_row: FreshnessRequest) -> Any:
    form = StoppedForm()
    if form.validate_on_submit():
        note = (form.note.data or "").strip()[:1000]
        freshness.record_stop(db.session, request_row, note, now=utcnow())
        db.session.commit()
        return _done(request_row, "stopped")
    return render_template("public/confirm/stopped.html", form=form, group=request_row.group)


@bp.route(f"{CONFIRM_PREFIX}/<token>/stop-emails", methods=["GET", "POST"])
@csrf.exempt  # checked below, except for the mail program's one-click POST (RFC 8058)
@limiter.limit(CONFIRM_LIMIT)
@with_request("stop")
def confirm_stop_emails(token: str, request_row: FreshnessRequest) -> Any:
    if request.method == "POST":
        one_click = request.form.get("List-Unsubscribe") == "One-Click"
        if not one_click:
            _require_csrf()
        freshness.stop_emails(db.session, request_row, now=utcnow())
        db.session.commit()
        log.info("event=freshness_opted_out one_click=%s", one_click)
        return render_template("public/confirm/stopped_emails.html", group=request_row.group)
    return render_template("public/confirm/stop_emails.html", form=AnswerForm())


def _require_csrf() -> None:
    from flask_wtf.csrf import CSRFError

    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError as error:
        raise CSRFError(str(error)) from error
