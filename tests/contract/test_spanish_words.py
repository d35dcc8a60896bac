"""Spanish lay words find what their English counterparts find, on every engine (conftest.py).

The Spanish labels and synonyms (seed_data/concerns_es.json) and relationship words
(seed_data/phrases.json) go through the same query understanding as English ones, so the
result sets, and the order of the first results, must be equal.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from clearinghouse.extensions import db
from clearinghouse.search.base import SearchBackend
from clearinghouse.search.reading import read_search
from clearinghouse.taxonomy import Taxonomy
from indexer.sync import sync
from tests.contract.conftest import ALL, parse, store_listing
from tests.contract.search_corpus import listing

pytestmark = pytest.mark.search

# Groups for the concerns the words below name, and others that must stay out.
GROUPS = {
    "al-anon": listing("Family Group for Friends of Addicts", ["families-of-addicts"], miles=3),
    "na": listing("Clean and Serene", ["drugs"], miles=5, bearing=90),
    "aa": listing("Lakeview Sober Sisters", ["alcohol"], miles=2, bearing=180),
    "grief": listing("Northside Grief Circle", ["grief-loss"], miles=4),
    "widows": listing("Widows and Widowers Coffee", ["loss-of-spouse"], miles=6),
    "gamblers": listing("Tuesday Gamblers Group", ["gambling"], miles=7),
    "blues": listing("Depression Peer Circle", ["depression"], miles=8),
    "cancer": listing("Cancer Survivors Walk", ["cancer"], miles=9),
    "divorce": listing("Divorce Recovery Circle", ["divorce-separation"], miles=10),
}
SAME_MEANING = [
    ("grief", "duelo"),
    ("alcoholism", "alcoholismo"),
    ("my son uses drugs", "mi hijo usa drogas"),
    ("my daughter is an alcoholic", "mi hija es alcohólica"),
    ("depression", "depresión"),
    ("gambling", "ludopatía"),
    ("widow", "viuda"),
]


@pytest.fixture
def ids_for(
    app: Flask, taxonomy: Taxonomy, fresh_backend: SearchBackend
) -> Callable[[str], list[str]]:
    stored = {store_listing(record, taxonomy).id: key for key, record in GROUPS.items()}
    sync(db.session, fresh_backend, taxonomy)

    def ids(q: str) -> list[str]:
        _searched, result, _reading = read_search(fresh_backend, parse(("q", q), *ALL), taxonomy)
        return [stored[hit.id] for hit in result.hits]

    return ids


@pytest.mark.parametrize(("english", "spanish"), SAME_MEANING)
def test_spanish_words_find_the_same_groups_in_the_same_order(
    ids_for: Callable[[str], list[str]], english: str, spanish: str
) -> None:
    found = ids_for(english)
    assert found, f"{english!r} finds groups"
    assert "cancer" not in found and "divorce" not in found
    assert ids_for(spanish) == found


def test_a_parent_asking_in_spanish_finds_family_groups_first(
    ids_for: Callable[[str], list[str]],
) -> None:
    assert ids_for("mi hijo usa drogas")[0] == "al-anon"
    assert set(ids_for("mi hijo usa drogas")) == {"al-anon", "na"}
