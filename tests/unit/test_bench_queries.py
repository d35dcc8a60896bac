"""The benchmark's query mix: enough distinct queries, the same every run, all of them valid."""

from __future__ import annotations

from collections import Counter

from werkzeug.datastructures import MultiDict

from bench.queries import KINDS, misspell, query_mix
from clearinghouse.search.query import parse_search_args
from clearinghouse.taxonomy import default_taxonomy


def test_mix_has_at_least_a_thousand_distinct_queries_of_every_kind() -> None:
    mix = query_mix()
    assert len(mix) >= 1000
    assert len({tuple(sorted(query.args)) for query in mix}) == len(mix)
    kinds = Counter(query.kind for query in mix)
    assert set(kinds) == {kind for kind, _weight in KINDS}
    assert any(("page", "3") in query.args for query in mix)
    assert any(("attendance", "online") in query.args for query in mix)


def test_mix_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    assert query_mix(300, seed=5) == query_mix(300, seed=5)
    assert query_mix(300, seed=5) != query_mix(300, seed=6)


def test_every_query_in_the_mix_parses() -> None:
    taxonomy = default_taxonomy()
    radii = set()
    for query in query_mix():
        parsed = parse_search_args(MultiDict(list(query.args)), taxonomy)
        if parsed.near is not None:
            radii.add(parsed.radius)
    assert min(radii) == 5 and max(radii) == 50


def test_misspelling_changes_a_word_by_one_slip() -> None:
    import random

    rng = random.Random(1)
    slips = {misspell(rng, "depression") for _ in range(50)}
    assert "depression" not in slips
    assert all(abs(len(slip) - len("depression")) <= 1 for slip in slips)
