"""Behaviour of the concern taxonomy: the shipped data, expansion, lookup and free-text resolve."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from clearinghouse.taxonomy import (
    DEFAULT_PATH,
    ConcernTerm,
    NationalResource,
    Taxonomy,
    default_taxonomy,
    normalize,
)


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return default_taxonomy()


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "concerns.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _parent(slug: str = "grief-loss", **extra: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "slug": slug,
        "label": "Grief & Loss",
        "description": "After a death.",
        "synonyms": ["grief"],
        "children": [],
    }
    entry.update(extra)
    return entry


# -- the shipped data ------------------------------------------------------------------------


def test_shipped_taxonomy_has_at_least_130_terms_in_two_levels(taxonomy: Taxonomy) -> None:
    terms = list(taxonomy)
    assert len(terms) >= 130
    assert len(terms) == len(taxonomy)
    assert 12 <= len(taxonomy.parents()) <= 16
    for term in terms:
        if term.parent is not None:
            parent = taxonomy.get(term.parent)
            assert parent is not None and parent.is_parent
            assert taxonomy.children(term.slug) == ()


def test_every_parent_has_children_and_a_national_resource(taxonomy: Taxonomy) -> None:
    for parent in taxonomy.parents():
        assert taxonomy.children(parent.slug), parent.slug
        assert parent.national, parent.slug


def test_slugs_are_unique_kebab_case(taxonomy: Taxonomy) -> None:
    slugs = [term.slug for term in taxonomy]
    assert len(slugs) == len(set(slugs))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug) for slug in slugs)


def test_every_term_has_description_and_lay_synonyms(taxonomy: Taxonomy) -> None:
    for term in taxonomy:
        assert term.description.endswith("."), term.slug
        english = [word for word in term.synonyms if word not in term.spanish_words]
        assert 2 <= len(english) <= 16, term.slug
        assert term.description_es.endswith("."), term.slug  # seed_data/concerns_es.json
        assert 1 <= len(term.spanish_words) <= 12, term.slug


def test_no_word_is_claimed_by_two_concerns(taxonomy: Taxonomy) -> None:
    assert taxonomy.ambiguous_keys() == {}


def test_national_resources_have_https_urls(taxonomy: Taxonomy) -> None:
    for term in taxonomy:
        for resource in term.national:
            assert resource.url.startswith("https://"), (term.slug, resource.name)
            if resource.phone is not None:
                assert re.fullmatch(r"(1-\d{3}-\d{3}-\d{4})|988|211", resource.phone)


def test_iteration_lists_each_parent_followed_by_its_children(taxonomy: Taxonomy) -> None:
    raw = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    expected = [s for p in raw for s in [p["slug"], *(c["slug"] for c in p["children"])]]
    assert [term.slug for term in taxonomy] == expected


def test_default_taxonomy_is_cached_per_path(tmp_path: Path) -> None:
    assert default_taxonomy() is default_taxonomy(DEFAULT_PATH)
    other = _write(tmp_path, [_parent()])
    assert default_taxonomy(other) is not default_taxonomy()
    assert len(default_taxonomy(other)) == 1


# -- structure and expansion ---------------------------------------------------------------


def test_get_and_contains(taxonomy: Taxonomy) -> None:
    alcohol = taxonomy.get("alcohol")
    assert isinstance(alcohol, ConcernTerm)
    assert alcohol.parent == "addiction-recovery"
    assert "alcohol" in taxonomy
    assert "no-such-concern" not in taxonomy
    assert taxonomy.get("no-such-concern") is None
    assert 42 not in taxonomy


def test_expand_parent_includes_its_children(taxonomy: Taxonomy) -> None:
    expanded = taxonomy.expand(["grief-loss"])
    assert {"grief-loss", "loss-of-a-child", "loss-of-spouse", "suicide-loss"} <= expanded
    assert expanded == {"grief-loss"} | {t.slug for t in taxonomy.children("grief-loss")}


def test_expand_child_is_just_itself_and_unknown_slugs_are_dropped(taxonomy: Taxonomy) -> None:
    assert taxonomy.expand(["alcohol", "bogus", ""]) == frozenset({"alcohol"})
    assert taxonomy.expand([]) == frozenset()


def test_children_of_a_child_or_unknown_slug_is_empty(taxonomy: Taxonomy) -> None:
    assert taxonomy.children("alcohol") == ()
    assert taxonomy.children("nope") == ()


def test_search_terms_are_label_then_synonyms(taxonomy: Taxonomy) -> None:
    terms = taxonomy.search_terms("alcohol")
    assert terms[0] == "Alcohol"
    assert {"AA", "drinking", "sober"} <= set(terms)
    assert taxonomy.search_terms("nope") == ()


# -- lookup (imports) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "slug"),
    [
        ("AA", "alcohol"),
        ("drinking", "alcohol"),
        ("Alcoholic", "alcohol"),
        ("Alcoholism", "alcohol"),
        ("sober", "alcohol"),
        ("NA", "drugs"),
        ("addict", "drugs"),
        ("drug addict", "drugs"),
        ("bereavement", "grief-loss"),
        ("Loss", "grief-loss"),
        ("death", "grief-loss"),
        ("mourning", "grief-loss"),
        ("Grief & Loss", "grief-loss"),
        ("grief and loss", "grief-loss"),
        ("Grief Support Group", "grief-loss"),
        ("widow", "loss-of-spouse"),
        ("Widowers", "loss-of-spouse"),
        ("lost my husband", "loss-of-spouse"),
        ("chemo", "cancer"),
        ("Tumor", "cancer"),
        ("Al-Anon", "families-of-addicts"),
        ("alanon", "families-of-addicts"),
        ("alcoholic spouse", "families-of-addicts"),
        ("Parkinson's", "parkinsons"),
        ("parkinsons disease", "parkinsons"),
        ("Crohns", "ibd"),
        ("ADD", "adhd"),
        ("LGBTQ+", "lgbtq"),
        ("loss-of-a-child", "loss-of-a-child"),
        ("Loss of a Child", "loss-of-a-child"),
        ("Depresión", "depression"),
        ("  DOMESTIC   violence!! ", "domestic-violence"),
    ],
)
def test_lookup_maps_feed_names_to_slugs(taxonomy: Taxonomy, value: str, slug: str) -> None:
    assert taxonomy.lookup(value) == slug


@pytest.mark.parametrize(
    "value", ["", "   ", "support group", "my son", "xyzzy", "grief counseling now"]
)
def test_lookup_is_exact_and_returns_none_otherwise(taxonomy: Taxonomy, value: str) -> None:
    assert taxonomy.lookup(value) is None


# -- resolve (free text) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("my son uses drugs", "drugs"),
        ("support after my husband died", "loss-of-spouse"),
        ("AA meetings near me", "alcohol"),
        ("I want to stop drinking", "alcohol"),
        ("grief group for parents who lost a child", "loss-of-a-child"),
        ("my wife has cancer", "cancer-caregivers"),
        ("caring for someone with dementia", "dementia-caregivers"),
        ("I was laid off last month", "job-loss"),
        ("panic attacks", "anxiety"),
        ("GRANDPARENTS RAISING GRANDCHILDREN", "kinship-care"),
        ("lost my son to suicide", "loss-of-a-child"),
        ("my husband hits me", "domestic-violence"),
        ("help for families of alcoholics: al-anon", "families-of-addicts"),
    ],
)
def test_resolve_finds_the_concern_first(taxonomy: Taxonomy, text: str, first: str) -> None:
    assert taxonomy.resolve(text)[0] == first


def test_resolve_finds_several_concerns_in_order(taxonomy: Taxonomy) -> None:
    assert taxonomy.resolve("I was laid off and feel lonely and depressed") == [
        "job-loss",
        "loneliness",
        "depression",
    ]
    assert taxonomy.resolve("lost my son to suicide") == ["loss-of-a-child", "suicide-loss"]
    assert set(taxonomy.resolve("caring for my mom with dementia")) == {
        "aging-parents",
        "dementia-caregivers",
    }


def test_resolve_prefers_the_longer_phrase_over_words_inside_it(taxonomy: Taxonomy) -> None:
    assert taxonomy.resolve("hearing loss") == ["hearing-loss"]
    assert taxonomy.resolve("postpartum depression") == ["postpartum"]
    assert taxonomy.resolve("alcoholic husband") == ["families-of-addicts"]


def test_resolve_ignores_common_words_that_are_also_acronyms(taxonomy: Taxonomy) -> None:
    assert taxonomy.resolve("how do I add a group") == []
    assert taxonomy.resolve("financial aid") == []
    assert taxonomy.resolve("ADD") == ["adhd"]


def test_resolve_matches_plurals_and_accents(taxonomy: Taxonomy) -> None:
    assert taxonomy.resolve("widows and widowers") == ["loss-of-spouse"]
    assert "depression" in taxonomy.resolve("grupo de depresión")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "🙂🙃🔥",
        "\x00\ufffd\u202e",
        "<script>alert(1)</script>",
        "a" * 5000,
        "'; DROP TABLE groups; --",
        "((((",
        "日本語のテキスト",
    ],
)
def test_resolve_of_garbage_returns_nothing(taxonomy: Taxonomy, text: str) -> None:
    assert taxonomy.resolve(text) == []


def test_resolve_of_long_text_is_sensible(taxonomy: Taxonomy) -> None:
    assert taxonomy.resolve("drugs " * 1000) == ["drugs"]
    assert taxonomy.resolve("grief 🙂 " * 800) == ["grief-loss"]


def test_resolve_never_raises_on_non_text(taxonomy: Taxonomy) -> None:
    assert taxonomy.resolve(None) == []  # type: ignore[arg-type]
    assert taxonomy.lookup(123) is None  # type: ignore[arg-type]


def test_normalize_is_case_punctuation_and_plural_insensitive() -> None:
    assert normalize("Grief & Loss!") == "grief and loss"
    assert normalize("Widows") == normalize("widow")
    assert normalize("Families") == normalize("family")
    assert normalize("HIV/AIDS") == "hiv aids"


# -- national resources ----------------------------------------------------------------------


def test_national_for_includes_parent_resources_once(taxonomy: Taxonomy) -> None:
    resources = taxonomy.national_for(["alcohol", "drugs", "unknown"])
    names = [resource.name for resource in resources]
    assert names[0] == "Alcoholics Anonymous"
    assert "Narcotics Anonymous" in names
    assert "SAMHSA National Helpline" in names
    assert len(names) == len(set(names))
    assert all(isinstance(resource, NationalResource) for resource in resources)


def test_national_for_grief_child_includes_griefshare(taxonomy: Taxonomy) -> None:
    names = [resource.name for resource in taxonomy.national_for(["loss-of-a-child"])]
    assert names == ["The Compassionate Friends", "GriefShare"]
    assert taxonomy.national_for([]) == []


# -- validation ------------------------------------------------------------------------------


def test_load_reads_a_valid_file(tmp_path: Path) -> None:
    child = {"slug": "pet-loss", "label": "Pet Loss", "description": "Pets.", "synonyms": []}
    loaded = Taxonomy.load(_write(tmp_path, [_parent(children=[child])]))
    assert [term.slug for term in loaded] == ["grief-loss", "pet-loss"]
    assert loaded.expand(["grief-loss"]) == {"grief-loss", "pet-loss"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"slug": "x"}, "must be a JSON list"),
        (["grief"], r"entry 0: must be an object"),
        ([_parent(synonym=["x"])], r"entry 0 \('grief-loss'\): unknown key 'synonym'"),
        ([_parent(slug="Grief Loss")], r"'slug' must be a kebab-case"),
        ([_parent(label="")], r"'label' must be a non-empty string"),
        ([_parent(synonyms="grief")], r"'synonyms' must be a list"),
        ([_parent(), _parent()], r"duplicate slug 'grief-loss'"),
        (
            [_parent(children=[{**_parent("pet-loss"), "children": []}])],
            r"child 0 \('pet-loss'\): unknown key 'children' \(only two levels",
        ),
        (
            [_parent(national=[{"name": "X", "url": "ftp://x"}])],
            r"national 0: 'url' must be an http\(s\) URL",
        ),
    ],
)
def test_load_rejects_malformed_file_naming_the_entry(
    tmp_path: Path, data: object, message: str
) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(ValueError, match=message) as excinfo:
        Taxonomy.load(path)
    assert str(path) in str(excinfo.value)


def test_load_rejects_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "concerns.json"
    path.write_text("[{", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        Taxonomy.load(path)
