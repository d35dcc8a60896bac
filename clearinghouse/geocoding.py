"""Placing a listing on the map: the offline gazetteer, or an online street geocoder.

`geocode_listing` fills a listing's coordinates and time zones before it is stored.  It asks
the locator the app is configured for (`current_locator`): offline ZIP/city centroids from
`clearinghouse.geo` by default, or, with `CLEARINGHOUSE_GEOCODER` set to a geopy service
name, that service for street addresses (`OnlineGeocoder`: one request a second, answers
cached in the `geocode_cache` table), falling back to the offline centroid when it has no
answer.  `clearinghouse.geo` itself stays offline: place strings, time zones, distances.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any, Protocol

from flask import current_app, has_app_context
from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import get_geocoder_for_service

from clearinghouse import geo
from clearinghouse.listings import ListingData
from clearinghouse.models import DbSession, GeocodeCacheEntry

log = logging.getLogger(__name__)
Locate = Callable[..., geo.Place | None]


def geocode_listing(
    data: ListingData, locate: Locate | None = None
) -> tuple[ListingData, list[str]]:
    """Fill coordinates (a ZIP or city centroid, marked approximate) and time zones."""
    notes: list[str] = []
    location = data.location
    if location is not None:
        if location.lat is None and (location.postal_code or location.city):
            place = (locate or current_locator())(
                address=location.address or None,
                city=location.city or None,
                region=location.region or None,
                postal_code=location.postal_code or None,
                country=location.country,
            )
            if place is None:
                notes.append("location: could not be placed on the map from its address")
            else:
                location = dataclasses.replace(
                    location,
                    lat=round(place.lat, 6),
                    lon=round(place.lon, 6),
                    approximate=place.approximate,
                    city=location.city or (place.city or ""),
                    region=location.region or (place.region or ""),
                    timezone=location.timezone or place.timezone,
                )
                if place.approximate:
                    notes.append(f"location: placed approximately at {place.label}")
        if location.lat is not None and location.lon is not None and not location.timezone:
            location = dataclasses.replace(
                location, timezone=geo.timezone_at(location.lat, location.lon)
            )
    zone = location.timezone if location else None
    meetings = tuple(
        meeting if meeting.timezone or not zone else dataclasses.replace(meeting, timezone=zone)
        for meeting in data.meetings
    )
    return dataclasses.replace(data, location=location, meetings=meetings), notes


class DatabaseGeocodeCache:
    """A GeocodeCache on the geocode_cache table; entries are written with the listing."""

    def __init__(self, session: DbSession, provider: str) -> None:
        self.session = session
        self.provider = provider

    def get(self, query: str) -> geo.Place | None:
        entry = self.session.get(GeocodeCacheEntry, query)
        if entry is None or not entry.found or entry.provider != self.provider:
            return None
        return geo.Place(**entry.place)

    def put(self, query: str, place: geo.Place) -> None:
        entry = self.session.get(GeocodeCacheEntry, query) or GeocodeCacheEntry(query=query)
        entry.provider = self.provider
        entry.found = True
        entry.place = dataclasses.asdict(place)
        self.session.add(entry)


def make_locator(service: str, session: DbSession, **options: Any) -> Locate:
    """A locate_address-compatible function that asks `service` first for street addresses."""
    if service == "offline":
        return geo.locate_address
    online = OnlineGeocoder(service, cache=DatabaseGeocodeCache(session, service), **options)

    def locate(
        *,
        address: str | None,
        city: str | None,
        region: str | None,
        postal_code: str | None,
        country: str = "US",
    ) -> geo.Place | None:
        if address:
            parts = [address, city, " ".join(p for p in (region, postal_code) if p), country]
            found = online.geocode(", ".join(p for p in parts if p))
            if found is not None:
                return dataclasses.replace(found, approximate=False)
        return geo.locate_address(
            address=address, city=city, region=region, postal_code=postal_code, country=country
        )

    return locate


def current_locator() -> Locate:
    """The locator the app is configured for (offline outside an app)."""
    if not has_app_context():
        return geo.locate_address
    service = str(current_app.config.get("GEOCODER", "offline"))
    if service == "offline":
        return geo.locate_address
    from clearinghouse.extensions import db

    cache = current_app.extensions.setdefault("geocoders", {})
    if service not in cache:
        # The scoped session proxy: each request's writes go to that request's session.
        cache[service] = make_locator(service, db.session)
    locate: Locate = cache[service]
    return locate


# -- the optional online street geocoder --------------------------------------------


class GeocodeCache(Protocol):
    """Where OnlineGeocoder keeps answers (the app backs it with a database table)."""

    def get(self, query: str) -> geo.Place | None: ...

    def put(self, query: str, place: geo.Place) -> None: ...


class MemoryGeocodeCache:
    """A GeocodeCache in a dict, for tests and one-off scripts."""

    def __init__(self) -> None:
        self.places: dict[str, geo.Place] = {}

    def get(self, query: str) -> geo.Place | None:
        return self.places.get(query)

    def put(self, query: str, place: geo.Place) -> None:
        self.places[query] = place


class OnlineGeocoder:
    """Street addresses through a geopy geocoder, at most one request a second, cached.

    ``service`` is a geopy service name ("nominatim", "arcgis", ...); ``service_options``
    (api_key, domain...) go to its constructor. Pass ``geocoder`` to inject any object with a
    geopy-style ``geocode(query, exactly_one=True)`` (tests use a fake). Failures are logged
    as ``event=geocode_failed`` (without the address) and answered with None; misses are not
    cached. geopy's RateLimiter logs each retried query itself, on the ``geopy`` logger.
    """

    def __init__(
        self,
        service: str = "nominatim",
        *,
        cache: GeocodeCache | None = None,
        geocoder: Any | None = None,
        user_agent: str = "clearinghouse",
        timeout: float = 10.0,
        min_delay_seconds: float = 1.0,
        max_retries: int = 2,
        error_wait_seconds: float = 5.0,
        **service_options: Any,
    ) -> None:
        if geocoder is None:
            geocoder_class = get_geocoder_for_service(service)
            geocoder = geocoder_class(user_agent=user_agent, timeout=timeout, **service_options)
        self.service = service
        self.cache: GeocodeCache = cache if cache is not None else MemoryGeocodeCache()
        self.rate_limiter = RateLimiter(
            geocoder.geocode,
            min_delay_seconds=min_delay_seconds,
            max_retries=max_retries,
            error_wait_seconds=error_wait_seconds,
            swallow_exceptions=False,
        )

    def geocode(self, query: str) -> geo.Place | None:
        """The place for an address, from the cache or the service; None if unknown or down."""
        key = " ".join(query.split()).casefold()
        if not key or len(key) > 2 * geo.MAX_PLACE_CHARS:
            return None
        if (cached := self.cache.get(key)) is not None:
            return cached
        try:
            location = self.rate_limiter(query, exactly_one=True)
        except (GeopyError, OSError) as error:
            # The query may be someone's home address: log its size, not its text.
            log.warning(
                "event=geocode_failed service=%s error=%s query_chars=%d",
                self.service, type(error).__name__, len(key),
            )  # fmt: skip
            return None
        place = self._place_from(location)
        if place is None:
            log.info("event=geocode_not_found service=%s query_chars=%d", self.service, len(key))
            return None
        self.cache.put(key, place)
        return place

    @staticmethod
    def _place_from(location: Any) -> geo.Place | None:
        if location is None:
            return None
        lat, lon = float(location.latitude), float(location.longitude)
        if not geo.valid_coordinates(lat, lon):
            return None
        near = geo.point_place(lat, lon)
        return dataclasses.replace(near, label=str(location.address or near.label), kind="address")
