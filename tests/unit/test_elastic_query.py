"""The Elasticsearch engine's pure parts: text analysis like FTS5's, and the query bodies."""

from __future__ import annotations

import json
import sqlite3

import pytest

from clearinghouse.geo import point_place
from clearinghouse.search import elastic_query as build
from clearinghouse.search.base import SearchQuery
from clearinghouse.search.understanding import understand
from clearinghouse.taxonomy import default_taxonomy

TEXTS = [
    "Grieving Parents' Café — families & caregivers",
    "Alcoholics Anonymous: 12-step co-dependency meetings, don't drink",
    "Naïve ÜBER résumé Señora São Paulo",
    "Widows walking; happiness, anxiety, depression, running",
    "I drink too much",
]


def fts5_terms(text: str) -> list[str]:
    """The terms SQLite FTS5 indexes for `text` with the embedded engine's tokenizer."""
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter unicode61 remove_diacritics 2')"
    )
    db.execute("INSERT INTO t VALUES (?)", (text,))
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    return [row[0] for row in db.execute("SELECT term FROM v ORDER BY offset")]


@pytest.mark.parametrize("text", TEXTS)
def test_documents_are_stemmed_exactly_as_fts5_stems_them(text: str) -> None:
    assert build.stems(text).split() == fts5_terms(text)


def test_query_words_are_stemmed_and_the_last_may_be_a_prefix() -> None:
    query = build.text_query(SearchQuery(q="Grieving families caregiv"))
    assert query is not None
    text = json.dumps(query)
    for stem in ("griev", "famili", "caregiv"):
        assert f'"query": "{stem}"' in text
    assert '{"prefix": {"name_terms": "caregiv"}}' in text
    assert "fuzziness" not in text


def test_an_understood_clause_matches_its_words_or_its_concern() -> None:
    taxonomy = default_taxonomy()
    query = SearchQuery(q="AA", understood=understand("AA", taxonomy))
    body = json.dumps(build.hits_body(query, 0, 20))
    assert '{"terms": {"concerns": ["alcohol"]}}' in body
    assert "prefix" not in body  # an abbreviation is never a word start
    assert '"term": {"concerns": "alcohol"}' in body  # its weight in the score


@pytest.mark.parametrize("q", ["", "   ", '"( * \\ ) AND OR', "😀😀", "the and of"])
def test_text_without_words_adds_no_text_condition(q: str) -> None:
    assert build.text_query(SearchQuery(q=q)) is None


def test_no_query_syntax_reaches_elasticsearch() -> None:
    body = json.dumps(build.hits_body(SearchQuery(q='name:x* OR "a" ~2 \\'), 0, 20))
    assert "query_string" not in body and "simple_query_string" not in body


def test_the_mapping_is_strict_with_keyword_facets_and_a_geo_point() -> None:
    body = build.index_body()
    mappings = body["mappings"]
    assert mappings["dynamic"] == "strict"
    assert mappings["properties"]["location"] == {"type": "geo_point"}
    for field in build.FACET_FIELDS.values():
        assert mappings["properties"][field]["type"] == "keyword"
    assert body["settings"]["number_of_shards"] == 1
    assert body["settings"]["number_of_replicas"] == 0
    assert build.index_body(loading=True)["settings"]["refresh_interval"] == "-1"


def test_each_facet_is_counted_under_every_selection_but_its_own() -> None:
    query = SearchQuery(
        filters={"day": ("mon",), "cost": ("fee", "free")}, concern_filter=frozenset()
    )
    aggs = build.facets_body(query)["aggs"]
    day_filters = aggs["selected_day"]["filter"]["bool"]["filter"]
    assert day_filters == [{"terms": {"cost": ["fee", "free"]}}]
    cost_filters = aggs["selected_cost"]["filter"]["bool"]["filter"]
    assert cost_filters == [{"terms": {"days": ["mon"]}}]
    assert "day" not in aggs["unselected"]["aggs"] and "format" in aggs["unselected"]["aggs"]


def test_a_parent_concern_filters_on_its_children_too() -> None:
    query = SearchQuery(
        filters={"concern": ("grief-loss",)},
        concern_filter=frozenset({"grief-loss", "loss-of-spouse"}),
    )
    assert build.facet_filter(query, "concern") == {
        "terms": {"concerns": ["grief-loss", "loss-of-spouse"]}
    }


def test_pages_are_ordered_with_the_group_id_last() -> None:
    near = point_place(41.88, -87.63)
    for sort in ("relevance", "distance", "name", "updated"):
        for q in ("", "grief"):
            order = build.sort_clause(SearchQuery(q=q, near=near, sort=sort))
            assert order[-1] == {"id": {"order": "asc"}}, (sort, q)
