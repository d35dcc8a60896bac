"""search/when.py: the weekly slots indexed, the per-zone windows searched, and the parser's
`starts_within`, `tz` and injectable `now`."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from werkzeug.datastructures import MultiDict

from clearinghouse.schedule import Rule
from clearinghouse.search.query import QueryError, parse_search_args, query_to_args
from clearinghouse.search.when import (
    DAY,
    FLOATING,
    WEEK,
    all_zones,
    meeting_slots,
    soonest_key,
    utc_slots,
    when_plan,
    window_for,
)
from clearinghouse.taxonomy import default_taxonomy

CHI = "America/Chicago"
NOW = datetime(2026, 12, 1, 18, 45, tzinfo=ZoneInfo(CHI))  # a Tuesday


def weekly(day: str, start: time | None, end: time | None = None, tz: str | None = CHI) -> Rule:
    return Rule("weekly", (day,), start, end, tz)


def test_slots_are_local_minutes_of_the_week_from_monday() -> None:
    zone, slots = meeting_slots([weekly("TU", time(19), time(20, 30))])
    assert zone == CHI
    assert slots == ((DAY + 19 * 60, DAY + 20 * 60 + 30),)


def test_a_meeting_without_an_end_lasts_an_hour_and_one_past_midnight_runs_on() -> None:
    _zone, slots = meeting_slots([weekly("MO", time(9)), weekly("WE", time(23), time(1))])
    assert slots == ((9 * 60, 10 * 60), (2 * DAY + 23 * 60, 3 * DAY + 60))


def test_sunday_night_into_monday_is_split_at_the_end_of_the_week() -> None:
    # The week runs from Monday 00:00, so Saturday into Sunday stays whole.
    _zone, slots = meeting_slots([weekly("SU", time(23, 30), time(0, 30))])
    assert slots == ((0, 30), (6 * DAY + 23 * 60 + 30, WEEK))
    _zone, slots = meeting_slots([weekly("SA", time(23, 30), time(0, 30))])
    assert slots == ((5 * DAY + 23 * 60 + 30, 6 * DAY + 30),)


def test_untimed_and_by_arrangement_meetings_have_no_slots() -> None:
    rules = [weekly("TU", None), Rule("arrangement", (), None, None, CHI, "call us")]
    assert meeting_slots(rules) == (FLOATING, ())


def test_a_rule_in_another_zone_is_moved_to_the_groups_zone() -> None:
    rules = [weekly("TU", time(19)), weekly("TU", time(21), tz="America/New_York")]
    _zone, slots = meeting_slots(rules, now=NOW)
    assert (DAY + 20 * 60, DAY + 21 * 60) in slots  # 21:00 New York is 20:00 Chicago


def test_every_zone_is_in_exactly_one_window_class() -> None:
    plan = when_plan("today", NOW, "America/New_York")
    listed = [zone for window in plan for zone in window.zones]
    assert sorted(listed) == sorted(all_zones())
    assert len(plan) < len(listed) // 4  # grouped, not one per zone


def test_today_for_in_person_groups_runs_to_their_own_midnight() -> None:
    plan = when_plan("today", NOW, "America/New_York")
    start = DAY + 18 * 60 + 45
    assert window_for(plan, CHI, remote=False) == ((start, 2 * DAY),)
    # Joined from anywhere: until midnight in New York, 23:00 in Chicago.
    assert window_for(plan, CHI, remote=True) == ((start, DAY + 23 * 60),)


def test_soonest_key_is_zero_while_on_and_wraps_round_the_week() -> None:
    slots = ((DAY + 19 * 60, DAY + 20 * 60),)
    assert soonest_key(slots, DAY + 19 * 60 + 30) == 0
    assert soonest_key(slots, DAY + 18 * 60) == 60
    assert soonest_key(slots, DAY + 20 * 60) == WEEK - 60
    assert soonest_key((), 0) == WEEK


def test_utc_slots_carry_each_offset_of_the_zone() -> None:
    slots = ((DAY + 18 * 60, DAY + 19 * 60),)
    phoenix = utc_slots("America/Phoenix", slots, NOW)
    assert [(s.dst, s.start) for s in phoenix] == [(False, DAY + 25 * 60)]
    chicago = {(s.dst, s.start) for s in utc_slots(CHI, slots, NOW)}
    assert chicago == {(False, DAY + 24 * 60), (True, DAY + 23 * 60)}


def parse(*pairs: tuple[str, str], now: datetime | None = None):  # type: ignore[no-untyped-def]
    return parse_search_args(MultiDict(list(pairs)), default_taxonomy(), now=now)


@pytest.mark.parametrize(
    ("given", "value"),
    [("now", "now"), ("NOW", "now"), ("3h", "3h"), ("3 h", "3h"), ("Tuesday", "tue")],
)
def test_starts_within_accepts_its_values_and_day_names(given: str, value: str) -> None:
    assert parse(("starts_within", given)).starts_within == value


@pytest.mark.parametrize("given", ["soon", "4h", "tomorrow", "now,today"])
def test_starts_within_refuses_anything_else_naming_the_values(given: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse(("starts_within", given))
    assert raised.value.param == "starts_within"
    assert "now (in progress or starting within 30 minutes)" in raised.value.message


def test_now_is_set_only_when_a_search_needs_it_and_can_be_given() -> None:
    assert parse(("q", "grief")).now is None
    assert parse(("sort", "soonest"), now=NOW).now == NOW
    clock = parse(("starts_within", "now")).now
    assert clock is not None and clock.utcoffset() == timedelta(0)


def test_starts_within_and_tz_survive_a_round_trip_through_the_url() -> None:
    query = parse(("starts_within", "today"), ("tz", "America/Denver"), ("sort", "soonest"))
    assert query.viewer_tz == "America/Denver"
    args = query_to_args(query)
    assert ("starts_within", "today") in args and ("tz", "America/Denver") in args
    again = parse(*args)
    assert (again.starts_within, again.viewer_tz, again.sort) == (
        "today",
        "America/Denver",
        "soonest",
    )
    assert parse(("tz", "Nowhere/Special")).viewer_tz is None  # ignored, never an error


def test_the_place_searched_sets_the_clock_before_the_browsers_zone() -> None:
    assert parse(("near", "60614")).viewer_tz == "America/Chicago"
    assert parse(("near", "60614"), ("tz", "America/Denver")).viewer_tz == "America/Chicago"
    assert parse(("tz", "America/Denver")).viewer_tz == "America/Denver"
