"""The duplicate rule: when a listing from one source is the same group as a stored one.

Two listings are the same group when their names match (case and spacing aside) and they
share a ZIP or a city, or, with no place, the same online link.  An import adds such a
listing anyway and flags both `possible-duplicate:<other uuid>` for staff to merge or dismiss.
"""

from __future__ import annotations

from clearinghouse import flags
from clearinghouse.listings import ListingData
from clearinghouse.models import Group


def name_key(name: str) -> str:
    """A name as the rule compares it: lower case, runs of spaces as one."""
    return " ".join(name.lower().split())


def same_group(data: ListingData, candidate: Group) -> bool:
    """The duplicate rule for a candidate of the same name: same ZIP or city, or same link."""
    place = candidate.location
    if data.location and place:
        if data.location.postal_code and data.location.postal_code == place.postal_code:
            return True
        return bool(data.location.city and data.location.city.lower() == place.city.lower())
    return bool(data.online_url and data.online_url == candidate.online_url)


def flag_pair(added: Group, other: Group) -> None:
    """Flag a newly added group and the stored one it duplicates, each pointing at the other."""
    added.flags = [*(added.flags or []), flags.pointing(flags.POSSIBLE_DUPLICATE, other.uuid)]
    mark = flags.pointing(flags.POSSIBLE_DUPLICATE, added.uuid)
    if mark not in (other.flags or []):
        other.flags = [*(other.flags or []), mark]
