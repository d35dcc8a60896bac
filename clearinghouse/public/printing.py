"""A group on paper: the public facts a printed list, a PDF or a feed entry carries.

`printed_group` reads public fields only (never `private_*`, submitter or staff notes), so
every printed or syndicated form of a listing is safe to hand to anyone.  Built once per
group version (see `versioned`), like the result cards.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from clearinghouse import i18n, versioned, vocab
from clearinghouse.extensions import db
from clearinghouse.i18n import N_, gettext, translated
from clearinghouse.models import Group
from clearinghouse.public import present

# What the abbreviations and words on a printed list mean (shown as its legend).
LEGEND = (
    (N_("In person"), N_("meets at the address shown.")),
    (N_("Online"), N_("join from anywhere with the link shown.")),
    (N_("By phone"), N_("call the number shown to join.")),
    (N_("Hybrid"), N_("meet in person, or join online or by phone.")),
    (N_("Peer-led"), N_("run by members who share the concern; no one is in charge as an expert.")),
    (N_("Professional-expert"), N_("a professional leads the group or provides information.")),
    (N_("Times"), N_("are the group's own local time (the zone is named where known).")),
    (N_("Approx."), N_("the address is only known to the ZIP code or town: ask the group.")),
)


@dataclass(frozen=True)
class PrintedGroup:
    """Everything a printed listing shows of one version of a group (public fields only)."""

    id: int
    uuid: str
    slug: str
    name: str
    description: str
    organization: str
    concerns: tuple[str, ...]
    attendance: str  # label
    format: str  # label
    cost: str
    languages: tuple[str, ...]
    town: str  # "Burlington, VT" for a group a person can go to, else ""
    address: tuple[str, ...]
    approximate: bool
    schedule: tuple[str, ...]
    join: tuple[str, ...]  # "Online: https://…", "By phone: …", notes
    contact: tuple[str, ...]  # "Phone: …", "Email: …", "Website: …"
    meets_in_person: bool
    updated_at: datetime


def printed_group(group: Group) -> PrintedGroup:
    location = group.location if present.has_place(group) else None
    join = []
    if group.online_url:
        join.append(gettext("Online: %(url)s", url=group.online_url))
    if group.online_phone:
        join.append(gettext("By phone: %(phone)s", phone=group.online_phone))
    if group.online_notes:
        join.append(group.online_notes)
    contact = []
    if group.contact_phone:
        contact.append(gettext("Phone: %(phone)s", phone=group.contact_phone))
    if group.contact_email:
        contact.append(gettext("Email: %(email)s", email=group.contact_email))
    if group.website:
        contact.append(gettext("Website: %(url)s", url=group.website))
    return PrintedGroup(
        id=group.id,
        uuid=group.uuid,
        slug=group.slug,
        name=group.name,
        description=group.description or "",
        organization=group.organization.name if group.organization else "",
        concerns=tuple(i18n.concern_label(c.slug, c.label) for c in group.concerns),
        attendance=translated(vocab.label(vocab.ATTENDANCE, group.attendance)),
        format=translated(vocab.label(vocab.FORMATS, group.format)),
        cost=present.cost_text(group),
        languages=tuple(present.language_names(group.languages or [])),
        town=", ".join(p for p in (location.city, location.region) if p) if location else "",
        address=tuple(present.address_lines(location)) if location else (),
        approximate=bool(location and location.approximate),
        # A closure first ("Temporarily closed until …"): the list may be read for months.
        schedule=tuple(line for line in (present.schedule_notices(group).closed,) if line)
        + tuple(present.schedule_lines(group)),
        join=tuple(join),
        contact=tuple(contact),
        meets_in_person=location is not None,
        updated_at=group.updated_at,
    )


def printed(ids: Iterable[int]) -> dict[int, PrintedGroup]:
    """The printed facts of each active group among `ids` (cached per version and language)."""
    return versioned.built(f"printed-{i18n.current_language()}", printed_group, set(ids))


def printed_by_slug(slugs: Iterable[str]) -> dict[str, PrintedGroup]:
    """The printed facts of the active groups with these slugs (for result cards)."""
    wanted = sorted(set(slugs))
    if not wanted:
        return {}
    ids = db.session.scalars(select(Group.id).where(Group.slug.in_(wanted)))
    return {facts.slug: facts for facts in printed(ids).values()}


def facts_line(group: PrintedGroup) -> str:
    """ "In person · Peer-led · Free · English, Spanish" """
    return " · ".join(
        part for part in (group.attendance, group.format, group.cost, ", ".join(group.languages))
        if part
    )  # fmt: skip
