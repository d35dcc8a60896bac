"""An Atom 1.0 feed (RFC 4287) of groups, built with ElementTree so every value is escaped.

Entry ids are `urn:uuid:<group id>` (stable for the life of a listing, whatever its name or
address becomes); `updated` is the group's own `updated_at`.  Only public fields are written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from clearinghouse.public.printing import PrintedGroup, facts_line

ATOM = "http://www.w3.org/2005/Atom"
PUBLISHER = "Self-Help Group Clearinghouse"
# Characters XML 1.0 cannot carry at all, even escaped (control characters, lone surrogates).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def atom_time(moment: datetime) -> str:
    """RFC 3339 in UTC; the store keeps naive UTC datetimes."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat(timespec="seconds").replace("+00:00", "Z")


def summary(group: PrintedGroup) -> str:
    """The listing in a few plain lines: what, how, where, when, how to join."""
    lines = []
    if group.concerns:
        lines.append("Topics: " + ", ".join(group.concerns))
    lines.append(facts_line(group))
    if group.address:
        lines.append("Where: " + ", ".join(group.address))
    lines += ["When: " + line for line in group.schedule]
    lines += list(group.join)
    if group.description:
        lines.append(group.description)
    return "\n".join(lines)


def feed_xml(
    *,
    title: str,
    feed_id: str,
    self_url: str,
    page_url: str,
    groups: Sequence[PrintedGroup],
    group_url: Callable[[str], str],
    now: datetime,
) -> bytes:
    """The feed document; `groups` in the order entries should appear (newest first)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "title", title)
    _text(feed, "id", feed_id)
    newest = max((group.updated_at for group in groups), default=now)
    _text(feed, "updated", atom_time(newest))
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", type="application/atom+xml", href=self_url)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=page_url)
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", PUBLISHER)
    _text(feed, "generator", PUBLISHER)
    for group in groups:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", f"urn:uuid:{group.uuid}")
        _text(entry, "title", group.name)
        _text(entry, "updated", atom_time(group.updated_at))
        url = group_url(group.slug)
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=url)
        for concern in group.concerns:
            ET.SubElement(entry, f"{{{ATOM}}}category", term=concern)
        _text(entry, "summary", summary(group), type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _text(parent: ET.Element, name: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{name}", attributes)
    element.text = _NOT_XML.sub("", text)
    return element
