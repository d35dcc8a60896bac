"""Partner sources (admins): add a feed, see each refresh's outcome, refresh, pause, resume.

The page reads the same `FeedSource` rows as `clearinghouse sources list`, and its buttons
call the same functions as the commands (`indexer.sources`).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, url_for
from sqlalchemy import select

from clearinghouse.extensions import db
from clearinghouse.models import FeedSource, SourceOutcome
from clearinghouse.staff import bp, role_required
from clearinghouse.staff.common import csv_response, refresh_index
from clearinghouse.staff.forms import SourceActionForm, SourceForm
from clearinghouse.taxonomy import default_taxonomy
from indexer.sources import (
    SOURCE_FORMATS,
    RefreshSettings,
    SourceError,
    add_source,
    describe_interval,
    refresh_source,
    set_paused,
)

log = logging.getLogger(__name__)


def _source(source_id: int) -> FeedSource:
    source = db.session.get(FeedSource, source_id)
    if source is None:
        abort(404)
    return source


def _form() -> SourceForm:
    form = SourceForm()
    form.fmt.choices = [(fmt, fmt) for fmt in SOURCE_FORMATS]
    return form


def _page(form: SourceForm, status: int = 200) -> Any:
    sources = list(db.session.scalars(select(FeedSource).order_by(FeedSource.name)))
    return (
        render_template(
            "staff/sources/index.html",
            sources=sources,
            form=form,
            interval=describe_interval,
        ),
        status,
    )


@bp.route("/sources", methods=["GET", "POST"])
@role_required("admin")
def sources() -> Any:
    form = _form()
    if not form.validate_on_submit():
        return _page(form, 400 if form.is_submitted() else 200)
    try:
        source = add_source(
            db.session(),
            str(form.name.data or ""),
            url=str(form.url.data or ""),
            fmt=str(form.fmt.data or ""),
            concern=(form.concern.data or "").strip() or None,
            every=str(form.every.data or "6h"),
            taxonomy=default_taxonomy(),
        )
    except SourceError as error:
        db.session.rollback()
        form.name.errors = [*form.name.errors, str(error)]
        return _page(form, 400)
    db.session.commit()
    flash(f"Added {source.name}; the worker refreshes it at its next pass.", "success")
    return redirect(url_for("staff.sources"))


@bp.route("/sources/<int:source_id>/refresh", methods=["POST"])
@role_required("admin")
def refresh_source_now(source_id: int) -> Any:
    source = _source(source_id)
    if not SourceActionForm().validate_on_submit():
        abort(400)
    result = refresh_source(
        db.session(),
        source,
        taxonomy=default_taxonomy(),
        settings=RefreshSettings.from_config(current_app.config),
    )
    refresh_index()
    category = "error" if result.outcome == SourceOutcome.FAILED else "success"
    flash(f"{source.name}: {result.summary()}", category)
    return redirect(url_for("staff.sources"))


@bp.route("/sources/<int:source_id>/pause", methods=["POST"])
@role_required("admin")
def pause_source(source_id: int) -> Any:
    return _set_paused(_source(source_id), True)


@bp.route("/sources/<int:source_id>/resume", methods=["POST"])
@role_required("admin")
def resume_source(source_id: int) -> Any:
    return _set_paused(_source(source_id), False)


def _set_paused(source: FeedSource, paused: bool) -> Any:
    if not SourceActionForm().validate_on_submit():
        abort(400)
    set_paused(source, paused)
    db.session.commit()
    flash(f"{'Paused' if paused else 'Resumed'} {source.name}.", "success")
    return redirect(url_for("staff.sources"))


@bp.route("/sources/<int:source_id>/rejects.csv")
@role_required("admin")
def source_rejects(source_id: int) -> Any:
    source = _source(source_id)
    rows = [row for row in source.rejects or [] if isinstance(row, list)]
    return csv_response(f"{source.name}-rejects.csv", ["file", "row", "field", "reason"], rows)


def sources_needing_staff() -> list[FeedSource]:
    """Sources whose removals are held, or whose last refresh failed (for the dashboard)."""
    query = select(FeedSource).where(
        (FeedSource.attention != "") | (FeedSource.last_outcome == SourceOutcome.FAILED)
    )
    return list(db.session.scalars(query.order_by(FeedSource.name)))
