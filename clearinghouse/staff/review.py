"""The review queue: public submissions and suggested edits, approved, edited or rejected."""

from __future__ import annotations

import logging
from typing import Any, cast

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import CursorResult, select, update

from clearinghouse import store
from clearinghouse.extensions import db
from clearinghouse.models import ChangeRequest, GroupStatus, ReviewStatus, utcnow
from clearinghouse.staff import bp
from clearinghouse.staff.common import actor, paginate, refresh_index, user_id
from clearinghouse.staff.conflicts import StaleListing, changes_after
from clearinghouse.staff.editing import render_form, save_form, save_record
from clearinghouse.staff.forms import ApproveForm, RejectForm, listing_form
from clearinghouse.staff.records import (
    diff_rows,
    group_record,
    in_words,
    overlay,
    public_payload,
)

log = logging.getLogger(__name__)
REVIEW_STATUSES = tuple(status.value for status in ReviewStatus)


def get_request(request_id: int) -> ChangeRequest:
    change = db.session.get(ChangeRequest, request_id)
    if change is None:
        abort(404)
    return change


def proposed_record(change: ChangeRequest) -> dict[str, Any]:
    """What the listing would be if the request were approved as it stands."""
    payload = change.payload if isinstance(change.payload, dict) else {}
    if change.group is not None:
        return overlay(group_record(change.group), payload)
    return public_payload(payload)


def current_record(change: ChangeRequest) -> dict[str, Any] | None:
    return group_record(change.group) if change.group is not None else None


@bp.route("/review")
def review_queue() -> Any:
    status = request.args.get("status", ReviewStatus.PENDING)
    if status not in REVIEW_STATUSES:
        status = ReviewStatus.PENDING
    query = (
        select(ChangeRequest)
        .where(ChangeRequest.status == status)
        .order_by(
            ChangeRequest.created_at.asc()
            if status == ReviewStatus.PENDING
            else ChangeRequest.reviewed_at.desc(),
            ChangeRequest.id,
        )
    )
    return render_template(
        "staff/review/index.html", page=paginate(query), status=status, statuses=REVIEW_STATUSES
    )


@bp.route("/review/<int:request_id>")
def review_request(request_id: int) -> Any:
    change = get_request(request_id)
    return _render_review(change)


def _render_review(
    change: ChangeRequest, errors: list[str] | None = None, status: int = 200
) -> Any:
    rows = diff_rows(current_record(change), proposed_record(change))
    group = change.group
    approve = ApproveForm(formdata=None)
    if group is not None:
        approve.version.data = store.version_of(group)
    return (
        render_template(
            "staff/review/detail.html",
            change=change,
            rows=rows,
            errors=errors or [],
            approve=approve,
            reject=RejectForm(),
            notes=in_words(change.payload) if change.kind == "edit" else [],
            changed_since=_changed_since_request(change),
        ),
        status,
    )


def _changed_since_request(change: ChangeRequest) -> list[str]:
    """Saves to the listing after the suggestion was sent (it was made against an older one)."""
    group = change.group
    if group is None or change.status != "pending" or group.updated_at <= change.created_at:
        return []
    return changes_after(group, change.created_at) or ["the listing was changed"]


def _close(change: ChangeRequest, status: str, reason: str = "") -> None:
    change.status = status
    change.reason = reason
    change.reviewed_at = utcnow()
    change.reviewed_by_id = user_id()


def claim_pending(change: ChangeRequest) -> bool:
    """Take a pending request for this reviewer: False when another click already did.

    One UPDATE … WHERE status = 'pending' before anything else is written, so of two
    simultaneous approvals (a double click) only one goes on; the other waits for it, finds
    the request taken and answers "already approved" instead of failing on a duplicate.
    """
    result = db.session.execute(
        update(ChangeRequest)
        .where(ChangeRequest.id == change.id, ChangeRequest.status == "pending")
        .values(status="approved", reviewed_at=utcnow(), reviewed_by_id=user_id())
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


def _already_done(change: ChangeRequest) -> Any:
    db.session.rollback()
    db.session.refresh(change)
    flash(f"This request was already {change.status}; nothing more to do.", "info")
    return redirect(url_for("staff.review_request", request_id=change.id))


@bp.route("/review/<int:request_id>/approve", methods=["POST"])
def approve(request_id: int) -> Any:
    change = get_request(request_id)
    if change.status != ReviewStatus.PENDING:
        flash(f"This request was already {change.status}.", "info")
        return redirect(url_for("staff.review_request", request_id=change.id))
    form = ApproveForm()
    if not form.validate_on_submit():
        return redirect(url_for("staff.review_request", request_id=change.id))
    if not claim_pending(change):
        return _already_done(change)
    if change.kind == "remove":
        return _approve_removal(change)
    new = change.group is None  # an edit keeps the listing's status (archived stays archived)
    try:
        group, errors, notes = save_record(
            proposed_record(change),
            change.group,
            publish=new,
            version=None if new else (form.version.data or ""),
        )
    except StaleListing as stale:
        db.session.rollback()
        return _render_review(change, [str(stale)], status=409)
    if group is None:
        db.session.rollback()
        messages = [str(error) for error in errors]
        return _render_review(change, messages, status=400)
    change.group_id = group.id
    _close(change, ReviewStatus.APPROVED)
    db.session.commit()
    refresh_index()
    log.info("event=review_approved request_id=%s group_id=%s", change.id, group.uuid)
    for note in notes:
        flash(note, "info")
    done = "Approved and published" if new else f"Approved; the listing stays {group.status}:"
    flash(f"{done} “{group.name}”.", "success")
    return redirect(url_for("staff.review_queue"))


def _approve_removal(change: ChangeRequest) -> Any:
    """A group said it stopped meeting: archive its listing (kept for the audit and old links)."""
    group = change.group
    if group is not None:
        store.set_status(db.session, group, GroupStatus.ARCHIVED, actor=actor(), user_id=user_id())
    _close(change, ReviewStatus.APPROVED)
    db.session.commit()
    refresh_index()
    log.info("event=review_approved request_id=%s kind=remove", change.id)
    flash(f"Approved; “{group.name if group else 'the listing'}” is archived.", "success")
    return redirect(url_for("staff.review_queue"))


@bp.route("/review/<int:request_id>/edit", methods=["GET", "POST"])
def edit_then_approve(request_id: int) -> Any:
    change = get_request(request_id)
    if change.status != ReviewStatus.PENDING:
        flash(f"This request was already {change.status}.", "info")
        return redirect(url_for("staff.review_request", request_id=change.id))
    if change.kind == "remove":
        flash("A removal request has nothing to edit: approve or reject it.", "info")
        return redirect(url_for("staff.review_request", request_id=change.id))
    form = listing_form(proposed_record(change))
    new = change.group is None
    if form.is_submitted():
        if form.validate_on_submit() and not claim_pending(change):
            return _already_done(change)
        group = save_form(form, change.group, publish=new)
        if group is not None:
            db.session.refresh(change)
            change.group_id = group.id
            _close(change, ReviewStatus.APPROVED, "approved with staff edits")
            db.session.commit()
            done = "Approved and published" if new else "Approved"
            flash(f"{done} “{group.name}” with your edits.", "success")
            return redirect(url_for("staff.review_queue"))
        return render_form(form, change.group, status=409 if form.conflict else 400, change=change)
    if change.group is not None:
        form.version.data = store.version_of(change.group)
    return render_form(form, change.group, change=change)


@bp.route("/review/<int:request_id>/reject", methods=["POST"])
def reject(request_id: int) -> Any:
    change = get_request(request_id)
    form = RejectForm()
    if change.status != ReviewStatus.PENDING:
        flash(f"This request was already {change.status}.", "info")
        return redirect(url_for("staff.review_request", request_id=change.id))
    if not form.validate_on_submit():
        flash("Give a reason for rejecting (it is kept with the request).", "error")
        return _render_review(change, status=400)
    _close(change, ReviewStatus.REJECTED, str(form.reason.data).strip())
    db.session.commit()
    log.info("event=review_rejected request_id=%s", change.id)
    flash("Rejected; the reason is kept with the request.", "success")
    return redirect(url_for("staff.review_queue"))
