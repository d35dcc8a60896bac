"""Which geocoder places a listing's address: offline centroids, or a geopy service.

With `CLEARINGHOUSE_GEOCODER` set to a geopy service name, street addresses go to that
service (one request a second, answers cached in the `geocode_cache` table) and fall back to
the offline ZIP/city centroid when it has no answer.  Offline is the default.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from flask import current_app, has_app_context

from clearinghouse import geo
from clearinghouse.models import DbSession, GeocodeCacheEntry

log = logging.getLogger(__name__)
Locate = Callable[..., geo.Place | None]


class DatabaseGeocodeCache:
    """geo.GeocodeCache on the geocode_cache table; entries are written with the listing."""

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
    online = geo.OnlineGeocoder(service, cache=DatabaseGeocodeCache(session, service), **options)

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
