"""Times of groups joined from anywhere, read on the reader's own clock (issue 14 point 2)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from clearinghouse.public.present import NextMeeting, next_of_rules, seen_from
from clearinghouse.schedule import Rule, viewer_zone, your_time

TUESDAY_7PM_EASTERN = Rule("weekly", ("TU",), time(19, 0), time(20, 0), "America/New_York")


def _next_seen_from(after: datetime, zone: str) -> NextMeeting:
    (upcoming,) = seen_from(next_of_rules([TUESDAY_7PM_EASTERN], 1, now=after), zone)
    return upcoming


@pytest.mark.parametrize(
    ("after", "meeting_day", "expected"),
    [
        # US daylight saving starts Sunday 8 March 2026: Eastern moves to UTC-4, Phoenix stays -7.
        (datetime(2026, 3, 2, 12, tzinfo=UTC), "2026-03-03", "5:00 pm your time"),
        (datetime(2026, 3, 4, 12, tzinfo=UTC), "2026-03-10", "4:00 pm your time"),
        # It ends Sunday 1 November 2026: the gap is two hours again.
        (datetime(2026, 10, 26, 12, tzinfo=UTC), "2026-10-27", "4:00 pm your time"),
        (datetime(2026, 10, 28, 12, tzinfo=UTC), "2026-11-03", "5:00 pm your time"),
    ],
)
def test_phoenix_reader_sees_the_next_meeting_across_daylight_saving_switches(
    after: datetime, meeting_day: str, expected: str
) -> None:
    upcoming = _next_seen_from(after, "America/Phoenix")
    assert upcoming.start.date().isoformat() == meeting_day
    assert upcoming.time_text == "7:00 pm Eastern time"
    assert upcoming.your_time == expected
    assert not upcoming.convert_in_browser


def test_london_reader_sees_the_weeks_when_europe_and_america_switch_apart() -> None:
    # 10 March 2026: New York already on summer time, London not yet — four hours apart.
    assert _next_seen_from(datetime(2026, 3, 9, tzinfo=UTC), "Europe/London").your_time == (
        "11:00 pm your time"
    )
    # 31 March: both on summer time, five hours apart, so it is already Wednesday in London.
    assert _next_seen_from(datetime(2026, 3, 25, tzinfo=UTC), "Europe/London").your_time == (
        "Wed 12:00 am your time"
    )


@pytest.mark.parametrize("zone", ["America/New_York", "America/Toronto"])
def test_no_your_time_when_the_clock_reads_the_same(zone: str) -> None:
    assert _next_seen_from(datetime(2026, 7, 1, tzinfo=UTC), zone).your_time == ""


def test_unknown_reader_zone_leaves_it_to_the_browser() -> None:
    upcoming = _next_seen_from(datetime(2026, 7, 1, tzinfo=UTC), "")
    assert upcoming.your_time == ""
    (unknown,) = seen_from(next_of_rules([TUESDAY_7PM_EASTERN], 1), None)
    assert unknown.convert_in_browser


def test_meetings_without_a_zone_or_time_are_never_converted() -> None:
    no_zone = Rule("weekly", ("TU",), time(19, 0), None, None)
    no_time = Rule("weekly", ("TU",), None, None, "America/New_York")
    for rule in (no_zone, no_time):
        (upcoming,) = seen_from(next_of_rules([rule], 1), None)
        assert upcoming.your_time == "" and not upcoming.convert_in_browser
        (upcoming,) = seen_from(next_of_rules([rule], 1), "America/Phoenix")
        assert upcoming.your_time == ""


@pytest.mark.parametrize(
    "bad", ["Mars/Olympus_Mons", "../../etc/passwd", "America", "", "x" * 500, "UTC\x00"]
)
def test_viewer_zone_ignores_what_is_not_a_zone(bad: str) -> None:
    assert viewer_zone(bad) is None
    assert viewer_zone(bad, "America/Denver") == "America/Denver"
    assert your_time(datetime(2026, 7, 1, 19, tzinfo=UTC), bad) == ""


def test_viewer_zone_prefers_the_place_searched_over_the_browser() -> None:
    assert viewer_zone("America/Chicago", "Europe/Paris") == "America/Chicago"
    assert viewer_zone(None, "Europe/Paris") == "Europe/Paris"
    assert viewer_zone(None, None) is None
