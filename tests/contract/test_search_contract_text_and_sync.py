"""The search semantics (docs/architecture.md), part two: text, bad input, order and pages, the
service layer, and keeping the index in step with the store — on every engine (see conftest.py).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask

from clearinghouse.extensions import db
from clearinghouse.models import Group
from clearinghouse.search.base import SearchBackend
from clearinghouse.search.facets import FACET_NAMES
from clearinghouse.search.query import QueryError
from clearinghouse.store import apply_listing, delete_group, set_status
from clearinghouse.taxonomy import Taxonomy
from indexer.sync import public_documents, rebuild, sync
from tests.contract.conftest import (
    ACTIVE,
    ALL,
    CORPUS,
    HERE,
    Corpus,
    keys_of,
    ordered_keys,
    parse,
    store_listing,
)
from tests.contract.search_corpus import listing

pytestmark = pytest.mark.search


# -- text ------------------------------------------------------------------------------------


def test_lay_synonyms_find_concerns(corpus: Corpus) -> None:
    alcohol = corpus.expected(("concern", "alcohol"))
    assert alcohol <= keys_of(corpus, ("q", "AA"))
    assert alcohol <= keys_of(corpus, ("q", "drinking"))
    grief = {key for key in ACTIVE if "grief-loss" in CORPUS[key][1]["concerns"]}
    assert grief <= keys_of(corpus, ("q", "bereavement"))
    assert "c03" in keys_of(corpus, ("q", "widow"))


def test_a_parent_concerns_words_find_its_childrens_groups(corpus: Corpus) -> None:
    depression = corpus.expected(("concern", "depression"))
    assert depression and depression <= keys_of(corpus, ("q", "mental health"))
    assert corpus.expected(("concern", "alcohol")) <= keys_of(corpus, ("q", "addiction"))


def test_stemming_and_prefixes(corpus: Corpus) -> None:
    assert "c10" in keys_of(corpus, ("q", "parent"))
    assert "c10" in keys_of(corpus, ("q", "parents"))
    assert "c10" in keys_of(corpus, ("q", "parenting"))
    assert {"c07", "o05"} <= keys_of(corpus, ("q", "depres"))
    assert "c05" in keys_of(corpus, ("q", "alcoholicos"))  # accents folded


def test_every_word_must_match_somewhere(corpus: Corpus) -> None:
    assert keys_of(corpus, ("q", "widow toronto")) == set()  # no group has both words
    assert keys_of(corpus, ("q", "Toronto bereavement")) == {"t01"}
    assert keys_of(corpus, ("q", "grief in the circle")) >= {"c01"}  # stop words ignored
    # Filler words people add ("... support group near me") never narrow the search.
    assert keys_of(corpus, ("q", "bereavement support group near me")) == keys_of(
        corpus, ("q", "bereavement")
    )


def test_name_matches_rank_above_description_matches(corpus: Corpus) -> None:
    order = ordered_keys(corpus, ("q", "coffee"))
    assert set(order) == {"c03", "s03", "c16"}
    assert order[-1] == "c16"  # only its description says coffee


def test_text_combines_with_place_and_facets(corpus: Corpus) -> None:
    found = keys_of(corpus, ("q", "grief"), *HERE, ("day", "mon"), ("day", "tue"))
    assert found == {"c01", "c15"}


def test_misspellings_are_corrected_and_said_so(corpus: Corpus) -> None:
    assert corpus.search(("q", "greif")).total == 0  # the engine matches words as given
    page = corpus.page(("q", "greif"), ("per_page", "100"))
    assert page.reading is not None and page.reading.corrected == "grief"
    assert page.reading.notice == "Showing results for “grief”."
    assert {"c01", "c14"} <= corpus.keys(hit.group.id for hit in page.groups)
    exactly = corpus.page(("q", "greif"), ("exact", "1"))
    assert exactly.total == 0 and exactly.reading is not None
    assert exactly.reading.corrected is None


# Where the engines differ, said here and nowhere else: only the embedded engine hands
# `read_search` its whole vocabulary (FTS5's), so only there is a misspelt word corrected to
# a word the index alone holds, such as a town in a group's name; Elasticsearch and the
# database engine correct against the taxonomy's words (concern labels and synonyms).
CORRECTS_TO_INDEX_WORDS = {"embedded": True, "elasticsearch": False, "database": False}


def test_a_misspelling_of_a_word_only_the_index_holds(corpus: Corpus) -> None:
    page = corpus.page(("q", "toronot"))
    assert page.reading is not None
    if CORRECTS_TO_INDEX_WORDS[corpus.engine.split("-")[0]]:  # elasticsearch-8 -> elasticsearch
        assert page.reading.corrected == "toronto"
        assert "t01" in corpus.keys(hit.group.id for hit in page.groups)
    else:
        assert page.reading.corrected is None
        assert page.total == 0


def test_a_word_the_index_holds_is_never_corrected(corpus: Corpus) -> None:
    page = corpus.page(("q", "toronto bereavement"))
    assert page.reading is not None and page.reading.corrected is None
    assert corpus.keys(hit.group.id for hit in page.groups) == {"t01"}


def test_words_no_group_holds_together_fall_back_to_the_concern_named(corpus: Corpus) -> None:
    page = corpus.page(("q", "widow toronto"), ("per_page", "100"))
    assert page.reading is not None and page.reading.relaxed
    assert page.reading.concerns[0] == ("loss-of-spouse", "Loss of a Spouse or Partner")
    assert page.reading.notice == (
        "No group mentions every word of “widow toronto”;"
        " showing groups for “Loss of a Spouse or Partner”."
    )
    found = corpus.keys(hit.group.id for hit in page.groups)
    assert "c03" in found
    assert all("loss-of-spouse" in {c.slug for c in hit.group.concerns} for hit in page.groups)


def test_an_abbreviation_finds_its_concern_before_longer_words(corpus: Corpus) -> None:
    page = corpus.page(("q", "AA"), ("per_page", "100"))
    alcohol = corpus.expected(("concern", "alcohol"))
    found = [corpus.key(hit.group.id) for hit in page.groups]
    assert set(found[: len(alcohol)]) == alcohol


def test_a_concern_match_ranks_above_a_mention_in_a_description(corpus: Corpus) -> None:
    page = corpus.page(("q", "depression"), ("per_page", "100"))
    concerned = ["depression" in {c.slug for c in hit.group.concerns} for hit in page.groups]
    assert concerned == sorted(concerned, reverse=True)  # every concern match comes first


NASTY = [
    '"',
    '"unbalanced',
    "(",
    ")",
    "*",
    "\\",
    "AND",
    "OR",
    "NOT grief",
    "grief AND",
    "NEAR(grief alcohol)",
    "name:grief",
    "grief~2",
    "parkinsson's",  # a word ("s") whose stem is empty
    "gr?ef",
    "[a TO z]",
    "{}",
    "^3",
    "-",
    "+grief -alcohol",
    "😀",
    "grief 😀 group",
    "'; DROP TABLE docs; --",
    "1' OR '1'='1",
    "/regex.*/",
    "\x00",
    "x" * 5000,
    "grief " * 1000,
    "中文 互助",
    "ü" * 300,
]


@pytest.mark.parametrize("text", NASTY, ids=range(len(NASTY)))
def test_any_text_is_a_sensible_answer(corpus: Corpus, text: str) -> None:
    for extra in ((), HERE, (("concern", "grief-loss"), ("sort", "name"))):
        result = corpus.search(("q", text), *extra, *ALL)
        found = [hit.id for hit in result.hits]
        assert result.total == len(found) == len(set(found)), "all fit on one page, once each"
        # Words narrow a search and never widen it.
        assert corpus.keys(found) <= keys_of(corpus, *extra)


@pytest.mark.parametrize(
    ("noisy", "plain"),
    [("grief 😀 group", "grief group"), ("grief " * 1000, "grief"), ("GRIEF", "grief")],
    ids=["emoji", "repeated", "case"],
)
def test_noise_around_words_finds_what_the_words_find(
    corpus: Corpus, noisy: str, plain: str
) -> None:
    assert keys_of(corpus, ("q", noisy)) == keys_of(corpus, ("q", plain))
    assert keys_of(corpus, ("q", plain))


@pytest.mark.parametrize(
    ("pairs", "param"),
    [
        ((("radius", "-1"),), "radius"),
        ((("radius", "1e9"),), "radius"),
        ((("lat", "91"), ("lon", "0")), "lat"),
        ((("lat", "40"), ("lon", "abc")), "lon"),
        ((("near", "Nowhereville, ZZ"),), "near"),
        ((("page", "0"),), "page"),
        ((("per_page", "10000"),), "per_page"),
        ((("concern", "unicorns"),), "concern"),
        ((("day", "someday"),), "day"),
        ((("sort", "distance"),), "sort"),
    ],
)
def test_bad_parameters_are_rejected_before_any_engine(
    pairs: tuple[tuple[str, str], ...], param: str
) -> None:
    with pytest.raises(QueryError) as caught:
        parse(*pairs)
    assert caught.value.param == param


# -- order and pages -------------------------------------------------------------------------


def test_sort_by_name(corpus: Corpus) -> None:
    result = corpus.search(("sort", "name"), *ALL)
    names = [(corpus.docs[h.id].name_sort, h.id) for h in result.hits]
    assert names == sorted(names)


def test_sort_by_updated_newest_first(corpus: Corpus) -> None:
    result = corpus.search(("sort", "updated"), *ALL)
    stamps = [corpus.docs[h.id].updated_at for h in result.hits]
    assert stamps == sorted(stamps, reverse=True)


def test_relevance_without_text_is_by_name(corpus: Corpus) -> None:
    assert ordered_keys(corpus) == ordered_keys(corpus, ("sort", "name"))


@pytest.mark.parametrize(
    "pairs",
    [
        (("sort", "name"),),
        (("sort", "updated"),),
        (),
        (*HERE, ("radius", "500")),
        (*HERE, ("radius", "500"), ("sort", "name")),
        (("q", "group"),),
        (("attendance", "in-person"),),
    ],
)
@pytest.mark.parametrize("per_page", [1, 4, 7])
def test_pages_hold_every_match_exactly_once(
    corpus: Corpus, pairs: tuple[tuple[str, str], ...], per_page: int
) -> None:
    everything = [hit.id for hit in corpus.search(*pairs, *ALL).hits]
    paged: list[int] = []
    page = 1
    while True:
        result = corpus.search(*pairs, ("per_page", str(per_page)), ("page", str(page)))
        assert result.total == len(everything)
        if not result.hits:
            break
        assert len(result.hits) <= per_page
        paged.extend(hit.id for hit in result.hits)
        page += 1
    assert paged == everything
    assert len(set(paged)) == len(paged)


def test_a_page_past_the_end_is_empty(corpus: Corpus) -> None:
    result = corpus.search(("page", "50"))
    assert result.hits == () and result.total == len(ACTIVE)


# -- the service layer -----------------------------------------------------------------------


def test_run_search_hydrates_groups_in_rank_order(corpus: Corpus) -> None:
    page = corpus.page(*HERE, ("concern", "grief-loss"))
    result = corpus.search(*HERE, ("concern", "grief-loss"))
    assert [hit.group.id for hit in page.groups] == [hit.id for hit in result.hits]
    assert all(hit.group.status == "active" for hit in page.groups)
    assert page.groups[0].distance_mi == result.hits[0].distance_mi
    assert [hit.group.id for hit in page.online] == [hit.id for hit in result.online]
    assert [facet.name for facet in page.facets] == list(FACET_NAMES)


# -- keeping the index in step ---------------------------------------------------------------


def test_edits_deletes_and_status_changes_follow_after_sync(
    app: Flask, taxonomy: Taxonomy, fresh_backend: SearchBackend
) -> None:
    kept = store_listing(listing("Kept Grief Circle", ["grief-loss"]), taxonomy)
    renamed = store_listing(listing("Old Name Circle", ["grief-loss"]), taxonomy)
    archived = store_listing(listing("Soon Archived Group", ["grief-loss"]), taxonomy)
    deleted = store_listing(listing("Soon Deleted Group", ["grief-loss"]), taxonomy)
    paused = store_listing(listing("Soon Inactive Group", ["grief-loss"]), taxonomy)
    pending = store_listing(listing("Pending Group", ["grief-loss"]), taxonomy, status="pending")
    sync(db.session, fresh_backend, taxonomy)
    ids = {g.id for g in (kept, renamed, archived, deleted, paused)}
    assert set(fresh_backend.indexed()) == ids
    assert pending.id not in fresh_backend.indexed()

    data = _data(listing("Brand New Name Circle", ["alcohol"]), taxonomy)
    apply_listing(db.session, data, actor="test", group=renamed)
    set_status(db.session, archived, "archived", actor="test")
    set_status(db.session, paused, "inactive", actor="test")
    set_status(db.session, pending, "active", actor="test")
    delete_group(db.session, db.session.get(Group, deleted.id), actor="test")  # type: ignore[arg-type]
    db.session.commit()
    sync(db.session, fresh_backend, taxonomy)

    active = {kept.id, renamed.id, pending.id}
    assert set(fresh_backend.indexed()) == active
    assert fresh_backend.indexed()[renamed.id] == renamed.updated_at.isoformat(
        timespec="microseconds"
    )
    assert _ids(fresh_backend, ("q", "brand new")) == {renamed.id}
    assert _ids(fresh_backend, ("q", "old name")) == set()
    assert _ids(fresh_backend, ("concern", "alcohol")) == {renamed.id}
    assert _ids(fresh_backend, ("concern", "grief-loss")) == {kept.id, pending.id}
    # Counts follow too (the database engine keeps the whole table's counts as it writes).
    browse, by_concern = parse(), parse(("concern", "alcohol"))
    synced = [fresh_backend.search(query) for query in (browse, by_concern)]
    assert synced[0].total == 3 and synced[0].facets["concern"]["grief-loss"] == 2
    assert synced[1].total == 1  # its concern's counts are still the whole table's:
    assert (synced[1].facets["concern"]["alcohol"], synced[1].facets["concern"]["grief-loss"]) == (
        1,
        2,
    )
    # Applying the same changes again changes nothing (the outbox is idempotent).
    rebuild(db.session, fresh_backend, taxonomy)
    sync(db.session, fresh_backend, taxonomy)
    assert set(fresh_backend.indexed()) == active
    rebuilt = [fresh_backend.search(query) for query in (browse, by_concern)]
    assert [(r.total, r.facets) for r in rebuilt] == [(r.total, r.facets) for r in synced]


def test_words_searched_just_before_an_edit_find_what_it_changed(
    app: Flask, taxonomy: Taxonomy, fresh_backend: SearchBackend
) -> None:
    """An engine may keep what words matched, but only for what it had indexed then."""
    first = store_listing(listing("Harbor Grief Circle", ["grief-loss"]), taxonomy)
    sync(db.session, fresh_backend, taxonomy)
    assert _ids(fresh_backend, ("q", "harbor")) == {first.id}

    second = store_listing(listing("Harbor Light Group", ["grief-loss"]), taxonomy)
    sync(db.session, fresh_backend, taxonomy)
    assert _ids(fresh_backend, ("q", "harbor")) == {first.id, second.id}

    apply_listing(
        db.session,
        _data(listing("Quiet Grief Circle", ["grief-loss"]), taxonomy),
        actor="test",
        group=first,
    )
    db.session.commit()
    sync(db.session, fresh_backend, taxonomy)
    assert _ids(fresh_backend, ("q", "harbor")) == {second.id}
    assert _ids(fresh_backend, ("q", "quiet")) == {first.id}

    delete_group(db.session, second, actor="test")
    db.session.commit()
    sync(db.session, fresh_backend, taxonomy)
    assert _ids(fresh_backend, ("q", "harbor")) == set()


def test_rebuild_equals_sync(app: Flask, taxonomy: Taxonomy, fresh_backend: SearchBackend) -> None:
    for key in ("c01", "c03", "o02", "t01", "x01"):
        status, record = CORPUS[key]
        store_listing(record, taxonomy, status)
    sync(db.session, fresh_backend, taxonomy)
    synced = fresh_backend.indexed()
    facets = fresh_backend.search(parse()).facets
    assert rebuild(db.session, fresh_backend, taxonomy) == 4
    assert fresh_backend.indexed() == synced
    assert fresh_backend.search(parse()).facets == facets


def test_searches_keep_answering_during_a_rebuild(
    app: Flask, taxonomy: Taxonomy, fresh_backend: SearchBackend
) -> None:
    for index in range(30):
        store_listing(listing(f"Steady Group {index}", ["grief-loss"], miles=index), taxonomy)
    sync(db.session, fresh_backend, taxonomy)
    docs = list(public_documents(db.session, taxonomy))
    query = parse(("concern", "grief-loss"))
    totals: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def search_until_done() -> None:
        try:
            while not done.is_set():
                totals.append(fresh_backend.search(query).total)
        except BaseException as error:  # reported below
            errors.append(error)

    worker = threading.Thread(target=search_until_done)
    worker.start()
    try:
        for _ in range(3):
            fresh_backend.rebuild(iter(docs))
    finally:
        done.set()
        worker.join(timeout=60)
    assert not errors
    assert totals and set(totals) == {30}


def _data(record: dict[str, Any], taxonomy: Taxonomy) -> Any:
    from clearinghouse.geocoding import geocode_listing
    from clearinghouse.listings import validate_listing

    validation = validate_listing(record, taxonomy)
    assert validation.data is not None, validation.errors
    return geocode_listing(validation.data)[0]


def _ids(backend: SearchBackend, *pairs: tuple[str, str]) -> set[int]:
    return {hit.id for hit in backend.search(parse(*pairs, *ALL)).hits}
