"""The review queue: public submissions and suggested edits, approved, edited or rejected."""

from __future__ import annotations

import logging
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from clearinghouse.extensions import db
from clearinghouse.models import ChangeRequest, ReviewStatus, utcnow
from clearinghouse.staff import bp
from clearinghouse.staff.common import paginate, refresh_index, user_id
from clearinghouse.staff.editing import render_form, save_form, save_record
from clearinghouse.staff.forms import ActionForm, RejectForm, listing_form
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
    return (
        render_template(
            "staff/review/detail.html",
            change=change,
            rows=rows,
            errors=errors or [],
            action=ActionForm(),
            reject=RejectForm(),
            notes=in_words(change.payload) if change.kind == "edit" else [],
        ),
        status,
    )


def _close(change: ChangeRequest, status: str, reason: str = "") -> None:
    change.status = status
    change.reason = reason
    change.reviewed_at = utcnow()
    change.reviewed_by_id = user_id()


@bp.route("/review/<int:request_id>/approve", methods=["POST"])
def approve(request_id: int) -> Any:
    change = get_request(request_id)
    if change.status != ReviewStatus.PENDING:
        flash(f"This request was already {change.status}.", "info")
        return redirect(url_for("staff.review_request", request_id=change.id))
    if not ActionForm().validate_on_submit():
        return redirect(url_for("staff.review_request", request_id=change.id))
    group, errors, notes = save_record(proposed_record(change), change.group, publish=True)
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
    flash(f"Approved and published “{group.name}”.", "success")
    return redirect(url_for("staff.review_queue"))


@bp.route("/review/<int:request_id>/edit", methods=["GET", "POST"])
def edit_then_approve(request_id: int) -> Any:
    change = get_request(request_id)
    if change.status != ReviewStatus.PENDING:
        flash(f"This request was already {change.status}.", "info")
        return redirect(url_for("staff.review_request", request_id=change.id))
    form = listing_form(proposed_record(change))
    if form.is_submitted():
        group = save_form(form, change.group, publish=True)
        if group is not None:
            change.group_id = group.id
            _close(change, ReviewStatus.APPROVED, "approved with staff edits")
            db.session.commit()
            flash(f"Approved and published “{group.name}” with your edits.", "success")
            return redirect(url_for("staff.review_queue"))
        return render_form(form, change.group, status=400, change=change)
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
