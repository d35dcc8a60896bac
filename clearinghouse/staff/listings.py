"""Listings: the table with filters and bulk actions, create and edit, status, merge."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import Select, String, cast, func, select
from sqlalchemy.orm import selectinload

from clearinghouse import flags, geo, store
from clearinghouse.extensions import db
from clearinghouse.models import AuditEvent, Group, GroupStatus, Location, group_concerns
from clearinghouse.staff import bp, role_required
from clearinghouse.staff.common import (
    actor,
    find_group,
    get_group,
    int_arg,
    paginate,
    refresh_index,
    user_id,
)
from clearinghouse.staff.dashboard import flagged_condition, stale_condition
from clearinghouse.staff.editing import leaflet_available, save_record
from clearinghouse.staff.forms import (
    REGION_PAIRS,
    ActionForm,
    BulkForm,
    MergeForm,
)
from clearinghouse.staff.records import diff_rows, fill_missing, group_record
from clearinghouse.taxonomy import default_taxonomy
from clearinghouse.vocab import ATTENDANCE, FORMATS, STATUSES

log = logging.getLogger(__name__)
SORTS = {
    "updated": Group.updated_at.desc(),
    "name": func.lower(Group.name),
    "verified": Group.verified_at.asc(),
}


def filtered_listings(args: Any) -> Select[Any]:
    """The listing query for the table's filters; bad filter values simply match nothing."""
    query = select(Group).options(selectinload(Group.location), selectinload(Group.concerns))
    text = (args.get("q") or "").strip()[:200]
    if text:
        query = query.where(func.lower(Group.name).contains(text.lower(), autoescape=True))
    if status := args.get("status"):
        query = query.where(Group.status == status)
    if concern := args.get("concern"):
        slugs = default_taxonomy().expand([concern]) or {concern}
        query = query.where(
            Group.id.in_(
                select(group_concerns.c.group_id).where(group_concerns.c.concern_slug.in_(slugs))
            )
        )
    if region := args.get("region"):
        query = query.where(
            Group.id.in_(select(Location.group_id).where(Location.region == region.upper()))
        )
    if fmt := args.get("format"):
        query = query.where(Group.format == fmt)
    if attendance := args.get("attendance"):
        query = query.where(Group.attendance == attendance)
    if args.get("stale"):
        months = int_arg("months", 12, 1, 240)
        query = query.where(stale_condition(months))
    flag = args.get("flagged")
    if flag == "any":
        query = query.where(flagged_condition())
    elif flag:
        query = query.where(cast(Group.flags, String).contains(f'"{flag}', autoescape=True))
    order = SORTS.get(args.get("sort") or "updated", SORTS["updated"])
    return query.order_by(order, Group.id)


@bp.route("/listings")
def listings() -> Any:
    page = paginate(filtered_listings(request.args))
    return render_template(
        "staff/listings/index.html",
        page=page,
        args=request.args,
        bulk=BulkForm(),
        statuses=STATUSES,
        formats=FORMATS,
        attendances=ATTENDANCE,
        regions=REGION_PAIRS,
        concerns=list(default_taxonomy()),
        flag_kinds=flags.KINDS,
        sorts=list(SORTS),
        version_of=store.version_of,
    )


@bp.route("/listings/bulk", methods=["POST"])
def bulk() -> Any:
    form = BulkForm()
    back = _back_to_listings(request.form.get("back"))
    if not form.validate_on_submit():
        flash("Choose an action and at least one listing.", "error")
        return redirect(back)
    uuids = [u[:36] for u in form.ids.data or []][:500]
    groups = list(db.session.scalars(select(Group).where(Group.uuid.in_(uuids))))
    if not groups:
        flash("Tick at least one listing first.", "error")
        return redirect(back)
    changed = 0
    stale: list[str] = []
    for group in groups:
        version = request.form.get(f"version-{group.uuid}")
        if version is not None and not store.claim_version(db.session, group, version[:40]):
            stale.append(group.name)  # changed since the table was loaded: left alone
            continue
        if form.action.data == "verify":
            store.mark_verified(db.session, group, actor=actor(), user_id=user_id())
            changed += 1
        else:
            status = GroupStatus.ARCHIVED if form.action.data == "archive" else GroupStatus.ACTIVE
            changed += store.set_status(db.session, group, status, actor=actor(), user_id=user_id())
    db.session.commit()
    refresh_index()
    label = {c.value: c.label for c in form.action.choices}[str(form.action.data)]
    flash(f"{label}: {changed} of {len(groups)} listings changed.", "success")
    if stale:
        flash(
            f"Not changed, because someone else changed them after you loaded the table "
            f"(reload to see their changes): {', '.join(sorted(stale))}.",
            "error",
        )
    return redirect(back)


def _staff_path(target: str | None) -> str | None:
    """A path inside the console to return to, or None: never a redirect to another site."""
    if target and target.startswith("/staff/") and "//" not in target and "\\" not in target:
        return target
    return None


def _back_to_listings(target: str | None) -> str:
    path = _staff_path(target)
    return path if path and path.startswith("/staff/listings") else url_for("staff.listings")


@bp.route("/listings/<group_uuid>")
def listing(group_uuid: str) -> Any:
    group = get_group(group_uuid)
    history = list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.group_uuid == group.uuid)
            .order_by(AuditEvent.id.desc())
            .limit(200)
        )
    )
    return render_template(
        "staff/listings/detail.html",
        group=group,
        rows=diff_rows(None, group_record(group)),
        history=history,
        action=ActionForm(),
        merged_into=_merged_into(group),
        leaflet=leaflet_available(),
    )


def _merged_into(group: Group) -> Group | None:
    uuid = flags.merged_into(group.flags)
    return None if uuid is None else db.session.scalar(select(Group).where(Group.uuid == uuid))


@bp.route("/listings/<group_uuid>/verify", methods=["POST"])
def verify(group_uuid: str) -> Any:
    group = get_group(group_uuid)
    if ActionForm().validate_on_submit():
        store.mark_verified(db.session, group, actor=actor(), user_id=user_id())
        db.session.commit()
        refresh_index()
        flash(f"Marked “{group.name}” verified today.", "success")
    return redirect(
        _staff_path(request.form.get("back")) or url_for("staff.listing", group_uuid=group.uuid)
    )


@bp.route("/listings/<group_uuid>/archive", methods=["POST"])
def archive(group_uuid: str) -> Any:
    return _change_status(group_uuid, GroupStatus.ARCHIVED, "Archived")


@bp.route("/listings/<group_uuid>/restore", methods=["POST"])
def restore(group_uuid: str) -> Any:
    return _change_status(group_uuid, GroupStatus.ACTIVE, "Restored and published")


def _change_status(group_uuid: str, status: str, done: str) -> Any:
    group = get_group(group_uuid)
    if ActionForm().validate_on_submit():
        if store.set_status(db.session, group, status, actor=actor(), user_id=user_id()):
            db.session.commit()
            refresh_index()
            flash(f"{done}: “{group.name}”.", "success")
        else:
            flash(f"“{group.name}” was already {status}.", "info")
    return redirect(url_for("staff.listing", group_uuid=group.uuid))


@bp.route("/listings/<group_uuid>/purge", methods=["POST"])
@role_required("admin")
def purge(group_uuid: str) -> Any:
    group = get_group(group_uuid)
    if request.form.get("confirm") != group.slug:
        flash("To purge, type the listing's slug exactly in the confirmation box.", "error")
        return redirect(url_for("staff.listing", group_uuid=group.uuid))
    if ActionForm().validate_on_submit():
        name = group.name
        store.delete_group(db.session, group, actor=actor(), user_id=user_id())
        db.session.commit()
        refresh_index()
        flash(f"Purged “{name}” for good; its audit trail remains.", "success")
    return redirect(url_for("staff.listings"))


@bp.route("/listings/<group_uuid>/dismiss-flag", methods=["POST"])
def dismiss_flag(group_uuid: str) -> Any:
    """Clear a worklist flag staff have checked (e.g. "not a duplicate"); audited.

    Flags derived from the data (unknown concern, approximate or missing place) come back on
    the next save while the data still warrants them; a duplicate flag stays dismissed.
    """
    group = get_group(group_uuid)
    flag = (request.form.get("flag") or "")[:200]
    if ActionForm().validate_on_submit() and flag in (group.flags or []):
        before = list(group.flags)
        group.flags = [f for f in before if f != flag]
        store.audit_and_queue(
            db.session, group, "flag", actor(), {"flags": [before, group.flags]}, user_id=user_id()
        )
        db.session.commit()
        refresh_index()
        flash(f"Cleared “{flag}” from “{group.name}”.", "success")
    return redirect(_staff_path(request.form.get("back")) or url_for("staff.flagged_report"))


@bp.route("/listings/<group_uuid>/merge", methods=["GET", "POST"])
def merge(group_uuid: str) -> Any:
    """Merge a duplicate into this listing: fill gaps, archive the duplicate, note both."""
    keep = get_group(group_uuid)
    form = MergeForm(other=request.args.get("other", ""))
    other = find_group(str(form.other.data or "")) if form.other.data else None
    problem = None
    if form.other.data and other is None:
        problem = "No listing has that id or slug."
    elif other is not None and other.id == keep.id:
        problem = "That is this listing; choose its duplicate."
        other = None
    if form.is_submitted() and problem is None and other is not None:
        if form.validate_on_submit() and merge_groups(keep, other):
            flash(f"Merged “{other.name}” into this listing; the duplicate is archived.", "success")
            return redirect(url_for("staff.listing", group_uuid=keep.uuid))
        problem = problem or "The merged listing did not validate; edit it first."
    merged = fill_missing(group_record(keep), group_record(other)) if other else None
    return render_template(
        "staff/listings/merge.html",
        keep=keep,
        other=other,
        form=form,
        problem=problem,
        rows=diff_rows(group_record(keep), merged) if merged else [],
    ), (400 if problem and form.is_submitted() else 200)


def merge_groups(keep: Group, other: Group) -> bool:
    record = fill_missing(group_record(keep), group_record(other))
    saved, errors, _notes = save_record(record, keep)
    if saved is None:
        db.session.rollback()
        log.info("event=merge_refused group_id=%s errors=%d", keep.uuid, len(errors))
        return False
    store.set_status(db.session, other, GroupStatus.ARCHIVED, actor=actor(), user_id=user_id())
    other.flags = [
        *flags.without_kind(other.flags, flags.MERGED_INTO),
        flags.pointing(flags.MERGED_INTO, keep.uuid),
    ]
    duplicate = flags.pointing(flags.POSSIBLE_DUPLICATE, other.uuid)
    keep.flags = [flag for flag in keep.flags or [] if flag != duplicate]
    store.audit_and_queue(
        db.session, keep, "merge", actor(), {"merged_from": [None, other.uuid]}, user_id=user_id()
    )
    store.audit_and_queue(
        db.session, other, "merge", actor(), {"merged_into": [None, keep.uuid]}, user_id=user_id()
    )
    db.session.commit()
    refresh_index()
    return True


@bp.route("/listings/geocode")
def geocode_preview() -> Any:
    """Where an address would be placed: label, point, approximate, time zone (JSON)."""
    args = {
        k: (request.args.get(k) or "").strip()[:300]
        for k in ("address", "city", "region", "postal_code", "country")
    }
    place = None
    if args["postal_code"] or args["city"]:
        place = geo.locate_address(
            address=args["address"] or None,
            city=args["city"] or None,
            region=args["region"] or None,
            postal_code=args["postal_code"] or None,
            country=args["country"] or "US",
        )
    if place is None:
        text = ", ".join(v for v in (args["city"], args["region"], args["postal_code"]) if v)
        try:
            place = geo.resolve_place(text) if text else None
        except geo.PlaceError as error:
            return jsonify(found=False, message=str(error))
    if place is None:
        return jsonify(found=False, message="Enter a city or a ZIP / postal code to place it.")
    return jsonify(
        found=True,
        label=place.label,
        lat=round(place.lat, 6),
        lon=round(place.lon, 6),
        approximate=place.approximate,
        timezone=place.timezone,
    )
