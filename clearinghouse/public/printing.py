"""A group on paper: the public facts a printed list, a PDF or a feed entry carries.

`printed_group` reads public fields only (never `private_*`, submitter or staff notes), so
every printed or syndicated form of a listing is safe to hand to anyone.  Pages, PDFs and
feeds build them from the stored public bodies (`printed_of_body`, see `bodies`), like the
result cards: the same facts without loading each group through the ORM.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from clearinghouse import bodies, i18n, vocab
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
        join=tuple(_join_lines(group.online_url, group.online_phone, group.online_notes)),
        contact=tuple(_contact_lines(group.contact_phone, group.contact_email, group.website)),
        meets_in_person=location is not None,
        updated_at=group.updated_at,
    )


def _join_lines(url: str | None, phone: str | None, notes: str | None) -> list[str]:
    lines = [gettext("Online: %(url)s", url=url)] if url else []
    if phone:
        lines.append(gettext("By phone: %(phone)s", phone=phone))
    return lines + ([notes] if notes else [])


def _contact_lines(phone: str | None, email: str | None, website: str | None) -> list[str]:
    lines = [gettext("Phone: %(phone)s", phone=phone)] if phone else []
    if email:
        lines.append(gettext("Email: %(email)s", email=email))
    return lines + ([gettext("Website: %(url)s", url=website)] if website else [])


def printed_of_body(group_id: int, updated_at: datetime, body: Mapping[str, Any]) -> PrintedGroup:
    """`printed_group` from the group's stored public body (`bodies`), without the ORM: the
    same facts, read from the same fields."""
    location = body["location"] if body["attendance"] in ("in-person", "hybrid") else None
    online, contact = body["online"] or {}, body["contact"]
    closure = bodies.closure_of_body(body)
    closed = present.closure_words(closure) if closure is not None else ""
    return PrintedGroup(
        id=group_id,
        uuid=body["id"],
        slug=body["slug"],
        name=body["name"],
        description=body["description"] or "",
        organization=body["organization"]["name"] if body["organization"] else "",
        concerns=tuple(i18n.concern_label(c["slug"], c["label"]) for c in body["concerns"]),
        attendance=translated(vocab.label(vocab.ATTENDANCE, body["attendance"])),
        format=translated(vocab.label(vocab.FORMATS, body["format"])),
        cost=present.cost_words(body["cost"], body["cost_note"]),
        languages=tuple(present.language_names(body["languages"])),
        town=", ".join(p for p in (location["city"], location["region"]) if p) if location else "",
        address=tuple(present.address_lines(location)) if location else (),
        approximate=bool(location and location["approximate"]),
        schedule=tuple(line for line in (closed,) if line)
        + tuple(present.describe(rule) for rule in bodies.rules_of_body(body)),
        join=tuple(_join_lines(online.get("url"), online.get("phone"), online.get("notes"))),
        contact=tuple(_contact_lines(contact["phone"], contact["email"], contact["website"])),
        meets_in_person=location is not None,
        updated_at=updated_at,
    )


def printed(ids: Iterable[int]) -> dict[int, PrintedGroup]:
    """The printed facts of each active group among `ids`, from the stored public bodies."""
    found = bodies.versioned_bodies(db.session, set(ids))
    return {
        group_id: printed_of_body(group_id, updated_at, body)
        for group_id, (updated_at, body) in found.items()
    }


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
