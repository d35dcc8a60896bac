"""The facet registry: every facet a search filters and counts by, defined once.

The query parser, the search service, both engines, the results page, the OpenAPI document
and HSDS all read `FACETS`.  Adding a facet is one entry here plus its field on `ListingDoc`
(which `documents.build_document` fills).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from clearinghouse.i18n import N_
from clearinghouse.vocab import (
    ACCESSIBILITY,
    ATTENDANCE,
    AUDIENCES,
    COSTS,
    DAYS,
    FORMATS,
    ISO_639_1,
    LANGUAGE_NAMES,
    LANGUAGES,
    TIMES_OF_DAY,
)


@dataclass(frozen=True)
class FacetSpec:
    """One facet: how the API names it, where documents keep it, how people read it."""

    name: str  # the query parameter, the API's name and the key of the counts
    field: str  # the ListingDoc attribute and the Elasticsearch keyword field
    label: str  # the plain label (API facets, HSDS terms)
    public_label: str  # what the public results page calls it
    labels: Mapping[str, str] = dataclasses.field(
        default_factory=dict
    )  # value -> label, in display order
    # Every value the parser accepts (default: the labelled ones); () for concern, whose
    # values come from the taxonomy.
    allowed: tuple[str, ...] = ()
    aliases: Mapping[str, str] = dataclasses.field(default_factory=dict)  # other spellings -> value
    help: str = ""  # what a value is, when the allowed list is too long to spell out
    hsds_attribute: bool = False  # an HSDS attribute term coded "name:value"

    def __post_init__(self) -> None:
        if not self.allowed:
            object.__setattr__(self, "allowed", tuple(self.labels))

    @property
    def describes_values(self) -> str:
        """What a caller is told is allowed (parser errors, the OpenAPI document)."""
        return self.help or "one of: " + ", ".join(self.allowed)

    def label_of(self, value: str) -> str:
        return self.labels.get(value, value)


_OTHER_LANGUAGES = tuple(sorted(ISO_639_1 - LANGUAGES.keys()))
# Day names people type ("Tuesday", "thurs") for the day codes.
DAY_WORDS: Final = {name.lower(): code for code, name in DAYS.items()} | {
    "tues": "tue",
    "wednes": "wed",
    "thur": "thu",
    "thurs": "thu",
}

# In display order; each is also a repeatable query parameter.
FACETS: Final = (
    FacetSpec(
        "concern",
        "concerns",
        "Concern",
        N_("Topic"),
        help="a concern slug from /concerns (e.g. grief-loss); a parent includes its children",
    ),
    FacetSpec("format", "format", "Format", N_("Led by"), FORMATS, hsds_attribute=True),
    FacetSpec(
        "attendance",
        "attendance",
        "Attendance",
        N_("How to take part"),
        ATTENDANCE,
        hsds_attribute=True,
    ),
    FacetSpec("day", "days", "Day", N_("Day"), DAYS, aliases=DAY_WORDS),
    FacetSpec(
        "time",
        "times",
        "Time of day",
        N_("Time of day"),
        {slug: label for slug, (label, _start, _end) in TIMES_OF_DAY.items()},
    ),
    FacetSpec(
        "language",
        "languages",
        "Language",
        N_("Language"),
        LANGUAGES,
        allowed=(*LANGUAGES, *_OTHER_LANGUAGES),
        aliases=LANGUAGE_NAMES,
        help="an ISO 639-1 code such as en, es, fr, or a language name",
    ),
    FacetSpec("cost", "cost", "Cost", N_("Cost"), COSTS, hsds_attribute=True),
    FacetSpec(
        "audience", "audience", "Audience", N_("Who it is for"), AUDIENCES, hsds_attribute=True
    ),
    FacetSpec(
        "accessibility",
        "accessibility",
        "Accessibility",
        N_("Accessibility"),
        ACCESSIBILITY,
        hsds_attribute=True,
    ),
)
FACET_NAMES: Final = tuple(spec.name for spec in FACETS)
BY_NAME: Final = {spec.name: spec for spec in FACETS}
