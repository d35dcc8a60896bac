"""Slugs for new groups: the name and city as a URL word, numbered when already taken.

A national directory holds hundreds of groups with the same name in the same city ("Online
Alcohol Recovery Group"), so free numbers are looked up 100 candidates at a time rather than
one per query, and a batch of new groups reserves its slugs here instead of flushing each
group; exact-match lookups also use the index under any collation.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import select

from clearinghouse.listings import ListingData, slugify
from clearinghouse.models import DbSession, Group

FALLBACK = "group"  # for a name with no letters or digits at all


def slug_base(data: ListingData) -> str:
    """What a new group's slug is made from when the data names none: its name and city."""
    city = data.location.city if data.location else ""
    return f"{data.name} {city}".strip()


class SlugAllocator:
    """Slugs unique in the store and among one batch's new groups.

    The store is asked once for all the batch's plain slugs, and again only for a name it
    already holds (or that repeats in the batch).
    """

    def __init__(self, session: DbSession, batch: Sequence[ListingData]) -> None:
        self.session = session
        self.batch = batch
        self.reserved: set[str] = set()
        self.next_number: dict[str, int] = {}
        self.plain_taken: set[str] | None = None

    def slug(self, wanted: str) -> str:
        """A free slug for `wanted` (a slug or a name), reserved for the rest of the batch."""
        base = slugify(wanted) or FALLBACK
        if self.plain_taken is None:
            self.plain_taken = self._taken_plain_slugs()
        if base not in self.next_number and base not in self.plain_taken:
            if base not in self.reserved:
                slug, number = base, 1
            else:  # a later base's numbered slug ("x-2") took this plain one
                slug, number = free_slug(self.session, base, reserved=self.reserved)
        else:
            start = self.next_number.get(base, 1)
            slug, number = free_slug(self.session, base, start=start, reserved=self.reserved)
        self.reserved.add(slug)
        self.next_number[base] = number + 1
        return slug

    def _taken_plain_slugs(self) -> set[str]:
        """Which of the batch's plain slugs the store already holds (one query per 500)."""
        bases = {slugify(data.slug or slug_base(data)) or FALLBACK for data in self.batch}
        taken: set[str] = set()
        for chunk in chunks(sorted(bases)):
            taken.update(self.session.scalars(select(Group.slug).where(Group.slug.in_(chunk))))
        return taken


def free_slug(
    session: DbSession,
    base: str,
    *,
    start: int = 1,
    reserved: set[str] | frozenset[str] = frozenset(),
) -> tuple[str, int]:
    """The first of `base`, `base-2`, `base-3`, … from `start` on that neither the store nor
    `reserved` holds, and its number."""
    while True:
        numbers = range(start, start + 100)
        candidates = [_candidate(base, n) for n in numbers]
        taken = set(session.scalars(select(Group.slug).where(Group.slug.in_(candidates))))
        taken |= reserved
        for number, candidate in zip(numbers, candidates, strict=True):
            if candidate not in taken:
                return candidate, number
        start += 100


def _candidate(base: str, number: int) -> str:
    return base if number == 1 else f"{base[:95]}-{number}"


def chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    """The values in lists of at most `size` (bound parameters per query stay small)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
