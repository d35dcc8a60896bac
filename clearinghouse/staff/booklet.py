"""The directory booklet: every active group for a region (and concern) as one PDF.

The printed list prisons, hospitals and treatment centres ask for: groups that meet in
person, by town, then the online and phone groups that serve the region.  Read from the
database (the system of record), public fields only, at most `MAX_BOOKLET_GROUPS` groups.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

from flask import Response, render_template, request, url_for
from sqlalchemy import select

from clearinghouse.extensions import db
from clearinghouse.geo import CA_PROVINCES, US_STATES
from clearinghouse.models import Group, Location, group_concerns
from clearinghouse.public.pdf import Section, render_pdf
from clearinghouse.public.printing import PrintedGroup, printed
from clearinghouse.staff import bp
from clearinghouse.taxonomy import default_taxonomy

log = logging.getLogger(__name__)

REGIONS = {**US_STATES, **CA_PROVINCES}
# About 320 letter pages (and ~5 s to draw): past this a booklet is no longer something to
# print and hand out.
MAX_BOOKLET_GROUPS = 2000
IN_PERSON = ("in-person", "hybrid")
REMOTE = ("online", "phone")


class BookletError(ValueError):
    """A booklet that cannot be made as asked; the message says what to change."""


def booklet_sections(region: str, concern: str) -> list[Section]:
    """Towns of the region in alphabetical order, then "Online and phone groups"."""
    concerns = default_taxonomy().expand([concern]) if concern else None
    in_person = (
        select(Group.id)
        .join(Location)
        .where(Group.status == "active", Group.attendance.in_(IN_PERSON), Location.region == region)
    )
    remote = select(Group.id, Group.service_area).where(
        Group.status == "active", Group.attendance.in_(REMOTE)
    )
    if concerns is not None:
        with_concern = select(group_concerns.c.group_id).where(
            group_concerns.c.concern_slug.in_(sorted(concerns))
        )
        in_person = in_person.where(Group.id.in_(with_concern))
        remote = remote.where(Group.id.in_(with_concern))
    local_ids = list(db.session.scalars(in_person))
    remote_ids = [gid for gid, area in db.session.execute(remote) if not area or region in area]
    count = len(local_ids) + len(remote_ids)
    if count > MAX_BOOKLET_GROUPS:
        raise BookletError(
            f"{count} groups match: more than the {MAX_BOOKLET_GROUPS} a booklet holds. "
            "Choose a concern to make it smaller."
        )
    facts = printed([*local_ids, *remote_ids])
    local = sorted((facts[i] for i in local_ids if i in facts), key=_by_town)
    sections = [
        Section(town or "Town not given", list(groups))
        for town, groups in groupby(local, key=lambda group: group.town)
    ]
    online = sorted((facts[i] for i in remote_ids if i in facts), key=lambda g: g.name.casefold())
    sections.append(Section("Online and phone groups", online))
    return sections


def _by_town(group: PrintedGroup) -> tuple[bool, str, str]:
    return (not group.town, group.town.casefold(), group.name.casefold())


def _options() -> dict[str, str]:
    return {
        "region": (request.args.get("region") or "").strip().upper()[:8],
        "concern": (request.args.get("concern") or "").strip().lower()[:80],
    }


def _check(options: dict[str, str]) -> str | None:
    """What is wrong with the chosen region and concern, or None."""
    if options["region"] not in REGIONS:
        return "Choose a state or province."
    if options["concern"] and default_taxonomy().get(options["concern"]) is None:
        return "Choose a concern from the list (or every concern)."
    return None


def _form(options: dict[str, str], error: str | None, status: int = 200) -> Any:
    return (
        render_template(
            "staff/booklet.html",
            options=options,
            error=error,
            regions=sorted(REGIONS.items()),
            tree=[
                (parent, default_taxonomy().children(parent.slug))
                for parent in default_taxonomy().parents()
            ],
            max_groups=MAX_BOOKLET_GROUPS,
        ),
        status,
    )


@bp.route("/booklet")
def booklet() -> Any:
    options = _options()
    return _form(options, None)


@bp.route("/booklet.pdf")
def booklet_pdf() -> Any:
    options = _options()
    error = _check(options)
    if error:
        return _form(options, error, 400)
    try:
        sections = booklet_sections(options["region"], options["concern"])
    except BookletError as refused:
        return _form(options, str(refused), 400)
    term = default_taxonomy().get(options["concern"]) if options["concern"] else None
    region_name = REGIONS[options["region"]]
    title = f"{term.label if term else 'Support'} groups in {region_name}"
    local = sum(len(s.groups) for s in sections[:-1])
    today = datetime.now(UTC)
    intro = [
        f"{local} group{'' if local == 1 else 's'} meeting in person in "
        f"{len(sections) - 1} town{'' if len(sections) == 2 else 's'}, by town; "
        f"{len(sections[-1].groups)} online and phone groups at the end.",
        f"Made {today:%B} {today.day}, {today.year}. Groups change: please check a group's "
        "page or call before you go.",
    ]
    body = render_pdf(
        title,
        intro,
        sections,
        lambda slug: url_for("public.group_page", slug=slug, _external=True),
        empty_text="No groups are listed for this region and concern yet.",
    )
    log.info(
        "event=booklet region=%s concern=%s groups=%d",
        options["region"],
        options["concern"] or "-",
        local + len(sections[-1].groups),
    )
    slug = "-".join(part for part in (options["region"].lower(), options["concern"]) if part)
    response = Response(body, content_type="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="groups-{slug}.pdf"'
    return response
