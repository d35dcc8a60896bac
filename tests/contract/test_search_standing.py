"""Standing on every engine: listings nobody confirmed or checked within two years rank after
fresh ones, in every order, on a "today" the test controls (documents are built for it)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from flask import Flask

from clearinghouse.extensions import db
from clearinghouse.models import Group
from clearinghouse.search.base import SearchBackend
from clearinghouse.search.documents import (
    STANDING_CLOSED,
    STANDING_NORMAL,
    STANDING_STALE,
    build_document,
)
from clearinghouse.taxonomy import Taxonomy
from tests.contract.conftest import ENGINES, parse, store_listing
from tests.contract.search_corpus import CHICAGO, listing

TODAY = datetime(2026, 6, 1, 12, 0)
FRESH = "2025-09-01T00:00:00"  # within two years of TODAY
STALE = "2024-05-01T00:00:00"  # two years and a month before TODAY
LISTED = datetime(2023, 1, 1)  # when every listing was made (never checked since: stale)


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# key -> (name, miles from Chicago, checked, extra fields).  "checked" is verified_at, or
# confirmed_at when it starts with "confirmed ".
LISTINGS: dict[str, tuple[str, float, str | None, dict[str, Any]]] = {
    "aspen": ("Aspen Grief Circle", 1.0, STALE, {}),  # nearest and first by name, but stale
    "birch": ("Birch Grief Circle", 2.0, FRESH, {}),
    "cedar": ("Cedar Grief Circle", 3.0, None, {}),  # never checked: stale
    "dogwood": ("Dogwood Grief Circle", 4.0, "confirmed " + FRESH, {}),  # the group confirmed
    "elm": ("Elm Grief Circle", 5.0, FRESH, {}),
    "online-a": ("Anytime Grief Online", 0.0, STALE, {"attendance": "online"}),
    "online-z": ("Zoom Grief Online", 0.0, FRESH, {"attendance": "online"}),
}


def _store(taxonomy: Taxonomy) -> dict[str, Group]:
    groups: dict[str, Group] = {}
    for key, (name, miles, checked, extra) in LISTINGS.items():
        record = listing(name, ["grief-loss"], miles=miles, bearing=90, **extra)
        if checked and not checked.startswith("confirmed "):
            record["verified_at"] = checked
        group = store_listing(record, taxonomy)
        group.created_at = LISTED
        if checked and checked.startswith("confirmed "):
            group.confirmed_at = datetime.fromisoformat(checked.removeprefix("confirmed "))
        groups[key] = group
    db.session.commit()
    return groups


def _index(
    backend: SearchBackend,
    groups: dict[str, Group],
    taxonomy: Taxonomy,
    now: datetime,
    *,
    demote_stale: bool = True,
) -> None:
    backend.upsert(
        build_document(group, taxonomy, now=now, demote_stale=demote_stale)
        for group in groups.values()
    )


def _order(backend: SearchBackend, groups: dict[str, Group], *pairs: tuple[str, str]) -> list[str]:
    keys = {group.id: key for key, group in groups.items()}
    return [keys[hit.id] for hit in backend.search(parse(*pairs)).hits]


NEAR = (("lat", str(CHICAGO[0])), ("lon", str(CHICAGO[1])))
FRESH_PLACED = ["birch", "dogwood", "elm"]
STALE_PLACED = ["aspen", "cedar"]


def test_stale_listings_come_after_fresh_ones_in_every_order(
    app: Flask, taxonomy: Taxonomy, fresh_backend: SearchBackend
) -> None:
    groups = _store(taxonomy)
    _index(fresh_backend, groups, taxonomy, TODAY)
    everything = [*FRESH_PLACED, "online-z", *STALE_PLACED, "online-a"]

    by_name = _order(fresh_backend, groups, ("sort", "name"))
    assert by_name == ["birch", "dogwood", "elm", "online-z", "online-a", "aspen", "cedar"]
    assert set(by_name) == set(everything)
    # Distance: fresh ones nearest first, then the stale ones nearest first.
    assert _order(fresh_backend, groups, *NEAR, ("sort", "distance")) == [
        *FRESH_PLACED,
        *STALE_PLACED,
    ]
    # Relevance (with words, and with a place): the stale "Aspen" matches as well as any.
    assert _order(fresh_backend, groups, ("q", "grief circle")) == [*FRESH_PLACED, *STALE_PLACED]
    assert _order(fresh_backend, groups, *NEAR, ("q", "grief"), ("sort", "relevance")) == [
        *FRESH_PLACED,
        *STALE_PLACED,
    ]
    updated = _order(fresh_backend, groups, ("sort", "updated"))
    assert set(updated[:4]) == {*FRESH_PLACED, "online-z"}
    assert set(updated[4:]) == {*STALE_PLACED, "online-a"}
    # The online side list of a place search, too.
    online = fresh_backend.search(parse(*NEAR))
    assert [groups_key(groups, hit.id) for hit in online.online] == ["online-z", "online-a"]


def groups_key(groups: dict[str, Group], group_id: int) -> str:
    return next(key for key, group in groups.items() if group.id == group_id)


def test_pages_run_on_across_the_standings(
    app: Flask, taxonomy: Taxonomy, fresh_backend: SearchBackend
) -> None:
    groups = _store(taxonomy)
    _index(fresh_backend, groups, taxonomy, TODAY)
    pages = [
        _order(fresh_backend, groups, *NEAR, ("sort", "distance"), ("per_page", "2"), ("page", n))
        for n in ("1", "2", "3")
    ]
    assert pages == [["birch", "dogwood"], ["elm", "aspen"], ["cedar"]]
    assert fresh_backend.search(parse(*NEAR, ("per_page", "2"))).total == 5


def test_standing_follows_the_day_the_documents_were_built_for(
    app: Flask, taxonomy: Taxonomy, fresh_backend: SearchBackend
) -> None:
    groups = _store(taxonomy)
    later = datetime(2027, 9, 15)  # two years after FRESH: birch, elm and dogwood are stale
    assert build_document(groups["birch"], taxonomy, now=TODAY).standing == STANDING_NORMAL
    assert build_document(groups["birch"], taxonomy, now=later).standing == STANDING_STALE
    _index(fresh_backend, groups, taxonomy, TODAY)
    groups["elm"].verified_at = datetime(2027, 9, 1)  # staff checked elm meanwhile
    db.session.commit()
    _index(fresh_backend, groups, taxonomy, later)
    assert _order(fresh_backend, groups, *NEAR, ("sort", "distance")) == [
        "elm",
        "aspen",
        "birch",
        "cedar",
        "dogwood",
    ]


def test_without_demotion_stale_listings_rank_as_any_other(
    app: Flask, taxonomy: Taxonomy, fresh_backend: SearchBackend
) -> None:
    groups = _store(taxonomy)
    _index(fresh_backend, groups, taxonomy, TODAY, demote_stale=False)
    assert _order(fresh_backend, groups, *NEAR, ("sort", "distance")) == [
        "aspen",
        "birch",
        "cedar",
        "dogwood",
        "elm",
    ]


def test_temporarily_closed_groups_come_after_open_ones_until_they_reopen(
    app: Flask, taxonomy: Taxonomy, fresh_backend: SearchBackend
) -> None:
    groups = _store(taxonomy)
    birch = groups["birch"]
    birch.temporarily_closed = True
    birch.closed_until = date(2026, 7, 1)
    birch.closed_reason = "The hall is being repainted"
    db.session.commit()
    assert build_document(birch, taxonomy, now=TODAY).standing == STANDING_CLOSED
    _index(fresh_backend, groups, taxonomy, TODAY)
    # Still found, labelled elsewhere: after the open ones, the stale included.
    assert _order(fresh_backend, groups, *NEAR, ("sort", "distance")) == [
        "dogwood",
        "elm",
        "aspen",
        "cedar",
        "birch",
    ]
    assert _order(fresh_backend, groups, ("q", "birch")) == ["birch"]
    reopened = datetime(2026, 7, 1, 12, 0)  # meetings start again on closed_until
    assert build_document(birch, taxonomy, now=reopened).standing == STANDING_NORMAL
    _index(fresh_backend, groups, taxonomy, reopened)
    assert _order(fresh_backend, groups, *NEAR, ("sort", "distance")) == [
        *FRESH_PLACED,
        *STALE_PLACED,
    ]
