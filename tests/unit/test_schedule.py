"""Meeting rules: parsing, plain words, next dates."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from clearinghouse.public.present import next_of_rules
from clearinghouse.schedule import (
    Rule,
    ScheduleError,
    describe,
    occurrences,
    parse_byday,
    parse_time,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("19:00", time(19)),
        ("7pm", time(19)),
        ("7:30 PM", time(19, 30)),
        ("0930", time(9, 30)),
        ("12am", time(0)),
        ("12:15 pm", time(12, 15)),
        ("7 a.m.", time(7)),
    ],
)
def test_times_people_write_are_understood(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["25:70", "24:00", "13pm", "noonish", "", "7:61"])
def test_impossible_times_are_errors_that_quote_the_value(text: str) -> None:
    with pytest.raises(ScheduleError, match="not a time"):
        parse_time(text)


def test_weekly_days_accept_names_and_codes() -> None:
    assert parse_byday(["Tuesday", "thu", "SA"], "weekly") == ("TU", "TH", "SA")


def test_monthly_rules_need_ordinals_and_weekly_rules_refuse_them() -> None:
    assert parse_byday(["2TU", "-1FR"], "monthly") == ("2TU", "-1FR")
    with pytest.raises(ScheduleError, match="ordinal"):
        parse_byday(["TU"], "monthly")
    with pytest.raises(ScheduleError, match="plain days"):
        parse_byday(["2TU"], "weekly")
    with pytest.raises(ScheduleError, match="not a meeting day"):
        parse_byday(["9"], "weekly")


def test_description_reads_like_a_person_wrote_it() -> None:
    rule = Rule("monthly", ("2TU", "4TU"), time(19), time(20, 30), "America/Chicago")
    assert describe(rule) == "2nd and 4th Tuesdays of the month, 7:00–8:30 pm Central"
    weekly = Rule("weekly", ("MO", "WE"), time(9), time(10, 30), "America/New_York")
    assert describe(weekly) == "Mondays and Wednesdays, 9:00–10:30 am Eastern"
    last = Rule("monthly", ("-1FR",), time(18), None, "America/Denver")
    assert describe(last) == "Last Friday of the month, 6:00 pm Mountain"
    assert describe(Rule("arrangement", (), None, None, None)).startswith("By arrangement")


def test_next_dates_follow_monthly_ordinals_in_the_groups_zone() -> None:
    rule = Rule("monthly", ("2TU",), time(19), time(20), "America/Chicago")
    after = datetime(2026, 11, 22, tzinfo=UTC)
    dates = occurrences(rule, after, 3)
    assert [d.date().isoformat() for d in dates] == ["2026-12-08", "2027-01-12", "2027-02-09"]
    assert all(d.hour == 19 and str(d.tzinfo) == "America/Chicago" for d in dates)


def test_last_friday_and_merged_rules() -> None:
    last_friday = Rule("monthly", ("-1FR",), time(18), None, "America/Denver")
    weekly = Rule("weekly", ("MO",), time(12), None, "America/Denver")
    after = datetime(2026, 11, 22, tzinfo=UTC)
    assert occurrences(last_friday, after, 1)[0].date().isoformat() == "2026-11-27"
    merged = [found.start for found in next_of_rules([last_friday, weekly], 3, now=after)]
    assert [d.date().isoformat() for d in merged] == ["2026-11-23", "2026-11-27", "2026-11-30"]
    assert merged == sorted(merged)


def test_by_arrangement_has_no_dates() -> None:
    assert occurrences(Rule("arrangement", (), None, None, None), datetime.now(UTC), 3) == []
