"""The facet registry is the one source: parser, OpenAPI, Elasticsearch and HSDS follow it."""

from __future__ import annotations

import dataclasses
import re

import pytest

from clearinghouse.api.openapi import search_parameters
from clearinghouse.hsds.mapping import ATTRIBUTE_FACETS, all_terms
from clearinghouse.search import elastic_query as build
from clearinghouse.search.base import ListingDoc
from clearinghouse.search.facets import BY_NAME, FACET_NAMES, FACETS, FacetSpec
from clearinghouse.search.query import QueryError, parse_search_args
from clearinghouse.taxonomy import Taxonomy

PLAIN = [spec for spec in FACETS if spec.labels]


def test_registry_names_and_fields_are_unique_and_documents_have_each_field() -> None:
    assert len(set(FACET_NAMES)) == len(FACETS) == len({spec.field for spec in FACETS})
    doc_fields = {field.name for field in dataclasses.fields(ListingDoc)}
    assert {spec.field for spec in FACETS} <= doc_fields
    assert BY_NAME.keys() == set(FACET_NAMES)


def test_every_labelled_value_is_allowed_and_aliases_lead_to_allowed_values() -> None:
    for spec in FACETS:
        assert set(spec.labels) <= set(spec.allowed), spec.name
        assert set(spec.aliases.values()) <= set(spec.allowed), spec.name


@pytest.mark.parametrize("spec", FACETS, ids=FACET_NAMES)
def test_openapi_documents_each_registry_facet_with_its_values(spec: FacetSpec) -> None:
    parameters = {parameter["name"]: parameter for parameter in search_parameters()}
    item = parameters[spec.name]["schema"]["items"]
    assert parameters[spec.name]["style"] == "form" and parameters[spec.name]["explode"]
    if spec.help:
        assert item["description"].lower() == spec.help.lower()
    else:
        listed = re.fullmatch(r"One of: (.+)", item["description"])
        assert listed is not None, item["description"]
        assert listed.group(1).split(", ") == list(spec.allowed)


def test_openapi_has_no_facet_the_registry_lacks() -> None:
    names = [parameter["name"] for parameter in search_parameters()]
    others = {"q", "near", "lat", "lon", "radius", "unit", "sort", "exact", "page", "per_page"}
    others |= {"starts_within", "tz"}  # not facets: when groups meet, and whose clock
    assert [name for name in names if name not in others] == list(FACET_NAMES)


@pytest.mark.parametrize("spec", PLAIN, ids=[spec.name for spec in PLAIN])
def test_parser_takes_exactly_the_registry_values(spec: FacetSpec, taxonomy: Taxonomy) -> None:
    for value in spec.allowed:
        assert parse_search_args({spec.name: value}, taxonomy).selected(spec.name) == (value,)
    for alias, value in spec.aliases.items():
        assert parse_search_args({spec.name: alias}, taxonomy).selected(spec.name) == (value,)
    with pytest.raises(QueryError) as error:
        parse_search_args({spec.name: "not-a-value"}, taxonomy)
    assert error.value.param == spec.name
    assert spec.describes_values in error.value.message


def test_elasticsearch_maps_and_aggregates_the_registry_fields(taxonomy: Taxonomy) -> None:
    properties = build.index_body()["mappings"]["properties"]
    for spec in FACETS:
        assert properties[spec.field] == {"type": "keyword", "eager_global_ordinals": True}
    body = build.facets_body(parse_search_args({}, taxonomy))
    terms = body["aggs"]["unselected"]["aggs"]
    assert {name: agg["terms"]["field"] for name, agg in terms.items()} == {
        spec.name: spec.field for spec in FACETS
    }


def test_hsds_attribute_terms_are_the_registry_values(taxonomy: Taxonomy) -> None:
    assert {
        spec.name: (spec.label, spec.labels) for spec in FACETS if spec.hsds_attribute
    } == ATTRIBUTE_FACETS
    codes = {term["code"] for term in all_terms(taxonomy) if term["code"] not in taxonomy}
    expected = {
        f"{spec.name}:{value}" for spec in FACETS if spec.hsds_attribute for value in spec.labels
    }
    assert expected | {spec.name for spec in FACETS if spec.hsds_attribute} == codes
