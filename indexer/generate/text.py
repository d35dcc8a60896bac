"""What a synthetic group is called and says about itself: names, descriptions, venues.

Pure functions of a random stream and the facts already drawn for the group (`GroupFacts`),
used by `indexer.generate`.  The words come from `indexer.generate.words`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from clearinghouse.geo import US_STATES
from clearinghouse.vocab import LANGUAGES
from indexer.generate import words
from indexer.generate.places import ZipArea

_DAY_NAMES = {
    "MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday", "FR": "Friday",
    "SA": "Saturday", "SU": "Sunday",
}  # fmt: skip
_ATTENDANCE_LINES = {
    "online": words.ONLINE_LINES,
    "phone": words.PHONE_LINES,
    "hybrid": words.HYBRID_LINES,
}


@dataclass(frozen=True, slots=True)
class GroupFacts:
    """What has been decided about a group before it gets a name and a description."""

    concern: str
    family: str  # the concern's parent, or the concern itself when it is a parent
    label: str  # the concern's label, for concerns `words.TOPICS` does not know
    attendance: str
    professional: bool
    open: bool
    time_limited: bool
    languages: tuple[str, ...]
    audience_word: str | None  # an audience a name may start with ("Women's …")
    service_area: tuple[str, ...]
    meetings: tuple[dict[str, Any], ...]
    area: ZipArea

    @property
    def fellowship(self) -> bool:
        return self.concern in words.FELLOWSHIP

    @property
    def in_person(self) -> bool:
        return self.attendance in ("in-person", "hybrid")


def topic(facts: GroupFacts) -> words.Topic:
    found = words.TOPICS.get(facts.concern)
    if found is None:  # a concern added to the taxonomy after the words were written
        return words.Topic(
            f"{facts.label} Support Group", f"people affected by {facts.label.lower()}"
        )
    return found


def place_word(rng: random.Random, area: ZipArea) -> str:
    """How a group's name says where it is: the city, a neighbourhood, a side, the county."""
    roll = rng.random()
    if roll < 0.45:
        return area.city
    if roll < 0.7:
        return rng.choice(words.NEIGHBORHOODS)
    if roll < 0.8:
        return rng.choice(words.SIDES)
    if roll < 0.92 and area.county:
        return area.county
    return f"{rng.choice(('North', 'South', 'East', 'West'))} {area.city}"


def venue(rng: random.Random, facts: GroupFacts) -> str:
    """A church hall, library, hospital room or community centre (hospitals for professionals)."""
    area = facts.area
    fields = {
        "city": area.city,
        "county": area.county or f"{area.city} County",
        "hood": rng.choice(words.NEIGHBORHOODS),
    }
    roll = rng.random()
    if roll < (0.45 if facts.professional else 0.15):
        hospital = rng.choice(words.HOSPITAL_FORMS).format(**fields)
        return f"{hospital}, {rng.choice(words.HOSPITAL_ROOMS)}"
    if roll < 0.55:
        return f"{rng.choice(words.CHURCH_NAMES)}, {rng.choice(words.CHURCH_ROOMS)}"
    family_venues = words.FAMILY_VENUES.get(facts.family)
    if family_venues and rng.random() < 0.5:
        return rng.choice(family_venues).format(**fields)
    return rng.choice(words.OTHER_VENUES).format(**fields)


def group_name(rng: random.Random, facts: GroupFacts, place: str, venue: str | None) -> str:
    """A name like the ones groups really have; in Spanish for groups that meet in Spanish."""
    area = facts.area
    fields = {"place": place, "city": area.city}
    meeting = facts.meetings[0]
    if meeting["freq"] != "arrangement":
        fields["day"] = _DAY_NAMES[meeting["byday"][0][-2:]]
        fields["part"] = _part_word(meeting["start"])
    if facts.languages == ("es",):
        spanish = words.SPANISH_NAMES.get(facts.concern) or words.SPANISH_NAMES.get(facts.family)
        if spanish:
            return f"{spanish} — {area.city}" if rng.random() < 0.6 else f"{spanish} {place}"
    specials = [
        form
        for form in words.SPECIAL_NAMES.get(facts.concern, ())
        if "{day}" not in form or "day" in fields
    ]
    if specials and rng.random() < 0.55:
        name = rng.choice(specials).format(**fields)
    else:
        name = _plain_name(rng, facts, fields, venue)
    if facts.languages == ("es",):
        name += " (en español)"
    return name


def _plain_name(
    rng: random.Random, facts: GroupFacts, fields: dict[str, str], venue: str | None
) -> str:
    area = facts.area
    name = topic(facts).name
    prefix = words.AUDIENCE_PREFIX.get(facts.audience_word or "")
    if prefix and rng.random() < 0.6 and not _says_who(name):
        name = f"{prefix} {name}"
    place = fields["place"]
    if facts.attendance == "online":
        if facts.service_area and rng.random() < 0.6:
            return f"{US_STATES.get(area.state, area.state)} Virtual {name}"
        return rng.choice((f"Online {name}", f"{name} (Online)", f"Virtual {name}"))
    if facts.attendance == "phone":
        return rng.choice((f"{name} by Phone", f"Phone-In {name}", f"{name} Call-In Line"))
    roll = rng.random()
    if roll < 0.35:
        return f"{place} {name}"
    if roll < 0.6:
        return f"{name} — {place}"
    if roll < 0.75 and "day" in fields:
        return f"{fields['day']} {fields['part']} {name}"
    if roll < 0.87 and venue:
        return f"{name} at {venue.split(',')[0]}"
    return f"{name} of {area.city}"


def description(rng: random.Random, facts: GroupFacts) -> str:
    """Two to four plain sentences: who it is for, how it runs, how to join."""
    who = topic(facts).who
    kind = "professionally facilitated support" if facts.professional else "peer-led support"
    opening = rng.choice(words.OPENINGS).format(kind=kind, who=who)
    pro = rng.choice(words.PROFESSIONALS)
    weeks = rng.choice((6, 8, 10, 12))
    admission: tuple[str, ...] = words.TIME_LIMITED_LINES
    if not facts.time_limited:
        admission = words.OPEN_LINES if facts.open else words.CLOSED_LINES
    lines = [
        rng.choice(words.PROFESSIONAL_LINES if facts.professional else words.PEER_LINES),
        rng.choice(admission),
        rng.choice(
            words.VENUE_LINES if facts.in_person and rng.random() < 0.4 else words.EXTRA_LINES
        ),
    ]
    rng.shuffle(lines)
    extras = []
    if facts.attendance != "in-person":
        extras.append(rng.choice(_ATTENDANCE_LINES[facts.attendance]))
    extras.extend(_language_lines(rng, facts.languages))
    keep = max(1, rng.randint(1, 3) - len(extras))
    sentences = [opening, *lines[:keep], *extras][:4]
    return " ".join(sentences).format(pro=pro, weeks=weeks)


def _language_lines(rng: random.Random, languages: tuple[str, ...]) -> list[str]:
    if languages == ("en",):
        return []
    if languages == ("es",):
        return [rng.choice(words.SPANISH_LINES)]
    if languages == ("en", "es"):
        return [rng.choice(words.BILINGUAL_LINES)]
    other = LANGUAGES.get(languages[-1], languages[-1])
    if "en" in languages:
        return [f"Meetings are in English, with members who also speak {other}."]
    return [f"Meetings are held in {other}."]


def organization(rng: random.Random, facts: GroupFacts) -> str:
    """An invented organisation for about a third of groups; never for fellowship meetings."""
    if facts.fellowship or rng.random() >= 0.35:
        return ""
    forms = words.FAMILY_ORGANIZATIONS.get(facts.family)
    if not forms or rng.random() < 0.5:
        forms = words.ORGANIZATION_FORMS
    area = facts.area
    return rng.choice(forms).format(
        city=area.city,
        county=area.county or f"{area.city} Area",
        hood=rng.choice(words.NEIGHBORHOODS),
        state_name=US_STATES.get(area.state, area.state),
    )


def _part_word(start: str) -> str:
    hour = int(start[:2])
    if hour == 12:
        return "Noon"
    if hour < 12:
        return "Morning"
    if hour < 17:
        return "Afternoon"
    return "Night" if hour < 21 else "Late"


def _says_who(name: str) -> bool:
    """Whether a topic already names its audience ("Dads' Support Group")."""
    return any(word in words.AUDIENCE_WORDS for word in name.lower().replace("&", " ").split())
