"""Public submissions: a new group, or an edit to a listed one, queued for staff review."""

from __future__ import annotations

import logging

from flask import redirect, render_template, url_for
from werkzeug.wrappers import Response

from clearinghouse.extensions import db, limiter
from clearinghouse.listings import validate_listing
from clearinghouse.models import ChangeRequest
from clearinghouse.public import bp
from clearinghouse.public.forms import NewGroupForm, SuggestEditForm
from clearinghouse.public.views import public_group
from clearinghouse.taxonomy import default_taxonomy

log = logging.getLogger(__name__)

SUBMIT_LIMIT = "5/hour;20/day"


@bp.route("/suggest", methods=["GET", "POST"])
@limiter.limit(SUBMIT_LIMIT, methods=["POST"])
def suggest() -> str | Response | tuple[str, int]:
    """Suggest a new group: validated like an import, stored as a pending change request."""
    form = NewGroupForm()
    if not form.is_submitted():
        return render_template("public/suggest.html", form=form, summary=[])
    if not form.validate():  # CSRF and field coercion
        summary = [
            (f.id, str(f.label.text), " ".join(map(str, f.errors))) for f in form if f.errors
        ]
        return render_template("public/suggest.html", form=form, summary=summary), 400
    if form.is_spam():
        log.info("event=submission_dropped kind=new reason=honeypot")
        return redirect(url_for("public.suggest_thanks"))
    raw = form.raw_listing()
    validation = validate_listing(raw, default_taxonomy())
    errors = [*validation.errors, *form.extra_errors()]
    if errors:
        summary = form.attach_errors(errors)
        return render_template("public/suggest.html", form=form, summary=summary), 400
    request_row = ChangeRequest(
        kind="new",
        payload=raw,
        message=(form.message.data or "").strip(),
        submitter_email=(form.submitter_email.data or "").strip() or None,
    )
    db.session.add(request_row)
    db.session.commit()
    log.info("event=change_request_created kind=new change_request_id=%s", request_row.id)
    return redirect(url_for("public.suggest_thanks"))


@bp.route("/suggest/thanks")
def suggest_thanks() -> str:
    return render_template("public/suggest_thanks.html")


@bp.route("/groups/<slug>/report", methods=["GET", "POST"])
@limiter.limit(SUBMIT_LIMIT, methods=["POST"])
def report(slug: str) -> str | Response | tuple[str, int]:
    """Suggest an edit to a listed group."""
    group = public_group(slug)
    form = SuggestEditForm()
    if not form.is_submitted():
        return render_template("public/report.html", group=group, form=form)
    if not form.validate() or not form.check():
        return render_template("public/report.html", group=group, form=form), 400
    if form.is_spam():
        log.info("event=submission_dropped kind=edit reason=honeypot")
        return redirect(url_for("public.report_thanks", slug=group.slug))
    request_row = ChangeRequest(
        kind="edit",
        group_id=group.id,
        payload=form.payload(),
        message=(form.message.data or "").strip(),
        submitter_email=(form.submitter_email.data or "").strip() or None,
    )
    db.session.add(request_row)
    db.session.commit()
    log.info(
        "event=change_request_created kind=edit change_request_id=%s group_id=%s",
        request_row.id,
        group.uuid,
    )
    return redirect(url_for("public.report_thanks", slug=group.slug))


@bp.route("/groups/<slug>/report/thanks")
def report_thanks(slug: str) -> str:
    group = public_group(slug)
    return render_template("public/report_thanks.html", group=group)
