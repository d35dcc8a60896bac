"""The one search parser: every parameter, its defaults, and a clear error for bad input."""

from __future__ import annotations

import math

import pytest
from werkzeug.datastructures import MultiDict

from clearinghouse.search.base import SearchQuery
from clearinghouse.search.query import (
    MAX_Q_CHARS,
    QueryError,
    args_exactly_as_typed,
    args_for_page,
    args_without,
    parse_search_args,
    query_to_args,
    search_words,
)
from clearinghouse.taxonomy import Taxonomy


def parse(taxonomy: Taxonomy, *pairs: tuple[str, str]) -> SearchQuery:
    return parse_search_args(MultiDict(list(pairs)), taxonomy)


def error_for(taxonomy: Taxonomy, *pairs: tuple[str, str]) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse(taxonomy, *pairs)
    return caught.value


def test_empty_arguments_give_the_defaults(taxonomy: Taxonomy) -> None:
    query = parse(taxonomy)
    assert query.q == ""
    assert (query.near, query.near_text) == (None, "")
    assert query.exact is False
    assert (query.radius, query.unit, query.sort) == (25.0, "mi", "relevance")
    assert (query.page, query.per_page) == (1, 20)
    assert query.filters == {}
    assert query.concern_filter == frozenset()


def test_plain_mapping_and_lists_are_accepted(taxonomy: Taxonomy) -> None:
    query = parse_search_args({"q": "grief", "day": ["mon", "tue"], "cost": "free"}, taxonomy)
    assert query.q == "grief"
    assert query.selected("day") == ("mon", "tue")
    assert query.selected("cost") == ("free",)


def test_q_is_trimmed_collapsed_and_capped(taxonomy: Taxonomy) -> None:
    assert parse(taxonomy, ("q", "  grief \t\n group  ")).q == "grief group"
    assert len(parse(taxonomy, ("q", "x" * 5000)).q) == MAX_Q_CHARS
    assert parse(taxonomy, ("q", "a\x00b")).q == "a b"


@pytest.mark.parametrize(
    "text",
    [
        '"',
        "(",
        "*",
        "\\",
        "AND",
        "OR NOT",
        "😀",
        "'; DROP TABLE groups; --",
        "name:x~2 ^3 [a TO b]",
    ],
)
def test_q_is_never_an_error(taxonomy: Taxonomy, text: str) -> None:
    assert parse(taxonomy, ("q", text)).q == text.strip()


def test_filler_words_are_dropped_only_when_other_words_remain() -> None:
    assert search_words("grief support group near me") == ["grief"]
    assert search_words("Support groups") == ["support", "groups"]
    assert search_words("peer support") == ["peer"]


def test_search_words_drop_punctuation_stop_words_and_accents() -> None:
    assert search_words('AA "meetings" in Chicago (AND) *') == ["aa", "chicago"]
    assert search_words("grief_loss") == ["grief", "loss"]  # \w holds "_": split on it too
    assert search_words("Duelo en español") == ["duelo", "en", "espanol"]
    assert search_words("😀 \\ * ( ) the and") == []
    assert len(search_words("word " * 1000)) == 32


def test_keep_all_keeps_stop_and_filler_words_up_to_twice_the_cap() -> None:
    assert search_words("The support group", keep_all=True) == ["the", "support", "group"]
    assert len(search_words("word " * 1000, keep_all=True)) == 64


def test_near_is_geocoded_and_defaults_to_distance_sort(taxonomy: Taxonomy) -> None:
    query = parse(taxonomy, ("near", "60614"))
    assert query.near is not None
    assert query.near.region == "IL"
    assert query.near_text == "60614"
    assert query.sort == "distance"
    assert query.radius == 25.0


def test_unknown_place_names_near(taxonomy: Taxonomy) -> None:
    error = error_for(taxonomy, ("near", "Xyzzyville, ZZ"))
    assert error.param == "near"
    assert "ZIP" in error.message


def test_ambiguous_place_lists_the_choices(taxonomy: Taxonomy) -> None:
    error = error_for(taxonomy, ("near", "Springfield"))
    assert error.param == "near"
    assert "IL" in error.message and "MA" in error.message


def test_empty_near_means_no_place(taxonomy: Taxonomy) -> None:
    assert parse(taxonomy, ("near", "  ")).near is None


@pytest.mark.parametrize(
    ("lat", "lon"), [("90", "10"), ("-90", "10"), ("10", "180"), ("10", "-180")]
)
def test_coordinates_on_the_edge_of_the_range_are_a_place(
    taxonomy: Taxonomy, lat: str, lon: str
) -> None:
    query = parse(taxonomy, ("lat", lat), ("lon", lon))
    assert query.near is not None
    assert (query.near.lat, query.near.lon) == (float(lat), float(lon))


@pytest.mark.parametrize(
    ("lat", "lon", "param", "message"),
    [
        ("90.5", "10", "lat", "'90.5' is out of range; use -90 to 90"),
        ("-90.5", "10", "lat", "'-90.5' is out of range; use -90 to 90"),
        ("10", "180.5", "lon", "'180.5' is out of range; use -180 to 180"),
        ("10", "-180.5", "lon", "'-180.5' is out of range; use -180 to 180"),
        ("0", "0", "lat", "0.0, 0.0 are not valid coordinates (latitude, longitude)."),
    ],
)
def test_coordinates_beyond_the_range_are_refused_saying_the_range(
    taxonomy: Taxonomy, lat: str, lon: str, param: str, message: str
) -> None:
    error = error_for(taxonomy, ("lat", lat), ("lon", lon))
    assert (error.param, error.message) == (param, message)


def test_half_a_coordinate_pair_asks_for_both(taxonomy: Taxonomy) -> None:
    both = "give both lat and lon (decimal degrees), or neither"
    error = error_for(taxonomy, ("lat", "41.9"))
    assert (error.param, error.message) == ("lon", both)
    error = error_for(taxonomy, ("lon", "-87.65"))
    assert (error.param, error.message) == ("lat", both)


def test_sort_by_distance_without_a_place_says_how_to_give_one(taxonomy: Taxonomy) -> None:
    error = error_for(taxonomy, ("sort", "distance"))
    assert error.message == "sort=distance needs a place: give near, or lat and lon"


def test_lat_lon_make_a_point(taxonomy: Taxonomy) -> None:
    query = parse(taxonomy, ("lat", "41.9"), ("lon", "-87.65"))
    assert query.near is not None
    assert (query.near.lat, query.near.lon) == (41.9, -87.65)
    assert query.near.region == "IL"


@pytest.mark.parametrize(
    ("pairs", "param"),
    [
        ((("lat", "91"), ("lon", "0")), "lat"),
        ((("lat", "-90.5"), ("lon", "10")), "lat"),
        ((("lat", "40"), ("lon", "abc")), "lon"),
        ((("lat", "40"), ("lon", "181")), "lon"),
        ((("lat", "nan"), ("lon", "10")), "lat"),
        ((("lat", "40"),), "lon"),
        ((("lon", "40"),), "lat"),
        ((("radius", "-1"),), "radius"),
        ((("radius", "0"),), "radius"),
        ((("radius", "1e9"),), "radius"),
        ((("radius", "inf"),), "radius"),
        ((("radius", "ten"),), "radius"),
        ((("radius", "501"),), "radius"),
        ((("radius", "805"), ("unit", "km")), "radius"),
        ((("unit", "furlongs"),), "unit"),
        ((("page", "0"),), "page"),
        ((("page", "-3"),), "page"),
        ((("page", "two"),), "page"),
        ((("page", "100000"),), "page"),
        ((("per_page", "10000"),), "per_page"),
        ((("per_page", "0"),), "per_page"),
        ((("sort", "random"),), "sort"),
        ((("sort", "distance"),), "sort"),
        ((("concern", "not-a-concern"),), "concern"),
        ((("format", "lecture"),), "format"),
        ((("attendance", "telepathy"),), "attendance"),
        ((("day", "funday"),), "day"),
        ((("time", "noonish"),), "time"),
        ((("language", "klingon"),), "language"),
        ((("cost", "cheap"),), "cost"),
        ((("audience", "aliens"),), "audience"),
        ((("accessibility", "jetpack"),), "accessibility"),
        ((("radius", "10"), ("radius", "20")), "radius"),
        ((("page", "1"), ("page", "2")), "page"),
    ],
)
def test_bad_input_names_the_parameter(
    taxonomy: Taxonomy, pairs: tuple[tuple[str, str], ...], param: str
) -> None:
    error = error_for(taxonomy, *pairs)
    assert error.param == param
    assert error.message
    assert str(error).startswith(f"{param}: ")


def test_out_of_range_numbers_say_the_range_allowed(taxonomy: Taxonomy) -> None:
    deepest = "(results stop at 10,000; narrow the search to see more)"
    error = error_for(taxonomy, ("page", "100000"))
    assert error.message == f"100000 is out of range; use 1 to 500 {deepest}"
    error = error_for(taxonomy, ("per_page", "30"), ("page", "334"))
    assert error.message == f"334 is out of range; use 1 to 333 {deepest}"  # 10,000 // 30
    error = error_for(taxonomy, ("per_page", "101"))
    assert error.message == "101 is out of range; use 1 to 100"


def test_the_ends_of_each_range_are_accepted(taxonomy: Taxonomy) -> None:
    query = parse(taxonomy, ("per_page", "1"), ("page", "10000"))
    assert (query.per_page, query.page) == (1, 10000)
    query = parse(taxonomy, ("per_page", "100"), ("page", "100"))
    assert (query.per_page, query.page) == (100, 100)
    assert parse(taxonomy, ("radius", "0.5")).radius == 0.5


def test_conflicting_repeats_are_refused_showing_the_first_three(taxonomy: Taxonomy) -> None:
    pairs = [("radius", value) for value in ("1", "2", "3", "4")]
    error = error_for(taxonomy, *pairs)
    assert error.message == "give one value, not several ('1', '2', '3')"


def test_a_refused_value_is_quoted_without_control_characters_and_cut_at_40(
    taxonomy: Taxonomy,
) -> None:
    error = error_for(taxonomy, ("unit", "furlongs"))
    assert error.message == "'furlongs' is not allowed; use one of: mi, km"
    assert error_for(taxonomy, ("day", "fun\x00day")).message.startswith("'funday' is not")
    forty, forty_one = "x" * 40, "y" * 41
    assert error_for(taxonomy, ("day", forty)).message.startswith(f"'{forty}' is not")
    assert error_for(taxonomy, ("day", forty_one)).message.startswith(f"'{'y' * 39}…' is not")


def test_exact_asks_for_the_words_as_typed_and_is_0_or_1(taxonomy: Taxonomy) -> None:
    assert parse(taxonomy, ("exact", "1")).exact is True
    assert parse(taxonomy, ("exact", "0")).exact is False
    error = error_for(taxonomy, ("exact", "2"))
    assert (error.param, error.message) == ("exact", "'2' is not allowed; use one of: 0, 1")


def test_unknown_facet_value_is_named_in_the_message(taxonomy: Taxonomy) -> None:
    error = error_for(taxonomy, ("day", "mon"), ("day", "funday"))
    assert "funday" in error.message and "mon" in error.message  # the allowed values


def test_radius_limits_follow_the_unit(taxonomy: Taxonomy) -> None:
    assert parse(taxonomy, ("radius", "500")).radius == 500
    query = parse(taxonomy, ("radius", "804"), ("unit", "km"))
    assert query.unit == "km"
    assert math.isclose(query.radius_mi, 804 / 1.609344)


def test_repeated_identical_scalars_are_fine(taxonomy: Taxonomy) -> None:
    assert parse(taxonomy, ("radius", "10"), ("radius", "10")).radius == 10


def test_facets_dedupe_split_commas_and_normalise_case(taxonomy: Taxonomy) -> None:
    query = parse(
        taxonomy,
        ("day", "mon,TUE"),
        ("day", "mon"),
        ("day", " wed "),
        ("language", "Spanish"),
        ("language", "es"),
        ("attendance", "In-Person"),
    )
    assert query.selected("day") == ("mon", "tue", "wed")
    assert query.selected("language") == ("es",)
    assert query.selected("attendance") == ("in-person",)


@pytest.mark.parametrize("given", ["In Person", "IN_PERSON", "in-person"])
def test_facet_values_take_spaces_or_underscores_for_hyphens(
    taxonomy: Taxonomy, given: str
) -> None:
    assert parse(taxonomy, ("attendance", given)).selected("attendance") == ("in-person",)


def test_parent_concern_expands_to_its_children(taxonomy: Taxonomy) -> None:
    query = parse(taxonomy, ("concern", "grief-loss"), ("concern", "alcohol"))
    assert query.selected("concern") == ("grief-loss", "alcohol")
    children = {term.slug for term in taxonomy.children("grief-loss")}
    assert query.concern_filter == {"grief-loss", "alcohol", *children}


def test_concern_label_or_synonym_is_accepted(taxonomy: Taxonomy) -> None:
    assert parse(taxonomy, ("concern", "Alcohol")).selected("concern") == ("alcohol",)
    assert parse(taxonomy, ("concern", "GRIEF-LOSS")).selected("concern") == ("grief-loss",)
    assert parse(taxonomy, ("concern", "Grief & Loss")).selected("concern") == ("grief-loss",)


def test_explicit_sort_with_a_place(taxonomy: Taxonomy) -> None:
    assert parse(taxonomy, ("near", "60614"), ("sort", "name")).sort == "name"
    assert parse(taxonomy, ("sort", "updated")).sort == "updated"


@pytest.mark.parametrize(
    "pairs",
    [
        (),
        (("q", "grief & loss"),),
        (("q", "grief"), ("lat", "41.9251"), ("lon", "-87.6572")),
        (("radius", "10"),),
        (("q", "grief"), ("exact", "1")),
        (("near", "Chicago, IL"), ("radius", "12.5"), ("concern", "grief-loss")),
        (("lat", "41.9251"), ("lon", "-87.6572"), ("unit", "km"), ("radius", "40")),
        (("day", "mon"), ("day", "fri"), ("time", "evening"), ("sort", "name"), ("page", "3")),
        (("language", "es"), ("per_page", "50"), ("accessibility", "wheelchair")),
    ],
)
def test_query_to_args_round_trips(taxonomy: Taxonomy, pairs: tuple[tuple[str, str], ...]) -> None:
    query = parse(taxonomy, *pairs)
    assert parse(taxonomy, *query_to_args(query)) == query


def test_query_to_args_leaves_defaults_out(taxonomy: Taxonomy) -> None:
    assert query_to_args(parse(taxonomy, ("q", "grief"), ("page", "1"))) == [("q", "grief")]
    # A place search: sorted by distance and read on the place's clock by default; the
    # radius is always given, a whole number without ".0".
    near = parse(taxonomy, ("near", "60614"), ("sort", "distance"), ("tz", "America/Chicago"))
    assert query_to_args(near) == [("near", "60614"), ("radius", "25")]


def test_link_helpers(taxonomy: Taxonomy) -> None:
    query = parse(
        taxonomy, ("near", "60614"), ("day", "mon"), ("day", "tue"), ("cost", "free"), ("page", "2")
    )
    assert ("page", "3") in args_for_page(query, 3)
    as_typed = args_exactly_as_typed(query)
    assert ("exact", "1") in as_typed and not any(key == "page" for key, _ in as_typed)
    assert parse(taxonomy, *as_typed).selected("day") == ("mon", "tue")
    removed = args_without(query, "day", "mon")
    assert ("day", "mon") not in removed and ("day", "tue") in removed
    assert not any(key == "page" for key, _ in removed)
    without_cost = args_without(query, "cost")
    assert not any(key == "cost" for key, _ in without_cost)
    assert ("day", "mon") in without_cost and ("day", "tue") in without_cost
