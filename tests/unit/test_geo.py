"""Offline geocoding, time zones and distances (clearinghouse.geo)."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from geopy.distance import geodesic

from clearinghouse import geo
from clearinghouse.geo import (
    CA_PROVINCES,
    US_STATES,
    AmbiguousPlace,
    Place,
    PlaceError,
    UnknownPlace,
    distance_mi,
    locate_address,
    region_name,
    resolve_place,
    timezone_at,
    valid_coordinates,
)

CHICAGO_60614 = (41.922, -87.652)


def km_between(a: Place, b: tuple[float, float]) -> float:
    return float(geodesic(a.point, b).km)


# -- ZIP codes -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["60614", "60614-1234", " 60614 ", "Chicago, IL 60614"])
def test_zip_resolves_to_its_centroid_in_chicago(text: str) -> None:
    place = resolve_place(text)
    assert place.kind == "zip"
    assert km_between(place, CHICAGO_60614) < 5
    assert "Chicago" in place.label
    assert place.timezone == "America/Chicago"
    assert (place.country, place.region, place.postal_code) == ("US", "IL", "60614")
    assert place.approximate


def test_zip_with_city_and_state_is_labelled_like_an_address() -> None:
    assert resolve_place("Chicago IL 60614").label == "Chicago, IL 60614"


# -- cities and states ---------------------------------------------------------------


def test_springfield_with_a_state_means_that_states_springfield() -> None:
    missouri = resolve_place("Springfield, MO")
    illinois = resolve_place("Springfield, IL")
    assert (missouri.region, illinois.region) == ("MO", "IL")
    assert missouri.kind == illinois.kind == "city"
    assert distance_mi(missouri.point, illinois.point) > 186  # 300 km


def test_bare_springfield_is_ambiguous_and_lists_the_choices() -> None:
    with pytest.raises(AmbiguousPlace) as caught:
        resolve_place("Springfield")
    choices = caught.value.choices
    assert len(choices) >= 2
    assert {"MO", "IL", "MA"} <= {place.region for place in choices}
    message = str(caught.value)
    assert message.startswith("“Springfield” matches several places: Springfield, ")
    assert "add the state" in message


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("st. louis, mo", "MO"),
        ("Saint Louis, Missouri", "MO"),
        ("ST LOUIS MO", "MO"),
        ("New York, NY", "NY"),
        ("Chicago, IL, USA", "IL"),
        ("chicago   illinois", "IL"),
        ("Chicago", "IL"),
        ("Washington, D.C.", "DC"),
        ("Ft. Wayne, IN", "IN"),
        ("Iowa City IA", "IA"),
    ],
)
def test_city_spellings_people_type_resolve_to_the_city(text: str, region: str) -> None:
    place = resolve_place(text)
    assert place.kind == "city"
    assert place.region == region
    assert place.country == "US"


def test_new_york_city_is_in_manhattan() -> None:
    for text in ("New York, NY", "New York", "NYC"):
        assert km_between(resolve_place(text), (40.7128, -74.0060)) < 10


def test_portland_oregon_and_portland_maine_are_a_continent_apart() -> None:
    oregon = resolve_place("Portland, OR")
    maine = resolve_place("Portland, ME")
    assert oregon.timezone == "America/Los_Angeles"
    assert maine.timezone == "America/New_York"
    assert distance_mi(oregon.point, maine.point) > 2500


def test_bare_name_means_the_city_that_clearly_dominates() -> None:
    assert resolve_place("Portland").region == "OR"  # 650,000 people against Maine's 68,000
    with pytest.raises(AmbiguousPlace):
        resolve_place("Kansas City")  # Missouri's is only about three times Kansas's


@pytest.mark.parametrize(("text", "code"), [("Illinois", "IL"), ("IL", "IL"), ("il", "IL")])
def test_state_name_or_code_alone_is_the_state(text: str, code: str) -> None:
    place = resolve_place(text)
    assert (place.kind, place.region, place.label, place.city) == ("state", code, "Illinois", None)
    assert place.timezone == "America/Chicago"
    # The representative point lies inside Illinois, well away from Chicago's corner.
    assert 37 < place.lat < 42.5 and -91.5 < place.lon < -87.5


def test_small_towns_known_only_from_zip_data_resolve_to_their_zips() -> None:
    holtsville = resolve_place("Holtsville, NY")  # too small for GeoNames, known by its ZIP
    assert holtsville.kind == "city"
    assert km_between(holtsville, (40.8154, -73.0451)) < 10
    assert resolve_place("Holtsville").region == "NY"
    indiana = resolve_place("Indiana PA")  # a town named like a state
    assert (indiana.city, indiana.region) == ("Indiana", "PA")


# -- Canada --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "region", "timezone"),
    [
        ("Toronto, ON", "ON", "America/Toronto"),
        ("Montreal, QC", "QC", "America/Toronto"),
        ("Vancouver, British Columbia", "BC", "America/Vancouver"),
        ("Toronto, Ontario, Canada", "ON", "America/Toronto"),
    ],
)
def test_canadian_cities_resolve(text: str, region: str, timezone: str) -> None:
    place = resolve_place(text)
    assert (place.kind, place.country, place.region, place.timezone) == (
        "city",
        "CA",
        region,
        timezone,
    )


def test_province_alone_is_the_province() -> None:
    place = resolve_place("Ontario")
    assert (place.kind, place.region, place.country, place.label) == (
        "state",
        "ON",
        "CA",
        "Ontario",
    )


@pytest.mark.parametrize("text", ["M5V", "m5v", "M5V 2T6", "M5V2T6", "Toronto ON M5V 2T6"])
def test_toronto_postal_codes_resolve_approximately_in_ontario(text: str) -> None:
    place = resolve_place(text)
    assert (place.kind, place.country, place.region) == ("postal_area", "CA", "ON")
    assert place.approximate
    assert km_between(place, (43.65, -79.38)) < 25


@pytest.mark.parametrize(
    ("fsa", "region", "city"),
    [("H2X", "QC", "Montréal"), ("T2P", "AB", "Calgary"), ("T5J", "AB", "Edmonton"),
     ("V6B", "BC", "Vancouver"), ("K1P", "ON", "Ottawa"), ("X0A", "NU", "Iqaluit")],
)  # fmt: skip
def test_forward_sortation_area_lands_in_its_letters_main_city(
    fsa: str, region: str, city: str
) -> None:
    place = resolve_place(fsa)
    assert (place.region, place.city, place.postal_code) == (region, city, fsa)


# -- what we cannot resolve ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "   ", "zzzz", "99999", "x" * 5000, "😀😀", "'; DROP TABLE groups; --", "Paris, France"],
)
def test_garbage_is_an_unknown_place_saying_what_is_accepted(text: str) -> None:
    with pytest.raises(UnknownPlace) as caught:
        resolve_place(text)
    message = str(caught.value)
    assert isinstance(caught.value, PlaceError) and isinstance(caught.value, ValueError)
    assert len(message) < 300
    assert "ZIP" in message
    if text.strip() and len(text) < 100:
        assert text.strip()[:10] in message


def test_over_long_text_is_named_truncated() -> None:
    with pytest.raises(UnknownPlace, match="too long") as caught:
        resolve_place("x" * 5000)
    assert "xxxx…" in str(caught.value)


def test_unknown_city_in_a_known_state_names_both() -> None:
    with pytest.raises(UnknownPlace, match="“Nowhereville” in Illinois"):
        resolve_place("Nowhereville, IL")


def test_resolving_never_touches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("geo tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    geo.warm_up()
    for text in ("60614", "Springfield, MO", "Toronto, ON", "M5V", "Illinois", "Holtsville"):
        assert valid_coordinates(*resolve_place(text).point)
    assert locate_address(address="1 Main St", city="Chicago", region="IL", postal_code=None)


# -- locate_address ------------------------------------------------------------------


def test_locate_address_prefers_the_zip_centroid() -> None:
    place = locate_address(
        address="2430 N Cannon Dr", city="Chicago", region="IL", postal_code="60614"
    )
    assert place is not None
    assert (place.kind, place.approximate, place.postal_code) == ("address", True, "60614")
    assert place.label == "2430 N Cannon Dr, Chicago, IL 60614"
    assert km_between(place, CHICAGO_60614) < 5


def test_locate_address_falls_back_to_the_city_when_the_zip_is_unknown() -> None:
    place = locate_address(
        address="1 Main St", city="Springfield", region="MO", postal_code="99999"
    )
    assert place is not None
    assert (place.kind, place.city, place.region) == ("address", "Springfield", "MO")


def test_locate_address_places_canadian_postal_codes() -> None:
    place = locate_address(
        address="1 Front St W", city=None, region="ON", postal_code="M5V 2T6", country="CA"
    )
    assert place is not None and place.region == "ON"


def test_locate_address_gives_up_without_a_known_zip_or_city() -> None:
    assert locate_address(address="1 Main St", city=None, region="IL", postal_code=None) is None
    assert locate_address(address=None, city="Nowhereville", region="IL", postal_code="") is None
    assert locate_address(address=None, city="Springfield", region=None, postal_code=None) is None


# -- time zones, distances, coordinates ----------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lon", "timezone"),
    [
        (41.88, -87.63, "America/Chicago"),
        (40.71, -74.01, "America/New_York"),
        (33.45, -112.07, "America/Phoenix"),
        (21.31, -157.86, "Pacific/Honolulu"),
        (43.65, -79.38, "America/Toronto"),
        (49.28, -123.12, "America/Vancouver"),
    ],
)
def test_timezone_at_known_points(lat: float, lon: float, timezone: str) -> None:
    assert timezone_at(lat, lon) == timezone


def test_timezone_at_invalid_coordinates_is_none() -> None:
    assert timezone_at(91, 0) is None
    assert timezone_at(float("nan"), 0) is None


def test_distances_match_geopy_geodesic() -> None:
    chicago, st_louis = (41.85, -87.65), (38.63, -90.20)
    assert distance_mi(chicago, st_louis) == pytest.approx(geodesic(chicago, st_louis).miles)
    assert distance_mi(chicago, st_louis) == pytest.approx(259, abs=3)
    assert distance_mi(chicago, chicago) == 0


@pytest.mark.parametrize(
    ("lat", "lon", "valid"),
    [(41.9, -87.6, True), (-90, 180, True), (90.1, 0, False), (0, -180.5, False),
     (0, 0, False), (float("nan"), 1, False), (float("inf"), 1, False), (True, 1, False),
     ("41.9", -87.6, False)],
)  # fmt: skip
def test_valid_coordinates(lat: Any, lon: Any, valid: bool) -> None:
    assert valid_coordinates(lat, lon) is valid


def test_coordinates_typed_as_text_are_a_point() -> None:
    place = resolve_place("41.92, -87.65")
    assert (place.kind, place.approximate, place.country, place.region) == (
        "point",
        False,
        "US",
        "IL",
    )


def test_region_names_and_mappings() -> None:
    assert region_name("IL") == "Illinois"
    assert region_name("on") == "Ontario"
    assert region_name("ZZ") is None
    assert len(US_STATES) >= 51 and len(CA_PROVINCES) == 13
    assert not set(US_STATES) & set(CA_PROVINCES)
