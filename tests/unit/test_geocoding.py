"""Placing listings: the online street geocoder, its caches, and the offline fallback."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from geopy.exc import GeocoderUnavailable
from geopy.location import Location
from sqlalchemy import select

from clearinghouse.extensions import db
from clearinghouse.geocoding import MemoryGeocodeCache, OnlineGeocoder, make_locator
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


# -- online geocoding (a fake service; nothing leaves the machine) ---------------------


class FakeGeocoder:
    """Answers like a geopy geocoder, and counts how often it was asked."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[str] = []
        self.fail = fail

    def geocode(self, query: str, exactly_one: bool = True, **options: Any) -> Location | None:
        self.calls.append(query)
        if self.fail:
            raise GeocoderUnavailable("service down")
        if "nowhere" in query:
            return None
        return Location("2430 N Cannon Dr, Chicago, IL 60614", (41.9250, -87.6360), {})


def test_online_geocoder_answers_the_second_call_from_its_cache() -> None:
    fake, cache = FakeGeocoder(), MemoryGeocodeCache()
    geocoder = OnlineGeocoder("fake", geocoder=fake, cache=cache, min_delay_seconds=0)
    first = geocoder.geocode("2430 N Cannon Dr, Chicago")
    second = geocoder.geocode("2430 n cannon dr,  chicago")
    assert first is not None and first == second
    assert fake.calls == ["2430 N Cannon Dr, Chicago"]
    assert (first.kind, first.approximate, first.region, first.timezone) == (
        "address",
        False,
        "IL",
        "America/Chicago",
    )
    assert len(cache.places) == 1


def test_online_geocoder_answers_none_for_an_unknown_address() -> None:
    geocoder = OnlineGeocoder("fake", geocoder=FakeGeocoder(), min_delay_seconds=0)
    assert geocoder.geocode("nowhere at all") is None
    assert geocoder.geocode("   ") is None


def test_online_geocoder_swallows_service_errors(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeGeocoder(fail=True)
    geocoder = OnlineGeocoder(
        "fake", geocoder=fake, min_delay_seconds=0, max_retries=1, error_wait_seconds=0
    )
    with caplog.at_level(logging.WARNING, logger="clearinghouse.geocoding"):
        assert geocoder.geocode("1 Main St, Springfield, IL") is None
    assert len(fake.calls) == 2  # one retry
    ours = [r.getMessage() for r in caplog.records if r.name == "clearinghouse.geocoding"]
    assert len(ours) == 1 and ours[0].startswith("event=geocode_failed service=fake")
    assert "Main St" not in ours[0]  # our log line leaves the address out


def test_online_geocoder_builds_a_rate_limited_geopy_service_without_calling_it() -> None:
    geocoder = OnlineGeocoder("nominatim", user_agent="clearinghouse-tests")
    assert geocoder.rate_limiter.min_delay_seconds == 1.0
    assert isinstance(geocoder.cache, MemoryGeocodeCache)
