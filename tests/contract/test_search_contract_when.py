"""The "When" filter (`starts_within`) and `sort=soonest` on every engine, on a clock we set.

The corpus below meets at known local times in four zones (Chicago, New York, Los Angeles
and Phoenix, which keeps no daylight saving); each test passes its own "now" to the parser,
so nothing depends on the wall clock.  Expected answers are worked out by hand in the
comments, in Chicago time unless said otherwise (December: Chicago UTC-6, New York UTC-5,
Los Angeles UTC-8, Phoenix UTC-7; from 8 March 2026, Chicago UTC-5 and Phoenix still UTC-7).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from clearinghouse import create_app
from clearinghouse.extensions import db
from clearinghouse.search.base import SearchBackend, SearchResult
from clearinghouse.search.query import parse_search_args
from clearinghouse.taxonomy import default_taxonomy
from indexer.sync import sync
from tests.conftest import app_config
from tests.contract.conftest import ENGINES, make_backend, store_listing
from tests.contract.search_corpus import CHICAGO, offset

CENTRAL = ZoneInfo("America/Chicago")


def meeting(day: str, start: str, zone: str, end: str | None = None) -> dict[str, Any]:
    rule = {"freq": "weekly", "byday": [day], "start": start, "timezone": zone}
    return rule | ({"end": end} if end else {})


def group(name: str, attendance: str, *meetings: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": name,
        "description": f"{name}: a self-help group.",
        "concerns": ["grief-loss"],
        "attendance": attendance,
        "meetings": list(meetings),
        "location": None,
    }
    if attendance == "in-person":
        lat, lon = offset(CHICAGO, 2.0, 45.0)
        record["location"] = {"city": "Chicago", "region": "IL", "lat": lat, "lon": lon}
    elif attendance == "online":
        record["online"] = {"url": "https://meet.example.org/" + name.lower().replace(" ", "-")}
    else:
        record["online"] = {"phone": "312-555-0100"}
    return record


CHI, NYC, LAX, PHX = "America/Chicago", "America/New_York", "America/Los_Angeles", "America/Phoenix"
WHEN_CORPUS = {
    # Tuesday 19:00–20:30.
    "tue7": group("Chicago Tuesday Seven", "in-person", meeting("TU", "19:00", CHI, "20:30")),
    # Saturday 23:30 – Sunday 00:30: runs across the end of the week.
    "sat_late": group("Chicago Saturday Late", "in-person", meeting("SA", "23:30", CHI, "00:30")),
    # Sunday 00:15, no end time: taken as an hour.
    "sun_early": group("Chicago Sunday Early", "in-person", meeting("SU", "00:15", CHI)),
    "sun_five": group("Chicago Sunday Five", "in-person", meeting("SU", "05:00", CHI)),
    "sun_nine": group("Chicago Sunday Nine", "in-person", meeting("SU", "09:00", CHI)),
    # Sunday 23:40 – Monday 00:40: runs across the end of the week (which starts on Monday).
    "sun_late": group("Chicago Sunday Late", "in-person", meeting("SU", "23:40", CHI, "00:40")),
    "mon_early": group("Chicago Monday Early", "in-person", meeting("MO", "00:20", CHI)),
    # Tuesday 20:00–21:00 New York = 19:00–20:00 Chicago.
    "online_ny": group("Online Eastern Tuesday", "online", meeting("TU", "20:00", NYC, "21:00")),
    # Tuesday 21:00 Los Angeles = 23:00 Chicago = Wednesday 00:00 New York.
    "online_la": group("Online Pacific Tuesday", "online", meeting("TU", "21:00", LAX)),
    # Tuesday 18:00 Phoenix = 19:00 Chicago in winter, 20:00 Chicago in summer.
    "online_az": group("Online Arizona Tuesday", "online", meeting("TU", "18:00", PHX, "19:00")),
    "phone_mon": group("Phone Monday Noon", "phone", meeting("MO", "12:00", CHI, "13:00")),
    "arranged": group(
        "By Arrangement Circle", "online", {"freq": "arrangement", "note": "call us"}
    ),
}


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class WhenCorpus:
    app: Flask
    backend: SearchBackend
    ids: dict[str, int] = field(default_factory=dict)

    def search(self, now: datetime, *pairs: tuple[str, str]) -> SearchResult:
        args = MultiDict([*pairs, ("per_page", "100")])
        with self.app.app_context():
            query = parse_search_args(args, default_taxonomy(), now=now)
            return self.backend.search(query)

    def keys(self, now: datetime, *pairs: tuple[str, str]) -> set[str]:
        return set(self.ordered(now, *pairs))

    def ordered(self, now: datetime, *pairs: tuple[str, str]) -> list[str]:
        by_id = {value: key for key, value in self.ids.items()}
        return [by_id[hit.id] for hit in self.search(now, *pairs).hits]


@pytest.fixture(scope="module")
def when_corpus(
    engine: str,
    request: pytest.FixtureRequest,
    template_database: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WhenCorpus]:
    folder = tmp_path_factory.mktemp(f"when-{engine}")
    path = folder / "clearinghouse.db"
    shutil.copy(template_database, path)
    app = create_app(app_config(f"sqlite:///{path}", folder))
    backend = make_backend(engine, request, folder)
    built = WhenCorpus(app=app, backend=backend)
    taxonomy = default_taxonomy()
    with app.app_context():
        for key, record in WHEN_CORPUS.items():
            built.ids[key] = store_listing(record, taxonomy).id
        sync(db.session, backend, taxonomy)
        db.session.remove()
    try:
        yield built
    finally:
        close = getattr(backend, "close", None)
        if callable(close):
            close()
        with app.app_context():
            db.engine.dispose()


def chicago(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CENTRAL)


TUESDAY_1845 = chicago(2026, 12, 1, 18, 45)
TUESDAY_2015 = chicago(2026, 12, 1, 20, 15)


def test_the_online_list_beside_a_place_search_keeps_to_the_when_filter(
    when_corpus: WhenCorpus,
) -> None:
    by_id = {value: key for key, value in when_corpus.ids.items()}
    result = when_corpus.search(TUESDAY_1845, ("near", "Chicago, IL"), ("starts_within", "now"))
    assert {by_id[hit.id] for hit in result.online} == {"online_ny", "online_az"}
    assert result.online_total == 2


def test_now_is_in_progress_or_starting_within_30_minutes(when_corpus: WhenCorpus) -> None:
    # 18:45: the three 19:00 (Chicago) meetings start within 30 minutes; 23:00 does not.
    found = when_corpus.keys(TUESDAY_1845, ("starts_within", "now"))
    assert found == {"tue7", "online_ny", "online_az"}
    # 20:15: only the meeting running to 20:30 is still on; the others ended at 20:00.
    assert when_corpus.keys(TUESDAY_2015, ("starts_within", "now")) == {"tue7"}
    # 18:25: 19:00 is 35 minutes away.
    assert when_corpus.keys(chicago(2026, 12, 1, 18, 25), ("starts_within", "now")) == set()
    # Exactly 30 minutes before counts.
    assert "tue7" in when_corpus.keys(chicago(2026, 12, 1, 18, 30), ("starts_within", "now"))


def test_next_three_hours_includes_in_progress_and_later_starts(when_corpus: WhenCorpus) -> None:
    # 20:15 + 3 h = 23:15: the Pacific group at 23:00 and the one still on.
    found = when_corpus.keys(TUESDAY_2015, ("starts_within", "3h"))
    assert found == {"tue7", "online_la"}


def test_today_for_online_groups_is_the_searchers_day(when_corpus: WhenCorpus) -> None:
    # On a Chicago clock at 20:15 the Pacific group (23:00) is still today.
    in_chicago = when_corpus.keys(TUESDAY_2015, ("starts_within", "today"), ("tz", CHI))
    assert in_chicago == {"tue7", "online_la"}
    # On a New York clock it is 21:15, and the Pacific group starts at midnight: tomorrow.
    # The in-person group is read on its own (Chicago) clock either way.
    in_new_york = when_corpus.keys(TUESDAY_2015, ("starts_within", "today"), ("tz", NYC))
    assert in_new_york == {"tue7"}


def test_a_weekday_is_read_on_the_searchers_clock_for_online_groups(
    when_corpus: WhenCorpus,
) -> None:
    # The Pacific group's Tuesday 21:00 is Wednesday 00:00 in New York.
    assert when_corpus.keys(TUESDAY_2015, ("starts_within", "wed"), ("tz", NYC)) == {"online_la"}
    assert when_corpus.keys(TUESDAY_2015, ("starts_within", "Wednesday"), ("tz", CHI)) == set()
    on_tuesday = when_corpus.keys(TUESDAY_2015, ("starts_within", "tue"), ("tz", NYC))
    assert on_tuesday == {"tue7", "online_ny", "online_az"}
    on_tuesday = when_corpus.keys(TUESDAY_2015, ("starts_within", "tue"), ("tz", LAX))
    assert on_tuesday == {"tue7", "online_ny", "online_az", "online_la"}


def test_the_week_wraps_from_saturday_night_to_sunday_morning(when_corpus: WhenCorpus) -> None:
    saturday_2350 = chicago(2026, 12, 5, 23, 50)
    # The Saturday meeting is on until 00:30; the Sunday one starts at 00:15.
    assert when_corpus.keys(saturday_2350, ("starts_within", "now")) == {"sat_late", "sun_early"}
    # Ten past midnight: the Saturday meeting's Sunday part is still on.
    sunday_0010 = chicago(2026, 12, 6, 0, 10)
    assert when_corpus.keys(sunday_0010, ("starts_within", "now")) == {"sat_late", "sun_early"}
    assert when_corpus.keys(sunday_0010, ("starts_within", "today"), ("tz", CHI)) == {
        "sat_late",
        "sun_early",
        "sun_five",
        "sun_nine",
        "sun_late",
    }
    # Soonest first from Saturday 23:50: in progress, 25 minutes, 5 h, 9 h, Sunday 23:40,
    # Monday 00:20, Monday noon, the three Tuesday 19:00s by name, Tuesday 23:00, and the
    # group with no set time last.
    assert when_corpus.ordered(saturday_2350, ("sort", "soonest")) == [
        "sat_late",
        "sun_early",
        "sun_five",
        "sun_nine",
        "sun_late",
        "mon_early",
        "phone_mon",
        "tue7",
        "online_az",
        "online_ny",
        "online_la",
        "arranged",
    ]


def test_the_week_wraps_from_sunday_night_to_monday_morning(when_corpus: WhenCorpus) -> None:
    # Indexed weeks start on Monday 00:00, so this is where the minutes wrap round.
    sunday_2350 = chicago(2026, 12, 6, 23, 50)
    assert when_corpus.keys(sunday_2350, ("starts_within", "now")) == {"sun_late", "mon_early"}
    monday_0030 = chicago(2026, 12, 7, 0, 30)
    assert when_corpus.keys(monday_0030, ("starts_within", "now")) == {"sun_late", "mon_early"}
    assert when_corpus.keys(monday_0030, ("starts_within", "3h")) == {"sun_late", "mon_early"}
    assert when_corpus.keys(sunday_2350, ("starts_within", "mon"), ("tz", CHI)) == {
        "sun_late",
        "mon_early",
        "phone_mon",
    }
    # From Sunday 23:50: on now, then 30 minutes, ... and Sunday's own groups last but one.
    order = when_corpus.ordered(sunday_2350, ("sort", "soonest"))
    assert order[:3] == ["sun_late", "mon_early", "phone_mon"]
    assert order[-5:] == ["sat_late", "sun_early", "sun_five", "sun_nine", "arranged"]


def test_soonest_first_starts_from_now_and_wraps_round_the_week(when_corpus: WhenCorpus) -> None:
    # From Tuesday 20:15: on now, 23:00 tonight, then Sunday, Monday, and next Tuesday's.
    assert when_corpus.ordered(TUESDAY_2015, ("sort", "soonest")) == [
        "tue7",
        "online_la",
        "sat_late",
        "sun_early",
        "sun_five",
        "sun_nine",
        "sun_late",
        "mon_early",
        "phone_mon",
        "online_az",
        "online_ny",
        "arranged",
    ]


def test_daylight_saving_moves_a_zone_without_it(when_corpus: WhenCorpus) -> None:
    # Phoenix keeps UTC-7 all year: its 18:00–19:00 is 19:00–20:00 in Chicago before
    # 8 March 2026 and 20:00–21:00 after, so at 20:05 it is over, then on.
    before = when_corpus.keys(chicago(2026, 3, 3, 20, 5), ("starts_within", "now"))
    after = when_corpus.keys(chicago(2026, 3, 10, 20, 5), ("starts_within", "now"))
    assert before == {"tue7"}
    assert after == {"tue7", "online_az"}


def test_a_window_across_the_spring_forward_counts_real_hours(when_corpus: WhenCorpus) -> None:
    # 01:30 on 8 March 2026; at 02:00 the clocks jump to 03:00, so three hours later the
    # clock reads 05:30 and the 05:00 meeting is inside the window.
    switch = chicago(2026, 3, 8, 1, 30)
    assert when_corpus.keys(switch, ("starts_within", "3h")) == {"sun_five"}


def test_when_narrows_the_facet_counts_and_the_online_list(when_corpus: WhenCorpus) -> None:
    here = (("lat", str(CHICAGO[0])), ("lon", str(CHICAGO[1])))
    result = when_corpus.search(TUESDAY_1845, *here, ("starts_within", "now"))
    by_id = {value: key for key, value in when_corpus.ids.items()}
    assert {by_id[hit.id] for hit in result.hits} == {"tue7"}
    assert {by_id[hit.id] for hit in result.online} == {"online_ny", "online_az"}
    assert result.online_total == 2
    assert result.facets["attendance"] == {"in-person": 1}
    soonest = when_corpus.search(TUESDAY_2015, *here, ("sort", "soonest"))
    assert [by_id[hit.id] for hit in soonest.online] == [
        "online_la",
        "phone_mon",
        "online_az",
        "online_ny",
        "arranged",
    ]
