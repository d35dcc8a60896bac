"""Staff worklist flags on a group: plain words, or a kind pointing at another group.

A flag is a string kept in `Group.flags`: "unknown-concern", "approximate-location" and
"no-coordinates" are recomputed on every save; "possible-duplicate:<uuid>" (set by an
import) and "merged-into:<uuid>" (set by a staff merge) point at another group by its uuid.
Build and read them only through these helpers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

UNKNOWN_CONCERN: Final = "unknown-concern"
APPROXIMATE_LOCATION: Final = "approximate-location"
NO_COORDINATES: Final = "no-coordinates"
POSSIBLE_DUPLICATE: Final = "possible-duplicate"
MERGED_INTO: Final = "merged-into"
# Set by the yearly confirmation (clearinghouse/freshness.py): the group did not answer the
# request or its reminder; the private contact address bounced or was marked bad by staff.
NO_ANSWER: Final = "no-answer-from-group"
BAD_CONTACT: Final = "bad-contact-email"
# What staff can filter the listings table by, in the order offered.
KINDS: Final = (
    UNKNOWN_CONCERN,
    APPROXIMATE_LOCATION,
    NO_COORDINATES,
    POSSIBLE_DUPLICATE,
    NO_ANSWER,
    BAD_CONTACT,
)


def pointing(kind: str, uuid: str) -> str:
    """A flag of `kind` that points at the group with this uuid."""
    return f"{kind}:{uuid}"


def kind_of(flag: str) -> str:
    """The flag's kind: the whole flag, or what comes before ":<uuid>"."""
    return flag.split(":", 1)[0]


def target(flag: str, kind: str) -> str | None:
    """The uuid a flag of `kind` points at, or None for a flag of another kind."""
    found_kind, separator, uuid = flag.partition(":")
    return uuid if separator and found_kind == kind else None


def targets(flags: Iterable[str] | None, kind: str) -> list[str]:
    """Every uuid the flags of `kind` point at, in order."""
    return [uuid for flag in flags or () if (uuid := target(flag, kind)) is not None]


def merged_into(flags: Iterable[str] | None) -> str | None:
    """The uuid of the group a merged duplicate was merged into, if any."""
    found = targets(flags, MERGED_INTO)
    return found[0] if found else None


def of_kind(flags: Iterable[str] | None, kind: str) -> list[str]:
    """The flags of `kind` (pointing or plain), in order."""
    return [flag for flag in flags or () if kind_of(flag) == kind]


def without_kind(flags: Iterable[str] | None, kind: str) -> list[str]:
    """The flags that are not of `kind`, in order."""
    return [flag for flag in flags or () if kind_of(flag) != kind]
