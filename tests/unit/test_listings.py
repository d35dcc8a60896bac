"""The one validation every listing goes through."""

from __future__ import annotations

from typing import Any

import pytest

from clearinghouse.geo import region_code
from clearinghouse.listings import email_problem, validate_listing
from clearinghouse.taxonomy import Taxonomy
from clearinghouse.vocab import TIMEZONES
from tests.conftest import sample_record


def errors_of(taxonomy: Taxonomy, **overrides: Any) -> dict[str, str]:
    validation = validate_listing(sample_record(**overrides), taxonomy)
    return {error.field: error.message for error in validation.errors}


def test_a_good_record_validates_and_is_normalised(taxonomy: Taxonomy) -> None:
    validation = validate_listing(
        sample_record(concerns=["Bereavement", "AA"], format="Peer Led", languages="English; es"),
        taxonomy,
    )
    assert validation.ok, validation.errors
    data = validation.data
    assert data is not None
    assert data.concerns == ("grief-loss", "alcohol")
    assert data.format == "peer-led"
    assert data.languages == ("en", "es")
    assert data.meetings[0].byday == ("TU",)
    assert data.attendance == "in-person"


def test_missing_name_is_named(taxonomy: Taxonomy) -> None:
    assert errors_of(taxonomy, name="  ") == {"name": "is required"}


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"meetings": [{"byday": ["TU"], "start": "25:70"}]}, "meetings[0]", "not a time"),
        ({"meetings": [{"byday": ["XX"], "start": "19:00"}]}, "meetings[0]", "not a meeting day"),
        ({"location": {"lat": 123, "lon": 10}}, "location.lat", "out of range"),
        ({"location": {"city": "Chicago", "postal_code": "6061A"}}, "location.postal_code", "ZIP"),
        ({"format": "guru-led"}, "format", "peer-led"),
        ({"cost": "priceless"}, "cost", "free"),
        ({"languages": ["klingon"]}, "languages", "ISO 639-1"),
        ({"contact": {"email": "not-an-email"}}, "contact.email", "email"),
        ({"contact": {"website": "javascript:alert(1)"}}, "contact.website", "web address"),
        ({"status": "deleted"}, "status", "pending"),
        ({"concerns": []}, "concerns", "at least one"),
        ({"description": "x" * 10_000_000}, "description", "at most 5,000"),
        ({"meetings": "Tuesdays"}, "meetings", "list"),
    ],
)
def test_bad_values_are_rejected_with_the_field_and_reason(
    taxonomy: Taxonomy, overrides: dict[str, Any], field: str, fragment: str
) -> None:
    errors = errors_of(taxonomy, **overrides)
    assert field in errors, errors
    assert fragment in errors[field]


def test_html_is_removed_and_reported(taxonomy: Taxonomy) -> None:
    validation = validate_listing(
        sample_record(description="<b>Welcome</b><script>alert('x')</script> &amp; hello"),
        taxonomy,
    )
    assert validation.data is not None
    assert validation.data.description == "Welcome & hello"
    assert [w.field for w in validation.warnings] == ["description"]


def test_unknown_concerns_are_kept_for_staff_not_dropped(taxonomy: Taxonomy) -> None:
    validation = validate_listing(sample_record(concerns=["grief", "Quantum Anxiety"]), taxonomy)
    assert validation.data is not None
    assert validation.data.concerns == ("grief-loss",)
    assert validation.data.unknown_concerns == ("Quantum Anxiety",)


def test_default_concern_applies_to_records_without_one(taxonomy: Taxonomy) -> None:
    record = sample_record(concerns=None)
    assert validate_listing(record, taxonomy, default_concerns=["alcohol"]).data is not None


@pytest.mark.parametrize(
    ("location", "online", "expected"),
    [
        (True, {"url": "https://meet.example.org/x"}, "hybrid"),
        (False, {"url": "https://meet.example.org/x"}, "online"),
        (False, {"phone": "+1 312 555 0100"}, "phone"),
        (True, None, "in-person"),
    ],
)
def test_attendance_is_inferred_from_where_a_group_meets(
    taxonomy: Taxonomy, location: bool, online: dict[str, str] | None, expected: str
) -> None:
    overrides: dict[str, Any] = {"online": online}
    if not location:
        overrides["location"] = None
    validation = validate_listing(sample_record(**overrides), taxonomy)
    assert validation.data is not None, validation.errors
    assert validation.data.attendance == expected


def test_every_error_is_reported_at_once(taxonomy: Taxonomy) -> None:
    errors = errors_of(
        taxonomy, name="", format="x", meetings=[{"byday": ["TU"], "start": "99:99"}]
    )
    assert set(errors) == {"name", "format", "meetings[0]"}


def test_not_an_object_is_a_clear_error(taxonomy: Taxonomy) -> None:
    validation = validate_listing(["a", "list"], taxonomy)  # type: ignore[arg-type]
    assert [str(e) for e in validation.errors] == ["record: is not an object with fields"]


def test_default_concern_does_not_override_named_concerns(taxonomy: Taxonomy) -> None:
    validation = validate_listing(
        sample_record(concerns=["grief"]), taxonomy, default_concerns=["alcohol"]
    )
    assert validation.data is not None
    assert validation.data.concerns == ("grief-loss",)


def test_overlong_phone_numbers_say_how_long_they_may_be(taxonomy: Taxonomy) -> None:
    errors = errors_of(taxonomy, contact={"phone": "1" * 45})
    assert "at most 40" in errors["contact.phone"]


@pytest.mark.parametrize(
    ("typed", "code"),
    [("IL", "IL"), ("il", "IL"), ("Illinois", "IL"), ("Calif.", "CA"), ("Québec", "QC")],
)
def test_regions_and_service_areas_read_codes_names_and_short_forms_as_geo_does(
    taxonomy: Taxonomy, typed: str, code: str
) -> None:
    validation = validate_listing(
        sample_record(location={"city": "Springfield", "region": typed}, service_area=[typed]),
        taxonomy,
    )
    assert validation.data is not None, validation.errors
    assert validation.data.location is not None
    assert validation.data.location.region == code == region_code(typed)
    assert validation.data.service_area == (code,)


def test_an_unknown_region_is_named_with_what_is_allowed(taxonomy: Taxonomy) -> None:
    errors = errors_of(taxonomy, location={"city": "Springfield", "region": "Narnia"})
    assert errors == {"location.region": "'Narnia' is not a US state or Canadian province"}


def test_forms_and_imports_reject_an_email_with_the_same_words(taxonomy: Taxonomy) -> None:
    message = email_problem("not-an-email")
    assert message == "'not-an-email' is not an email address (for example name@example.org)"
    assert errors_of(taxonomy, contact={"email": "not-an-email"})["contact.email"] == message
    assert email_problem("name@example.org") is None and email_problem("") is None


def test_every_offered_time_zone_is_a_valid_iana_zone(taxonomy: Taxonomy) -> None:
    assert "America/Regina" in TIMEZONES  # Saskatchewan keeps standard time all year
    for zone in TIMEZONES:
        validation = validate_listing(
            sample_record(meetings=[{"byday": ["TU"], "start": "19:00", "timezone": zone}]),
            taxonomy,
        )
        assert validation.ok, (zone, validation.errors)


# -- feeds as their authors meant them (issue 12, point 3) ------------------------------

ONE_TAP = "+15873281099,,8076462994#,,#,,1234#"


def outcome(taxonomy: Taxonomy, **overrides: Any) -> tuple[Any, dict[str, str], dict[str, str]]:
    """Validation of a partner's record (`from_feed`): unusable fields may be left out."""
    validation = validate_listing(sample_record(**overrides), taxonomy, from_feed=True)
    errors = {error.field: error.message for error in validation.errors}
    return validation.data, errors, {w.field: w.message for w in validation.warnings}


def test_a_one_tap_dial_string_is_kept_whole(taxonomy: Taxonomy) -> None:
    long_one = ONE_TAP.replace("1234#", "1234#,,5678#,,9012#,,3456#,,7890#")
    for phone in (ONE_TAP, long_one, "+15873281099,,8076462994#,,#,,Ab12cD#"):
        data, errors, _ = outcome(taxonomy, location=None, online={"phone": phone})
        assert errors == {} and data.online_phone == phone


def test_an_unusable_join_phone_is_left_out_when_there_is_a_link(taxonomy: Taxonomy) -> None:
    data, errors, warnings = outcome(
        taxonomy, location=None, online={"url": "https://zoom.us/j/1", "phone": "+1"}
    )
    assert errors == {} and data.online_phone is None
    assert warnings["online.phone"] == "'+1' is not a phone number; left out"
    _, errors, _ = outcome(taxonomy, location=None, online={"phone": "+1"})
    assert errors["online.phone"] == "'+1' is not a phone number"


def test_a_postal_code_0_is_left_out_when_the_place_is_known(taxonomy: Taxonomy) -> None:
    place = {"city": "Amarillo", "region": ".TX", "postal_code": 0, "lat": 35.2, "lon": -101.8}
    data, errors, warnings = outcome(taxonomy, location=place)
    assert errors == {}
    assert (data.location.postal_code, data.location.region) == ("", "TX")
    assert "'0' is not a US ZIP" in warnings["location.postal_code"]


def test_a_person_at_a_form_is_asked_to_fix_the_field_instead(taxonomy: Taxonomy) -> None:
    place = {"city": "Amarillo", "region": "TX", "postal_code": "0", "lat": 35.2, "lon": -101.8}
    assert "'0' is not a US ZIP" in errors_of(taxonomy, location=place)["location.postal_code"]
    phone = {"url": "https://zoom.us/j/1", "phone": "+1"}
    assert errors_of(taxonomy, online=phone)["online.phone"] == "'+1' is not a phone number"


def test_0_0_coordinates_are_no_coordinates(taxonomy: Taxonomy) -> None:
    data, errors, warnings = outcome(taxonomy, location={"city": "Amarillo", "lat": 0, "lon": 0})
    assert errors == {} and data.location.lat is None
    assert warnings["location"].startswith("0, 0 is not a place")


def test_any_country_is_served_when_coordinates_place_it(taxonomy: Taxonomy) -> None:
    london = {"city": "London", "country": "UK", "lat": 51.5072, "lon": -0.1276}
    data, errors, _ = outcome(taxonomy, location=london)
    assert errors == {} and data.location.country == "GB"
    _, errors, _ = outcome(taxonomy, location={"city": "London", "country": "UK"})
    assert "outside the US and Canada: give its lat and lon" in errors["location.country"]


def test_an_online_meeting_never_needs_a_place(taxonomy: Taxonomy) -> None:
    host = {"city": "London", "region": "UK", "country": "United Kingdom"}
    data, errors, warnings = outcome(
        taxonomy, attendance="online", location=host, online={"url": "https://zoom.us/j/1"}
    )
    assert errors == {} and data.attendance == "online" and data.location is None
    assert "outside the US and Canada" in warnings["location.country"]
