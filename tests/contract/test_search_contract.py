"""The search semantics (docs/architecture.md), checked the same way on every engine.

Most answers are compared with `corpus.expected(...)`, a plain-Python reading of the
contract over the same documents; distances are checked against geopy.  Both engines
behave alike, misspellings included (corrected by the service, `search/reading.py`).
"""

from __future__ import annotations

import pytest
from geopy.distance import geodesic, great_circle

from clearinghouse.search.facets import FACET_NAMES, FACETS
from clearinghouse.taxonomy import Taxonomy
from tests.contract.conftest import (
    ACTIVE,
    ALL,
    HERE,
    Corpus,
    keys_of,
    parse,
    reference_match,
)
from tests.contract.search_corpus import CHICAGO, TORONTO

pytestmark = pytest.mark.search


# -- what is indexed -------------------------------------------------------------------------


def test_only_active_groups_are_indexed(corpus: Corpus) -> None:
    indexed = corpus.backend.indexed()
    assert corpus.keys(indexed) == ACTIVE
    assert indexed == {doc.id: doc.updated_at for doc in corpus.docs.values()}
    assert corpus.backend.count() == len(ACTIVE)
    assert corpus.backend.ping()


def test_no_arguments_find_every_active_group(corpus: Corpus) -> None:
    assert keys_of(corpus) == ACTIVE
    assert corpus.search().total == len(ACTIVE)


# -- facet filters ---------------------------------------------------------------------------


def corpus_values(corpus: Corpus) -> list[tuple[str, str]]:
    return sorted(
        {(f, v) for d in corpus.docs.values() for f in FACET_NAMES for v in d.facet_values(f)}
    )


def test_every_single_facet_value_filters_as_the_contract_says(corpus: Corpus) -> None:
    checked = 0
    for facet, value in corpus_values(corpus):
        pair = (facet, value)
        assert keys_of(corpus, pair) == corpus.expected(pair), pair
        assert keys_of(corpus, pair, *HERE) == corpus.expected(pair, *HERE), pair
        checked += 1
    assert checked > 60


@pytest.mark.parametrize(
    "pairs",
    [
        (("day", "mon"), ("day", "tue")),
        (("day", "mon"), ("time", "evening")),
        (("day", "mon"), ("day", "sat"), ("time", "morning"), ("time", "evening")),
        (("concern", "grief-loss"), ("attendance", "in-person")),
        (("concern", "grief-loss"), ("concern", "alcohol"), ("cost", "free")),
        (("concern", "addiction-recovery"), ("format", "peer-led"), ("language", "es")),
        (("attendance", "online"), ("attendance", "phone"), ("format", "professional-expert")),
        (("accessibility", "wheelchair"), ("accessibility", "childcare"), ("audience", "parents")),
        (("cost", "donation"), ("cost", "fee"), ("day", "sat"), ("day", "sun")),
        (("language", "fr"), ("concern", "grief-loss")),
        (("audience", "women"), ("concern", "cancer")),
        (("time", "night"),),
        (("language", "pl"), ("language", "es"), ("cost", "free")),
    ],
)
def test_values_or_within_a_facet_and_across_facets(
    corpus: Corpus, pairs: tuple[tuple[str, str], ...]
) -> None:
    assert keys_of(corpus, *pairs) == corpus.expected(*pairs)
    assert keys_of(corpus, *pairs, *HERE) == corpus.expected(*pairs, *HERE)


def test_or_within_a_facet_is_the_union(corpus: Corpus) -> None:
    monday, tuesday = keys_of(corpus, ("day", "mon")), keys_of(corpus, ("day", "tue"))
    assert keys_of(corpus, ("day", "mon"), ("day", "tue")) == monday | tuesday
    assert keys_of(corpus, ("day", "mon,tue")) == monday | tuesday


def test_and_across_facets_is_the_intersection(corpus: Corpus) -> None:
    free, evening = keys_of(corpus, ("cost", "free")), keys_of(corpus, ("time", "evening"))
    assert keys_of(corpus, ("cost", "free"), ("time", "evening")) == free & evening


def test_parent_concern_includes_its_children(corpus: Corpus) -> None:
    found = keys_of(corpus, ("concern", "grief-loss"))
    assert {"c01", "c02", "c03", "c14", "c15", "c20", "c21", "o01", "o02"} <= found
    assert keys_of(corpus, ("concern", "loss-of-a-child")) == {"c02"}
    assert keys_of(corpus, ("concern", "addiction-recovery")) == {
        "c04", "c05", "c06", "c09", "c18", "c22", "s02", "t03", "o04"
    }  # fmt: skip


def test_hybrid_groups_match_in_person_and_online(corpus: Corpus) -> None:
    hybrid = {"c03", "c06", "c17", "s03", "t03"}
    in_person = keys_of(corpus, ("attendance", "in-person"))
    online = keys_of(corpus, ("attendance", "online"))
    assert hybrid <= in_person and hybrid <= online
    assert keys_of(corpus, ("attendance", "hybrid")) == hybrid
    assert "o01" in online and "o01" not in in_person
    assert keys_of(corpus, ("attendance", "phone")) == {"o02", "o06", "o08"}


def test_times_and_days_come_from_the_schedule(corpus: Corpus) -> None:
    assert keys_of(corpus, ("time", "night")) == {"c09", "c18"}
    assert keys_of(corpus, ("day", "sun")) == {"c10", "o07"}
    assert "c04" in keys_of(corpus, ("day", "fri"), ("time", "afternoon"))
    assert "c11" in keys_of(corpus, ("day", "tue"), ("time", "afternoon"))  # monthly, 2nd TU


# -- facet counts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base",
    [(), HERE, (("concern", "grief-loss"),), (("q", "support"),), (("day", "mon"), *HERE)],
    ids=["everything", "near", "concern", "text", "day-near"],
)
def test_facet_counts_equal_the_totals_of_selecting_each_value(
    corpus: Corpus, base: tuple[tuple[str, str], ...]
) -> None:
    result = corpus.search(*base)
    checked = 0
    for facet in FACET_NAMES:
        for value, count in result.facets.get(facet, {}).items():
            rest = tuple(pair for pair in base if pair[0] != facet)
            assert corpus.search(*rest, (facet, value)).total == count, (facet, value)
            checked += 1
    assert checked >= 10


def test_facet_counts_match_the_reference(corpus: Corpus) -> None:
    query = parse(("cost", "free"), ("day", "tue"), *HERE)
    result = corpus.search(("cost", "free"), ("day", "tue"), *HERE)
    for facet in FACET_NAMES:
        counted: dict[str, int] = {}
        for doc in corpus.docs.values():
            if reference_match(doc, query, skip=facet):
                for value in doc.facet_values(facet):
                    counted[value] = counted.get(value, 0) + 1
        assert {v: n for v, n in result.facets.get(facet, {}).items() if n} == counted, facet


def test_engines_count_the_registry_facets_from_the_fields_it_names(corpus: Corpus) -> None:
    """Aggregations come from the registry: every facet it lists, read from its document field,
    and no other."""
    result = corpus.search()
    assert set(result.facets) == set(FACET_NAMES)
    for spec in FACETS:
        counted: dict[str, int] = {}
        for reference in corpus.docs.values():  # read from the raw records, not the documents
            for value in reference.facet_values(spec.name):
                counted[value] = counted.get(value, 0) + 1
        assert {v: n for v, n in result.facets[spec.name].items() if n} == counted, spec.name
        if spec.allowed:  # concern values come from the taxonomy
            assert set(result.facets[spec.name]) <= set(spec.allowed), spec.name
    assert all(result.facets[spec.name] for spec in FACETS)  # the corpus has every facet


def test_facets_are_disjunctive(corpus: Corpus) -> None:
    everything = corpus.search()
    monday = corpus.search(("day", "mon"))
    # Selecting a day does not shrink the day counts, so people can pick another day.
    assert monday.facets["day"] == everything.facets["day"]
    # ... while every other facet is counted within Monday's groups.
    assert sum(monday.facets["format"].values()) == monday.total
    assert monday.facets["cost"] != everything.facets["cost"]
    both = corpus.search(("day", "mon"), ("cost", "fee"))
    assert both.facets["day"] == corpus.search(("cost", "fee")).facets["day"]
    assert both.facets["cost"] == monday.facets["cost"]


def test_selected_values_are_shown_even_at_zero(corpus: Corpus) -> None:
    page = corpus.page(("language", "pl"), ("lat", str(TORONTO[0])), ("lon", str(TORONTO[1])))
    assert page.total == 0
    language = next(facet for facet in page.facets if facet.name == "language")
    polish = next(value for value in language.values if value.value == "pl")
    assert (polish.count, polish.selected, polish.label) == (0, True, "Polish")
    assert any(v.value == "fr" and v.count == 2 for v in language.values)


def test_concern_facet_lists_parents_and_children_in_taxonomy_order(
    corpus: Corpus, taxonomy: Taxonomy
) -> None:
    page = corpus.page()
    concern = next(facet for facet in page.facets if facet.name == "concern")
    slugs = [value.value for value in concern.values]
    order = [term.slug for term in taxonomy]
    assert slugs == sorted(slugs, key=order.index)
    counts = {value.value: value.count for value in concern.values}
    assert counts["grief-loss"] == len(corpus.expected(("concern", "grief-loss")))
    assert counts["loss-of-a-child"] == 1
    assert next(v for v in concern.values if v.value == "loss-of-a-child").parent == "grief-loss"


# -- places ----------------------------------------------------------------------------------


def test_radius_includes_a_group_just_inside_and_excludes_one_just_outside(
    corpus: Corpus,
) -> None:
    for key, inside in (("c07", True), ("c08", False)):
        doc = corpus.docs[corpus.ids[key]]
        miles = great_circle(CHICAGO, (doc.lat, doc.lon)).miles
        assert (miles <= 25) is inside, (key, miles)
    found = keys_of(corpus, *HERE)
    assert "c07" in found and "c08" not in found
    assert {"c07", "c08"} <= keys_of(corpus, *HERE, ("radius", "25.6"))
    assert "c07" not in keys_of(corpus, *HERE, ("radius", "24.4"))
    assert found == corpus.expected(*HERE)


def test_radius_in_kilometres(corpus: Corpus) -> None:
    found = keys_of(corpus, *HERE, ("radius", "40"), ("unit", "km"))  # 24.85 mi
    assert "c07" in found and "c08" not in found
    assert found == corpus.expected(*HERE, ("radius", "40"), ("unit", "km"))


@pytest.mark.parametrize("radius", ["1", "5", "10", "50", "200", "500"])
def test_every_radius_matches_geopy(corpus: Corpus, radius: str) -> None:
    assert keys_of(corpus, *HERE, ("radius", radius)) == corpus.expected(*HERE, ("radius", radius))


def test_distances_match_geopy_and_sort_nearest_first(corpus: Corpus) -> None:
    result = corpus.search(*HERE, ("radius", "500"), *ALL)
    assert result.total > 20
    distances = []
    for hit in result.hits:
        doc = corpus.docs[hit.id]
        assert hit.distance_mi is not None
        exact = great_circle(CHICAGO, (doc.lat, doc.lon)).miles
        assert hit.distance_mi == pytest.approx(exact, rel=1e-3, abs=0.01)
        assert hit.distance_mi == pytest.approx(
            geodesic(CHICAGO, (doc.lat, doc.lon)).miles, rel=5e-3, abs=0.01
        )
        distances.append(hit.distance_mi)
    assert distances == sorted(distances)
    assert "s01" in corpus.keys(hit.id for hit in result.hits)  # Springfield, ~185 mi


def test_near_a_zip_code_and_a_city(corpus: Corpus) -> None:
    assert keys_of(corpus, ("near", "Toronto, ON")) == {"t01", "t02", "t03"}
    assert keys_of(corpus, ("near", "Springfield, IL"), ("radius", "10")) == {"s01", "s02", "s03"}
    near_zip = keys_of(corpus, ("near", "60614"), ("radius", "5"))
    assert near_zip == corpus.expected(("near", "60614"), ("radius", "5"))
    assert near_zip


def test_online_groups_come_separately_respecting_service_areas(corpus: Corpus) -> None:
    result = corpus.search(*HERE)
    main = corpus.keys(hit.id for hit in result.hits)
    online = corpus.keys(hit.id for hit in result.online)
    assert online == {"o01", "o02", "o04", "o05", "o07", "o08"}
    assert online == corpus.expected_online(*HERE)
    assert result.online_total == len(online)
    assert not main & online
    assert all(hit.distance_mi is None for hit in result.online)
    toronto = (("near", "Toronto, ON"),)
    assert corpus.keys(h.id for h in corpus.search(*toronto).online) == {"o01", "o03", "o04", "o07"}


def test_online_list_follows_the_other_filters(corpus: Corpus) -> None:
    grief = corpus.search(*HERE, ("concern", "grief-loss"))
    assert corpus.keys(hit.id for hit in grief.online) == {"o01", "o02"}
    spanish = corpus.search(*HERE, ("language", "es"))
    assert corpus.keys(hit.id for hit in spanish.online) == {"o05"}
    assert corpus.search(*HERE, ("attendance", "in-person")).online_total == 0
    text = corpus.search(*HERE, ("q", "caregivers"))
    assert corpus.keys(hit.id for hit in text.online) == {"o08"}


def test_no_place_means_no_separate_online_list(corpus: Corpus) -> None:
    result = corpus.search(("concern", "grief-loss"))
    assert result.online == () and result.online_total == 0
    assert "o01" in corpus.keys(hit.id for hit in result.hits)


def test_empty_place_search_offers_a_wider_radius_and_national_help(corpus: Corpus) -> None:
    page = corpus.page(*HERE, ("concern", "dementia-caregivers"), ("radius", "30"))
    assert page.total == 0
    assert page.suggestions is not None
    assert [(o.radius, o.count) for o in page.suggestions.wider] == [(50.0, 1)]
    assert page.suggestions.national  # the Alzheimer's helpline and the like
    assert page.suggestions.start_a_group
    assert {hit.group.name for hit in page.online} == {"Phone Support for Caregivers in Illinois"}
