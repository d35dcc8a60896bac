"""A deterministic generator of realistic synthetic listings, for the sample data and benchmarks.

`generate_listings(n, seed)` streams raw records in the project's JSON shape (the input of
`clearinghouse.listings.validate_listing`): the same `n` and `seed` always give the same
records, and record *i* does not depend on `n`, so a longer run extends a shorter one.
Places are real US ZIP areas drawn roughly by population (`indexer.generate.places`); names,
venues, organisations and contacts are invented (`indexer.generate.words`); no real person's
name appears, e-mail addresses use example domains and phone numbers are 555-01xx.

    python -m indexer.generate --count 2400 --seed 2026 --out seed_data/sample_listings.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import random
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from clearinghouse.listings import slugify
from clearinghouse.taxonomy import Taxonomy, default_taxonomy
from clearinghouse.vocab import STATUSES
from indexer.generate import text, words
from indexer.generate.places import Geography, ZipArea, jitter, us_geography

log = logging.getLogger(__name__)
T = TypeVar("T")

# Verification dates are spread over the 24 months before this day.  A fixed day, not
# today, so that a seed gives the same records whenever it runs; pass `as_of` to move it.
DEFAULT_AS_OF = date(2026, 11, 1)
VERIFIED_SPAN_DAYS = 730
COVERAGE_EVERY = 8  # every 8th record takes the next concern in turn: all appear by ~1,300
JITTER_KM = 1.5


class _Mix(Generic[T]):
    """Values with relative weights, drawn with one call."""

    def __init__(self, *options: tuple[T, float]) -> None:
        self.values = tuple(value for value, _weight in options)
        self.cum_weights = tuple(accumulate(weight for _value, weight in options))

    def pick(self, rng: random.Random) -> T:
        return rng.choices(self.values, cum_weights=self.cum_weights)[0]


ATTENDANCE_MIX = _Mix(("in-person", 65), ("hybrid", 15), ("online", 15), ("phone", 5))
_DAY_MIX = _Mix(
    ("MO", 16), ("TU", 17), ("WE", 17), ("TH", 17), ("FR", 12), ("SA", 9), ("SU", 12)
)  # fmt: skip
_PROFESSIONAL_COSTS = _Mix(("free", 60), ("fee", 30), ("donation", 10))
_PEER_COSTS = _Mix(("free", 66), ("donation", 30), ("fee", 4))
_DAY_ORDER = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_START_TIMES = {
    "morning": ("07:00", "07:30", "08:00", "09:00", "09:30", "10:00", "10:00", "10:30", "11:00"),
    "afternoon": ("12:00", "12:00", "12:15", "13:00", "13:30", "14:00", "15:00", "16:00"),
    "evening": ("17:30", "18:00", "18:30", "18:30", "19:00", "19:00", "19:00", "19:30", "20:00"),
    "night": ("21:00", "21:30", "22:00"),
}
_PARTS_OF_DAY = _Mix(("evening", 58), ("morning", 18), ("afternoon", 17), ("night", 7))
_DURATIONS = _Mix((60, 45), (75, 10), (90, 35), (120, 10))
_OTHER_LANGUAGES = ("zh", "vi", "ko", "tl", "ar", "ru", "ht", "pl", "fr", "pt", "hi", "so")
_RELATED = {
    "dual-diagnosis": ("depression", "drugs", "alcohol"),
    "dementia-caregivers": ("aging-parents", "spouse-caregivers"),
    "cancer-caregivers": ("spouse-caregivers",),
    "opioids": ("drugs",),
    "overdose-loss": ("families-of-addicts",),
    "ptsd": ("veterans", "anxiety"),
    "military-families": ("veterans",),
    "kinship-care": ("parenting-family",),
    "co-parenting": ("divorce-separation",),
    "postpartum": ("new-parents", "depression"),
    "anxiety": ("depression",),
    "autism": ("special-needs-parents",),
}


def generate_listings(
    n: int,
    seed: int = 1,
    *,
    status_mix: Mapping[str, float] | None = None,
    as_of: date | None = None,
    taxonomy: Taxonomy | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield `n` raw listings, the same ones for the same `seed`, in constant memory.

    `status_mix` (e.g. ``{"active": 0.9, "pending": 0.05, "inactive": 0.05}``) gives some
    listings other statuses, for a benchmark corpus; without it every listing is active.
    """
    if n < 0:
        raise ValueError(f"n must be 0 or more, not {n}")
    mix = _status_mix(status_mix)
    generator = _Generator(random.Random(seed), seed, taxonomy or default_taxonomy(), as_of)
    for index in range(1, n + 1):
        record = generator.listing(index)
        if mix is not None:
            record["status"] = generator.rng.choices(mix[0], cum_weights=mix[1])[0]
        yield record


def _status_mix(
    status_mix: Mapping[str, float] | None,
) -> tuple[tuple[str, ...], tuple[float, ...]] | None:
    if status_mix is None:
        return None
    unknown = sorted(set(status_mix) - set(STATUSES))
    if unknown:
        raise ValueError(f"status_mix: {unknown} are not statuses; use {', '.join(STATUSES)}")
    statuses = tuple(s for s in STATUSES if status_mix.get(s, 0) > 0)
    if not statuses or any(status_mix[s] < 0 for s in status_mix):
        raise ValueError("status_mix needs at least one positive weight and no negative ones")
    return statuses, tuple(accumulate(float(status_mix[s]) for s in statuses))


class _Generator:
    """Draws one listing at a time from a single random stream."""

    def __init__(self, rng: random.Random, seed: int, taxonomy: Taxonomy, as_of: date | None):
        self.rng = rng
        self.seed = seed
        self.as_of = as_of or DEFAULT_AS_OF
        self.geography: Geography = us_geography()
        self.taxonomy = taxonomy
        terms = sorted(taxonomy, key=lambda term: term.slug)
        self.parent_of = {term.slug: term.parent for term in terms}
        self.labels = {term.slug: term.label for term in terms}
        self.concerns = tuple(term.slug for term in terms)
        self.concern_weights = tuple(
            accumulate(
                words.CONCERN_WEIGHTS.get(term.slug, words.PARENT_WEIGHT if term.is_parent else 1.0)
                for term in terms
            )
        )
        leaves = [term.slug for term in terms if not term.is_parent]
        rng.shuffle(leaves)
        self.coverage = tuple(leaves)

    # -- one listing --------------------------------------------------------------------

    def listing(self, index: int) -> dict[str, Any]:
        rng = self.rng
        concern = self._concern(index)
        concerns = [concern]
        related = _RELATED.get(concern)
        if related and rng.random() < 0.3:
            concerns.append(rng.choice(related))
        area = self.geography.pick(rng)
        attendance = ATTENDANCE_MIX.pick(rng)
        professional = rng.random() < self._professional_odds(concern)
        time_limited = professional and rng.random() < 0.3
        is_open = rng.random() < (
            0.3 if time_limited else 0.97 if self._fellowship(concern) else 0.85
        )
        cost, cost_note = self._cost(concern, professional)
        languages = self._languages()
        audience, audience_word = self._audience(concern)
        service_area = self._service_area(attendance, area)
        facts = text.GroupFacts(
            concern=concern,
            family=self.parent_of.get(concern) or concern,
            label=self.labels[concern],
            attendance=attendance,
            professional=professional,
            open=is_open,
            time_limited=time_limited,
            languages=tuple(languages),
            audience_word=audience_word,
            service_area=tuple(service_area),
            meetings=tuple(self._meetings(concern, area)),
            area=area,
        )
        place = text.place_word(rng, area)
        venue = text.venue(rng, facts) if facts.in_person else None
        name = text.group_name(rng, facts, place, venue)
        record: dict[str, Any] = {
            "name": name,
            "description": text.description(rng, facts),
            "organization": text.organization(rng, facts),
            "concerns": concerns,
            "format": "professional-expert" if professional else "peer-led",
            "attendance": attendance,
            "open": is_open,
            "time_limited": time_limited,
            "cost": cost,
            "cost_note": cost_note,
            "languages": languages,
            "audience": audience,
            "accessibility": self._accessibility(attendance),
            "contact": self._contact(name, area),
            "private_contact": self._private_contact(area),
            "location": self._location(area, venue) if venue else None,
            "online": self._online(attendance, area),
            "service_area": service_area,
            "meetings": list(facts.meetings),
            "status": "active",
            "verified_at": (
                self.as_of - timedelta(days=rng.randrange(VERIFIED_SPAN_DAYS))
            ).isoformat(),
            "external_id": f"gen-{self.seed}-{index}",
        }
        return record

    # -- what the group is about and how it runs -----------------------------------------

    def _concern(self, index: int) -> str:
        if index % COVERAGE_EVERY == 1:
            return self.coverage[(index // COVERAGE_EVERY) % len(self.coverage)]
        return self.rng.choices(self.concerns, cum_weights=self.concern_weights)[0]

    def _fellowship(self, concern: str) -> bool:
        return concern in words.FELLOWSHIP

    def _professional_odds(self, concern: str) -> float:
        if self._fellowship(concern):
            return 0.04
        return 0.55 if concern in words.PROFESSIONAL_LEANING else 0.2

    def _cost(self, concern: str, professional: bool) -> tuple[str, str]:
        rng = self.rng
        if self._fellowship(concern):
            cost = "donation" if rng.random() < 0.7 else "free"
        elif professional:
            cost = _PROFESSIONAL_COSTS.pick(rng)
        else:
            cost = _PEER_COSTS.pick(rng)
        if cost == "fee":
            return cost, rng.choice(words.COST_NOTES)
        if cost == "donation":
            return cost, rng.choice(words.DONATION_NOTES)
        return cost, ""

    def _languages(self) -> list[str]:
        roll = self.rng.random()
        if roll < 0.86:
            return ["en"]
        if roll < 0.94:
            return ["es"]
        if roll < 0.98:
            return ["en", "es"]
        other = self.rng.choice(_OTHER_LANGUAGES)
        return [other] if self.rng.random() < 0.5 else ["en", other]

    def _audience(self, concern: str) -> tuple[list[str], str | None]:
        """Audience tags, and the one (not implied by the concern) a name may start with."""
        rng = self.rng
        hints = words.AUDIENCE_HINTS.get(concern, ())
        chosen = [tag for tag in hints if rng.random() < 0.6]
        extra = None
        if rng.random() < 0.12:
            extra = rng.choice(("women", "men", "young-adults", "seniors", "lgbtq", "newcomers"))
            if extra in chosen:
                extra = None
            else:
                chosen.append(extra)
        return chosen, extra

    def _accessibility(self, attendance: str) -> list[str]:
        rng = self.rng
        tags: list[str] = []
        if attendance in ("in-person", "hybrid"):
            for tag, odds in (
                ("wheelchair", 0.6), ("parking", 0.5), ("transit", 0.25), ("hearing-loop", 0.05),
                ("asl", 0.04), ("fragrance-free", 0.05), ("childcare", 0.06),
            ):  # fmt: skip
                if rng.random() < odds:
                    tags.append(tag)
        if attendance in ("online", "hybrid") and rng.random() < 0.4:
            tags.append("captions")
        return tags

    def _meetings(self, concern: str, area: ZipArea) -> list[dict[str, Any]]:
        rng = self.rng
        tz = area.timezone
        roll = rng.random()
        if roll < 0.04:
            return [
                {
                    "freq": "arrangement",
                    "timezone": tz,
                    "note": "Meets by arrangement; call for details.",
                }
            ]
        part = _PARTS_OF_DAY.pick(rng)
        if part == "night" and not self._fellowship(concern):
            part = "evening"
        start = rng.choice(_START_TIMES[part])
        minutes = 60 if part == "night" else _DURATIONS.pick(rng)
        end = _add_minutes(start, minutes)
        day = _DAY_MIX.pick(rng)
        weekly_odds = 0.8 if self._fellowship(concern) else 0.62
        if roll < 0.04 + weekly_odds:
            days = [day]
            if rng.random() < 0.2:
                second = _DAY_MIX.pick(rng)
                if second != day:
                    days = sorted([day, second], key=_DAY_ORDER.index)
            return [{"freq": "weekly", "byday": days, "start": start, "end": end, "timezone": tz}]
        if rng.random() < 0.3:
            first = rng.choice((1, 2))
            byday = [f"{first}{day}", f"{first + 2}{day}"]
        else:
            byday = [f"{rng.choice((1, 2, 3, 4, -1))}{day}"]
        return [{"freq": "monthly", "byday": byday, "start": start, "end": end, "timezone": tz}]

    # -- where, how to reach ---------------------------------------------------------------

    def _location(self, area: ZipArea, venue: str) -> dict[str, Any]:
        rng = self.rng
        lat, lon = jitter(rng, area.lat, area.lon, JITTER_KM)
        street = (
            f"{rng.choice(words.STREET_PREFIXES)}{rng.choice(words.STREETS)} "
            f"{rng.choice(words.STREET_TYPES)}"
        )
        roll = rng.random()
        if roll < 0.12:
            number = rng.randint(1, 99)
        elif roll < 0.85:
            number = rng.randint(100, 4999)
        else:
            number = rng.randint(5000, 19999)
        return {
            "name": venue,
            "address": f"{number} {street}",
            "city": area.city,
            "region": area.state,
            "postal_code": area.code,
            "country": "US",
            "lat": lat,
            "lon": lon,
            "timezone": area.timezone,
        }

    def _online(self, attendance: str, area: ZipArea) -> dict[str, Any] | None:
        rng = self.rng
        if attendance in ("online", "hybrid"):
            host = rng.choice(("meet.example.org", "video.example.net", "join.example.com"))
            online = {"url": f"https://{host}/j/{rng.randrange(10**9, 10**10)}"}
            if rng.random() < 0.3:
                online["phone"] = _phone(rng, area.area_code)
            notes = rng.choice(words.ONLINE_NOTES)
            if notes:
                online["notes"] = notes
            return online
        if attendance == "phone":
            return {
                "phone": _phone(rng, rng.choice((area.area_code, "800", "888"))),
                "notes": rng.choice(words.PHONE_NOTES),
            }
        return None

    def _service_area(self, attendance: str, area: ZipArea) -> list[str]:
        if attendance in ("online", "phone") and self.rng.random() < 0.4:
            return [area.state]
        return []

    def _contact(self, name: str, area: ZipArea) -> dict[str, str]:
        rng = self.rng
        domain = rng.choice(("example.org", "example.org", "example.com", "example.net"))
        roll = rng.random()
        contact = {}
        if roll < 0.65:
            contact["phone"] = _phone(rng, area.area_code)
        if roll >= 0.3:
            contact["email"] = f"{_handle(name)}@{domain}"
        if rng.random() < 0.25:
            contact["website"] = f"https://www.{domain}/groups/{slugify(name, limit=60)}"
        return contact

    def _private_contact(self, area: ZipArea) -> dict[str, str]:
        rng = self.rng
        if rng.random() < 0.2:
            return {}
        first = rng.choice(words.FIRST_NAMES)
        private = {"name": first}
        roll = rng.random()
        if roll < 0.8:
            private["phone"] = _phone(rng, area.area_code)
        if roll >= 0.5:
            private["email"] = f"{first.lower()}.{rng.randrange(10, 99)}@example.org"
        notes = rng.choice(words.PRIVATE_NOTES)
        if notes:
            private["notes"] = notes
        return private


# -- helpers ---------------------------------------------------------------------------------


def _add_minutes(start: str, minutes: int) -> str:
    hours, mins = map(int, start.split(":"))
    total = min(hours * 60 + mins + minutes, 23 * 60 + 59)
    return f"{total // 60:02d}:{total % 60:02d}"


def _handle(name: str) -> str:
    """An e-mail user name from a group's name: its first words, run together."""
    handle = ""
    for word in slugify(name).split("-"):
        if handle and len(handle) + len(word) > 20:
            break
        handle += word
    return handle or "group"


def _phone(rng: random.Random, area_code: str) -> str:
    """A fictional number: 555-0100 to 555-0199 are reserved for fiction in every area code."""
    return f"({area_code}) 555-01{rng.randrange(100):02d}"


# -- command line ------------------------------------------------------------------------------


def write_listings(records: Iterator[dict[str, Any]], out: IO[str]) -> int:
    """Write records as a JSON array, one record per line; returns how many were written."""
    count = 0
    out.write("[")
    for record in records:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        count += 1
    out.write("\n]\n")
    return count


def _output(path: Path | None) -> AbstractContextManager[IO[str]]:
    """The file to write: stdout without a path, gzip-compressed for a .gz path."""
    if path is None:
        return nullcontext(sys.stdout)
    if path.suffix == ".gz":
        return gzip.open(path, "wt", encoding="utf-8")
    return path.open("w", encoding="utf-8")


def _parse_mix(text: str) -> dict[str, float]:
    mix: dict[str, float] = {}
    for part in text.split(","):
        status, _, weight = part.partition("=")
        try:
            mix[status.strip()] = float(weight)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{part!r} is not status=weight (e.g. active=0.9,pending=0.05,inactive=0.05)"
            ) from None
    return mix


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m indexer.generate", description="Write synthetic listings as JSON."
    )
    parser.add_argument("--count", type=int, required=True, help="how many listings")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--out", type=Path, help="output file (.json or .json.gz); default stdout")
    parser.add_argument(
        "--status-mix", type=_parse_mix, default=None, help="e.g. active=0.9,pending=0.1"
    )
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must be 0 or more")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.perf_counter()
    try:
        records = generate_listings(args.count, seed=args.seed, status_mix=args.status_mix)
        with _output(args.out) as out:
            count = write_listings(records, out)
    except (ValueError, OSError) as error:
        parser.exit(2, f"error: {error}\n")
    log.info(
        "event=generate_listings count=%d seed=%d out=%s took_s=%.1f",
        count,
        args.seed,
        args.out or "-",
        time.perf_counter() - started,
    )
    return 0
