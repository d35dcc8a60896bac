"""Schedules as they really are: every other week, cancelled days, temporary closures."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from clearinghouse.listings import validate_listing
from clearinghouse.schedule import (
    Cancellation,
    Closure,
    Rule,
    ScheduleError,
    closed_on,
    closure_text,
    describe,
    occurrences,
    parse_cancellations,
)
from clearinghouse.taxonomy import Taxonomy
from tests.conftest import sample_record

EASTERN = ZoneInfo("America/New_York")
EVERY_OTHER_TUESDAY = Rule(
    "weekly", ("TU",), time(19), time(20), "America/New_York", interval=2, anchor=date(2026, 10, 27)
)


def local_days(rule: Rule, after: datetime, count: int) -> list[date]:
    return [moment.date() for moment in occurrences(rule, after, count)]


def test_every_other_week_reads_as_people_say_it() -> None:
    assert describe(EVERY_OTHER_TUESDAY) == "Every other Tuesday, 7:00–8:00 pm Eastern"
    both = replace(EVERY_OTHER_TUESDAY, byday=("TU", "TH"))
    assert describe(both).startswith("Every other Tuesday and Thursday")
    every_third = replace(EVERY_OTHER_TUESDAY, interval=3)
    assert describe(every_third).startswith("Every 3 weeks on Tuesday")


def test_every_other_week_keeps_the_local_clock_across_the_november_switch() -> None:
    starts = occurrences(EVERY_OTHER_TUESDAY, datetime(2026, 10, 20, tzinfo=UTC), 4)
    assert [s.date() for s in starts] == [
        date(2026, 10, 27),
        date(2026, 11, 10),
        date(2026, 11, 24),
        date(2026, 12, 8),
    ]
    assert {s.time() for s in starts} == {time(19)}
    # 7 pm is 23:00 UTC under daylight time and midnight UTC after the switch on Nov 1.
    assert starts[0].astimezone(UTC).hour == 23
    assert starts[1].astimezone(UTC) == datetime(2026, 11, 11, 0, tzinfo=UTC)


def test_every_other_week_across_the_march_switch() -> None:
    rule = replace(EVERY_OTHER_TUESDAY, anchor=date(2026, 3, 3))
    starts = occurrences(rule, datetime(2026, 3, 4, tzinfo=UTC), 2)
    assert [s.date() for s in starts] == [date(2026, 3, 17), date(2026, 3, 31)]
    assert [s.astimezone(UTC).hour for s in starts] == [23, 23]  # EDT from March 8


def test_every_other_week_across_the_year_end_and_a_53_week_year() -> None:
    # 2026 has 53 ISO weeks: counting by week numbers would put 2027 on the wrong weeks.
    rule = replace(EVERY_OTHER_TUESDAY, anchor=date(2026, 12, 22))
    days = local_days(rule, datetime(2026, 12, 23, tzinfo=UTC), 3)
    assert days == [date(2027, 1, 5), date(2027, 1, 19), date(2027, 2, 2)]


def test_an_anchor_in_the_future_also_fixes_the_weeks_before_it() -> None:
    rule = replace(EVERY_OTHER_TUESDAY, anchor=date(2027, 1, 5))
    days = local_days(rule, datetime(2026, 12, 1, tzinfo=UTC), 3)
    assert days == [date(2026, 12, 8), date(2026, 12, 22), date(2027, 1, 5)]


def test_an_anchor_years_ago_still_counts_the_right_weeks() -> None:
    rule = replace(EVERY_OTHER_TUESDAY, anchor=date(2001, 1, 2))  # a Tuesday
    days = local_days(rule, datetime(2026, 11, 1, tzinfo=UTC), 2)
    weeks = [(day - date(2001, 1, 2)).days // 7 for day in days]
    assert all(week % 2 == 0 for week in weeks)
    assert days[1] - days[0] == timedelta(weeks=2)


@pytest.mark.parametrize("anchor", [date(2026, 1, 5), date(2026, 1, 8)])  # its Monday / Thursday
@pytest.mark.parametrize(
    "start", [datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 30, tzinfo=UTC)]
)
def test_every_other_week_matches_counting_weeks_by_hand(anchor: date, start: datetime) -> None:
    rule = Rule(
        "weekly", ("MO", "TH"), time(18), None, "America/Chicago", interval=2, anchor=anchor
    )
    days = local_days(rule, start, 60)
    anchor_monday = anchor - timedelta(days=anchor.weekday())
    expected = []
    day = start.astimezone(ZoneInfo("America/Chicago")).date()
    while len(expected) < 60:
        meets = day.weekday() in (0, 3) and ((day - anchor_monday).days // 7) % 2 == 0
        if meets and datetime.combine(day, time(18), ZoneInfo("America/Chicago")) > start:
            expected.append(day)
        day += timedelta(days=1)
    assert days == expected


def test_cancelled_days_are_skipped_and_the_next_one_follows() -> None:
    weekly = Rule("weekly", ("TH",), time(19), None, "America/New_York")
    christmas_eve = replace(weekly, cancelled=frozenset({date(2026, 12, 24)}))
    after = datetime(2026, 12, 20, tzinfo=UTC)
    assert local_days(weekly, after, 2) == [date(2026, 12, 24), date(2026, 12, 31)]
    assert local_days(christmas_eve, after, 2) == [date(2026, 12, 31), date(2027, 1, 7)]
    assert local_days(christmas_eve.series(), after, 1) == [date(2026, 12, 24)]


def test_a_closure_skips_every_meeting_before_its_end() -> None:
    closed = replace(EVERY_OTHER_TUESDAY, closure=Closure(date(2027, 1, 12), "renovation"))
    after = datetime(2026, 11, 1, tzinfo=UTC)
    # Meetings fall on Jan 5 and Jan 19: the first one on or after Jan 12 is Jan 19.
    assert local_days(closed, after, 2) == [date(2027, 1, 19), date(2027, 2, 2)]
    weekly = Rule("weekly", ("TU",), time(19), None, None, closure=Closure(date(2027, 1, 12)))
    assert local_days(weekly, datetime(2026, 11, 1), 1) == [date(2027, 1, 12)]


def test_closed_until_further_notice_has_no_next_meeting() -> None:
    closed = replace(EVERY_OTHER_TUESDAY, closure=Closure(None, "Location temporarily closed"))
    assert occurrences(closed, datetime(2026, 11, 1, tzinfo=UTC), 3) == []


@dataclass
class Place:
    temporarily_closed: bool = True
    closed_until: date | None = None
    closed_reason: str = ""


def test_closed_on_is_the_one_answer_for_a_day() -> None:
    until_jan_10 = Place(closed_until=date(2027, 1, 10), closed_reason="renovation")
    assert closed_on(until_jan_10, date(2027, 1, 9))
    assert not closed_on(until_jan_10, date(2027, 1, 10))  # meetings start again that day
    assert closed_on(Place(), date(2099, 1, 1))  # until further notice
    assert not closed_on(Place(temporarily_closed=False), date(2027, 1, 9))


def test_closure_text_names_the_end_and_the_reason_and_goes_quiet_after() -> None:
    closure = Closure(date(2027, 1, 10), "renovation")
    assert closure_text(closure) == "Temporarily closed until January 10, 2027: renovation"
    assert closure_text(closure, today=date(2027, 1, 10)) == ""
    assert closure_text(Closure(None)) == "Temporarily closed"


def test_cancellations_read_from_text_or_objects_in_date_order() -> None:
    text = "2026-12-31 New Year's Eve\n2026-12-24 — Christmas Eve; 2027-01-07"
    assert parse_cancellations(text) == (
        Cancellation(date(2026, 12, 24), "Christmas Eve"),
        Cancellation(date(2026, 12, 31), "New Year's Eve"),
        Cancellation(date(2027, 1, 7), ""),
    )
    assert parse_cancellations([{"date": "2026-12-24", "reason": "holiday"}]) == (
        Cancellation(date(2026, 12, 24), "holiday"),
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Dec 24", "not a date"),
        ("2026-02-30", "not a date"),
        ("1700-01-01", "out of range"),
        ([{"reason": "no date"}], "not a date"),
        ([7], "not a date with no meeting"),
        ("2026-12-24 " + "x" * 400, "at most 300"),
    ],
)
def test_bad_cancellations_say_what_is_wrong(value: Any, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse_cancellations(value)


# -- the one validation ------------------------------------------------------------------


def meeting(**fields: Any) -> dict[str, Any]:
    return {"freq": "weekly", "byday": ["TU"], "start": "19:00", **fields}


def errors(taxonomy: Taxonomy, **overrides: Any) -> dict[str, str]:
    validation = validate_listing(sample_record(**overrides), taxonomy)
    return {error.field: error.message for error in validation.errors}


def test_every_other_week_with_an_anchor_validates(taxonomy: Taxonomy) -> None:
    record = sample_record(
        meetings=[meeting(interval="2", anchor="2026-12-01", cancellations="2026-12-29 holiday")],
        closure={"until": "2027-02-01", "reason": "Library renovation"},
        cancellations=[{"date": "2026-12-24", "reason": "Christmas Eve"}],
    )
    validation = validate_listing(record, taxonomy)
    assert validation.ok, validation.errors
    assert validation.data is not None
    rule = validation.data.meetings[0]
    assert (rule.interval, rule.anchor) == (2, date(2026, 12, 1))
    assert rule.cancellations == (Cancellation(date(2026, 12, 29), "holiday"),)
    assert validation.data.closure == Closure(date(2027, 2, 1), "Library renovation")
    assert validation.data.cancellations == (Cancellation(date(2026, 12, 24), "Christmas Eve"),)


@pytest.mark.parametrize(
    ("rule", "field", "message"),
    [
        (meeting(interval="2"), "meetings[0].anchor", "needs a date it meets on"),
        (meeting(interval="2", anchor="2026-12-02"), "meetings[0].anchor", "is a Wednesday"),
        (meeting(interval="2", anchor="soon"), "meetings[0].anchor", "not a date"),
        (meeting(interval="9", anchor="2026-12-01"), "meetings[0].interval", "not allowed"),
        (meeting(interval="two"), "meetings[0].interval", "not a number of weeks"),
        (
            {"freq": "monthly", "byday": ["2TU"], "interval": 2, "anchor": "2026-12-08"},
            "meetings[0].interval",
            "only weekly",
        ),
        (meeting(cancellations="24/12/2026"), "meetings[0].cancellations", "not a date"),
    ],
)
def test_schedule_mistakes_name_the_field_and_what_is_allowed(
    taxonomy: Taxonomy, rule: dict[str, Any], field: str, message: str
) -> None:
    found = errors(taxonomy, meetings=[rule])
    assert message in found.get(field, ""), found


def test_closure_and_group_cancellation_mistakes_are_named(taxonomy: Taxonomy) -> None:
    found = errors(taxonomy, closure={"until": "next spring"}, cancellations="someday")
    assert "not a date" in found["closure.until"]
    assert "not a date" in found["cancellations"]
    assert "must be" in errors(taxonomy, closure="yes please")["closure"]


def test_every_week_needs_no_anchor_and_ignores_one(taxonomy: Taxonomy) -> None:
    validation = validate_listing(
        sample_record(meetings=[meeting(interval="1", anchor="2026-12-02")]), taxonomy
    )
    assert validation.data is not None, validation.errors
    assert validation.data.meetings[0].anchor is None
