"""What the words are taken to mean: concerns, who is asking, audiences, misspellings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clearinghouse.search.understanding import (
    ASKED_WEIGHT,
    NAMED_WEIGHT,
    Lexicon,
    Understood,
    correct,
    understand,
)
from clearinghouse.taxonomy import Taxonomy


def weights(understood: Understood) -> dict[str, int]:
    return dict(understood.concern_weights)


def test_an_abbreviation_means_its_concern_and_is_not_a_word_start(taxonomy: Taxonomy) -> None:
    for q, slug in [("AA", "alcohol"), ("NA", "drugs"), ("MS", "multiple-sclerosis")]:
        understood = understand(q, taxonomy)
        assert understood.concerns == (slug,), q
        (clause,) = understood.clauses
        assert clause.concerns == (slug,) and not clause.prefix
        assert clause.words == ()  # "als" would stem to "al", as in Al-Anon


def test_an_unknown_last_word_may_be_a_word_start(taxonomy: Taxonomy) -> None:
    (clause,) = understand("caregiv", taxonomy).clauses
    assert clause.words == ("caregiv",) and clause.prefix and not clause.concerns


def test_a_relationship_names_the_families_concern_above_the_persons_own(
    taxonomy: Taxonomy,
) -> None:
    understood = understand("my stepson uses drugs", taxonomy)
    assert weights(understood)["families-of-addicts"] == ASKED_WEIGHT
    assert weights(understood)["drugs"] == NAMED_WEIGHT
    assert understood.concerns[0] == "families-of-addicts"
    (clause,) = understood.clauses  # one clause: "my" says nothing a listing must hold
    assert set(clause.concerns) == {"families-of-addicts", "drugs"}
    assert understood.concerns[0] == "families-of-addicts"


@pytest.mark.parametrize(
    ("q", "slug"),
    [
        ("husband drinks too much", "families-of-addicts"),
        ("my kid is a lesbian", "parents-of-lgbtq"),
        ("my son uses drugs", "families-of-addicts"),  # also a synonym of the concern
        ("suicide of my brother", "suicide-loss"),
        ("suicide of my brother", "sibling-loss"),
        ("caring for my dad with dementia", "dementia-caregivers"),
        ("autistic son", "special-needs-parents"),
        ("my wife passed away", "loss-of-spouse"),
    ],
)
def test_who_is_asking_comes_first(taxonomy: Taxonomy, q: str, slug: str) -> None:
    named = weights(understand(q, taxonomy))
    assert named.get(slug) == max(named.values()), named


def test_a_death_makes_a_carer_bereaved(taxonomy: Taxonomy) -> None:
    understood = understand("lost my husband to cancer", taxonomy)
    assert "loss-of-spouse" in weights(understood)
    assert "cancer-caregivers" not in weights(understood)


def test_a_phrase_naming_a_concern_exactly_is_not_read_as_a_relationship(
    taxonomy: Taxonomy,
) -> None:
    understood = understand("adult children of alcoholics", taxonomy)
    assert understood.concerns[0] == "adult-children-alcoholics"
    assert "families-of-addicts" not in understood.concerns
    (clause,) = understood.clauses  # "alcoholics" inside it: Alcohol ranks, never widens
    assert clause.concerns == ("adult-children-alcoholics",) and clause.related == ("alcohol",)


def test_two_concerns_at_once_need_either_and_plain_words_are_required(
    taxonomy: Taxonomy,
) -> None:
    understood = understand("depression and anxiety toronto", taxonomy)
    naming, plain = understood.requirements()
    assert {slug for clause in naming for slug in clause.concerns} == {"depression", "anxiety"}
    assert [clause.words for clause in plain] == [("toronto",)]
    relaxed = understood.relaxed()
    assert relaxed.any_clause and all(clause.concerns for clause in relaxed.clauses)


def test_an_audience_is_understood_and_widens_only_its_own_clause(taxonomy: Taxonomy) -> None:
    understood = understand("gay teens", taxonomy)
    assert understood.concerns == ("lgbtq",)
    assert "teens" in understood.audiences
    teens = next(clause for clause in understood.clauses if "teens" in clause.words)
    assert teens.audiences == ("teens",)
    brother = understand("suicide of my brother", taxonomy).clauses[0]
    assert brother.audiences == ()  # "brother" must not let every men's group in


def test_words_that_name_nothing_are_all_required(taxonomy: Taxonomy) -> None:
    understood = understand("xyzzy plugh", taxonomy)
    assert not understood.named
    assert [clause.words for clause in understood.clauses] == [("xyzzy", "plugh")]
    assert understood.relaxed().clauses and understood.relaxed().any_clause


def test_misspelt_words_are_corrected_to_the_nearest_known_word(taxonomy: Taxonomy) -> None:
    def unknown(word: str) -> bool:
        return False

    assert correct("depresssion", taxonomy, unknown) == "depression"
    assert correct("alcoholsm support", taxonomy, unknown) == "alcoholism support"
    assert correct("grief", taxonomy, unknown) is None  # a taxonomy word is known
    assert correct("xyzzy", taxonomy, unknown) is None  # nothing near enough
    assert correct("ACoA", taxonomy, unknown) is None  # short words are left alone
    assert correct("toronto", taxonomy, lambda word: word == "toronto") is None
    assert correct("torontp", taxonomy, unknown, ["toronto"]) == "toronto"


def test_the_phrase_data_is_checked_against_the_taxonomy(
    taxonomy: Taxonomy, tmp_path: Path
) -> None:
    path = tmp_path / "phrases.json"
    path.write_text(json.dumps({"asked_as": {"no-such-concern": [[["son"], ["drinks"]]]}}))
    with pytest.raises(ValueError, match="no-such-concern"):
        Lexicon.load(taxonomy, path)
    path.write_text(json.dumps({"asked_as": {"alcohol": [[["@nowhere"]]]}}))
    with pytest.raises(ValueError, match="@nowhere"):
        Lexicon.load(taxonomy, path)
