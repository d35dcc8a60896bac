"""The database engine's share of "When" and "Soonest first" (search/when.py), kept apart.

Each row keeps its group's `meet_zone` and weekly slots as two integer arrays (`meet_starts`,
`meet_ends`: local minutes of the week).  The filter tests, zone class by zone class, whether
any slot falls in that class's ranges; a class's zones are found through a hashed subplan
(`IN (SELECT unnest(...))`), so the hundreds of zone names cost one hash probe per row.
"""

from __future__ import annotations

from typing import Any

from clearinghouse.search.base import ListingDoc, SearchQuery
from clearinghouse.search.when import NO_MEETING, WEEK, clock, soonest_plan, when_plan

WHEN_COLUMNS = ("meet_zone", "meet_starts", "meet_ends")
WHEN_DDL = (
    "meet_zone text NOT NULL DEFAULT '', "
    "meet_starts integer[] NOT NULL DEFAULT '{}', "
    "meet_ends integer[] NOT NULL DEFAULT '{}', "
)
WHEN_VALUES = ":meet_zone, CAST(:meet_starts AS integer[]), CAST(:meet_ends AS integer[])"


def when_row(doc: ListingDoc) -> dict[str, Any]:
    return {
        "meet_zone": doc.meet_zone,
        "meet_starts": [start for start, _end in doc.meet_slots],
        "meet_ends": [end for _start, end in doc.meet_slots],
    }


def when_clause(query: SearchQuery, params: dict[str, Any]) -> str:
    """A WHERE clause: a meeting in the query's window (binds its values into `params`)."""
    plan = when_plan(query.starts_within, clock(query.now), query.viewer_tz)
    options = []
    for number, window in enumerate(plan):
        params[f"wz{number}"] = list(window.zones)
        zone = f"meet_zone IN (SELECT unnest(CAST(:wz{number} AS text[])))"
        if window.remote == window.in_person:
            options.append(f"({zone} AND {_slots_in(window.remote, f'w{number}', params)})")
            continue
        remote = _slots_in(window.remote, f"w{number}r", params)
        in_person = _slots_in(window.in_person, f"w{number}p", params)
        options.append(f"({zone} AND CASE WHEN remote THEN {remote} ELSE {in_person} END)")
    return "(" + " OR ".join(options) + ")" if options else "false"


def _slots_in(ranges: tuple[tuple[int, int], ...], name: str, params: dict[str, Any]) -> str:
    tests = []
    for index, (lo, hi) in enumerate(ranges):
        params[f"{name}lo{index}"], params[f"{name}hi{index}"] = lo, hi
        tests.append(f"(m.s < :{name}hi{index} AND m.e > :{name}lo{index})")
    return (
        "EXISTS (SELECT 1 FROM unnest(meet_starts, meet_ends) AS m(s, e)"
        f" WHERE {' OR '.join(tests) or 'false'})"
    )


def soonest_key(query: SearchQuery, params: dict[str, Any]) -> str:
    """An expression: minutes until the row's next meeting starts (0 while one is on)."""
    plan = soonest_plan(clock(query.now), query.viewer_tz)
    cases = []
    for number, zone_now in enumerate(plan):
        params[f"sz{number}"] = list(zone_now.zones)
        cases.append(
            f"WHEN meet_zone IN (SELECT unnest(CAST(:sz{number} AS text[]))) THEN {zone_now.minute}"
        )
    forward = f"((m.s - z.n) % {WEEK} + {WEEK}) % {WEEK}"
    distance = f"CASE WHEN m.s <= z.n AND z.n < m.e THEN 0 ELSE {forward} END"
    return (
        f"coalesce((SELECT min({distance}) FROM (SELECT CASE {' '.join(cases)} END AS n) AS z,"
        f" unnest(meet_starts, meet_ends) AS m(s, e) WHERE z.n IS NOT NULL), {NO_MEETING})"
    )
