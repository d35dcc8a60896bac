"""Street addresses through an online geocoder, cached in the database, offline fallback."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask import Flask
from sqlalchemy import select

from clearinghouse.extensions import db
from clearinghouse.geocoding import make_locator
from clearinghouse.models import GeocodeCacheEntry


class FakeService:
    """A geopy-style geocoder that knows one address and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def geocode(self, query: str, exactly_one: bool = True) -> Any:
        self.calls += 1
        if query.startswith("2430 N Cannon Dr"):
            return SimpleNamespace(latitude=41.9262, longitude=-87.6371, address="2430 N Cannon Dr")
        return None


def test_online_answers_are_exact_and_cached_in_the_database(app: Flask) -> None:
    service = FakeService()
    locate = make_locator("nominatim", db.session, geocoder=service, min_delay_seconds=0)
    address = {"address": "2430 N Cannon Dr", "city": "Chicago", "region": "IL"}
    first = locate(**address, postal_code="60614")
    db.session.commit()
    second = locate(**address, postal_code="60614")
    assert first is not None and second is not None
    assert not first.approximate
    assert (first.lat, first.lon) == (41.9262, -87.6371) == (second.lat, second.lon)
    assert service.calls == 1
    assert db.session.scalar(select(GeocodeCacheEntry.provider)) == "nominatim"


def test_unknown_addresses_fall_back_to_the_zip_centroid(app: Flask) -> None:
    locate = make_locator("nominatim", db.session, geocoder=FakeService(), min_delay_seconds=0)
    place = locate(address="1 Nowhere Ln", city="Chicago", region="IL", postal_code="60614")
    assert place is not None and place.approximate
    assert abs(place.lat - 41.92) < 0.05
