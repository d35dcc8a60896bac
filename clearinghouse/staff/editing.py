"""Creating and editing listings: the form → the one validation → geocode → the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app, flash, redirect, render_template, url_for

from clearinghouse import store
from clearinghouse.extensions import db
from clearinghouse.geocoding import geocode_listing
from clearinghouse.listings import FieldError, validate_listing
from clearinghouse.models import Group, GroupStatus
from clearinghouse.staff import bp
from clearinghouse.staff.common import actor, get_group, refresh_index, user_id
from clearinghouse.staff.conflicts import StaleListing, require_version
from clearinghouse.staff.forms import ListingForm, listing_form
from clearinghouse.staff.records import group_record
from clearinghouse.taxonomy import default_taxonomy


def save_record(
    record: dict[str, Any],
    group: Group | None,
    *,
    publish: bool = False,
    version: str | None = None,
) -> tuple[Group | None, list[FieldError], list[str]]:
    """Validate → geocode → apply (audit + outbox); the caller commits. Errors change nothing.

    With `version`, an existing group must still be at that version (else StaleListing).
    """
    validation = validate_listing(record, default_taxonomy())
    if validation.data is None or validation.errors:
        return None, validation.errors, []
    if group is not None:
        require_version(group, version)  # the first write: before anything is changed
    data, notes = geocode_listing(validation.data)
    change = store.apply_listing(
        db.session, data, actor=actor(), group=group, status=GroupStatus.ACTIVE, user_id=user_id()
    )
    if publish and not change.group.is_public:
        store.set_status(
            db.session, change.group, GroupStatus.ACTIVE, actor=actor(), user_id=user_id()
        )
    notes = [*notes, *(str(w) for w in validation.warnings)]
    if change.action == "unchanged" and not publish:
        notes.insert(0, "Nothing changed.")
    return change.group, [], notes


def save_form(form: ListingForm, group: Group | None, *, publish: bool = False) -> Group | None:
    """Save a submitted form; on errors, mark the fields and return None."""
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            form.general_errors.append("The form expired; please submit it again.")
        return None
    try:
        saved, errors, notes = save_record(
            form.record(include_status=group is None),
            group,
            publish=publish,
            version=(form.version.data or "") if group is not None else None,
        )
    except StaleListing as stale:
        db.session.rollback()
        form.conflict = True
        form.general_errors.append(str(stale))
        if group is not None:
            form.version.data = store.version_of(group)  # saving again keeps the form's values
        return None
    if saved is None:
        db.session.rollback()
        form.attach_errors(errors)
        return None
    db.session.commit()
    refresh_index()
    for note in notes:
        flash(note, "info")
    return saved


@bp.route("/listings/new", methods=["GET", "POST"])
def new_listing() -> Any:
    form = listing_form({"status": GroupStatus.ACTIVE.value})
    group = save_form(form, None) if form.is_submitted() else None
    if group is not None:
        flash(f"Added “{group.name}”.", "success")
        return redirect(url_for("staff.listing", group_uuid=group.uuid))
    return render_form(form, None, status=400 if form.is_submitted() else 200)


@bp.route("/listings/<group_uuid>/edit", methods=["GET", "POST"])
def edit_listing(group_uuid: str) -> Any:
    group = get_group(group_uuid)
    form = listing_form(group_record(group))
    if form.is_submitted():
        saved = save_form(form, group)
        if saved is not None:
            flash(f"Saved “{saved.name}”.", "success")
            return redirect(url_for("staff.listing", group_uuid=saved.uuid))
        return render_form(form, group, status=409 if form.conflict else 400)
    form.version.data = store.version_of(group)
    return render_form(form, group)


def render_form(form: ListingForm, group: Group | None, *, status: int = 200, **extra: Any) -> Any:
    return (
        render_template(
            "staff/listings/form.html",
            form=form,
            group=group,
            concern_terms=list(default_taxonomy()),
            leaflet=leaflet_available(),
            **extra,
        ),
        status,
    )


def leaflet_available() -> bool:
    """The map shows only when the public site has vendored Leaflet into static/."""
    folder = current_app.static_folder
    return folder is not None and (Path(folder) / "vendor" / "leaflet" / "leaflet.js").exists()
