"""Elasticsearch mapping, documents, query bodies and answers read back (pure, no I/O).

Text is analysed here, in Python, rather than by Elasticsearch: Elastic's runnable
distribution on Maven Central (what the tests run) ships without the `analysis-common`
module, so it has no stemmer, ASCII-folding or synonym filters.  Tokens are made the way
SQLite FTS5's `porter unicode61 remove_diacritics 2` tokenizer makes them (letters and
digits, accents folded, lower case, Porter stems), so both engines match the same words.
The taxonomy's lay synonyms are indexed through `concern_text`, which the one document
builder fills with each concern's label and synonyms: a search-time synonym filter would
also expand words found in names and descriptions, which the embedded engine cannot do.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

import snowballstemmer

from clearinghouse.search.base import Hit, ListingDoc, SearchQuery, SearchResult
from clearinghouse.search.embedded_search import (
    WEIGHT_SCORE,
    WHOLE_WORDS_SCORE,
    haversine_mi,
)
from clearinghouse.search.facets import FACETS
from clearinghouse.search.query import search_words
from clearinghouse.search.understanding import Clause, Understood, plain
from clearinghouse.search.when import (
    clock,
    daylight_zones,
    utc_slots,
    week_minute_utc,
    when_plan,
)

# The searchable text fields and their weights: the embedded engine's bm25 column weights.
TEXT_FIELDS = {"name": 10.0, "concern_text": 5.0, "organization": 2.0, "description": 1.0}
# Facet name -> the keyword field holding its values (named as on ListingDoc).
FACET_FIELDS = {spec.name: spec.field for spec in FACETS}
FACET_SIZE = 1000  # more than any facet has values (the taxonomy has ~130 concerns)
ONLINE_LIMIT = 10  # online and phone groups listed beside a place search
MAX_WORD_CHARS = 100
LOADING_SETTINGS = {"refresh_interval": "-1", "translog.durability": "async"}

_WORD = re.compile(r"[^\W_]+")
_STEMMER = snowballstemmer.stemmer("porter")


def words(text: str) -> list[str]:
    """Lower-case, accent-free runs of letters and digits, as FTS5's unicode61 splits them.

    Documents keep their stop words (as FTS5 does); `q` loses them in `search_words`.
    """
    if not text.isascii():  # most text is: skip the (slow) accent folding
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _WORD.findall(text.lower())


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


@functools.lru_cache(maxsize=4096)  # concern texts and organisations repeat
def stems(text: str) -> str:
    """The Porter stems of `text`, space-separated (the field's analyzer splits them apart)."""
    return " ".join(_STEMMER.stemWords(words(text)))


# When a group meets (search/when.py): its zone and weekly slots in local minutes as ranges
# (the "When" filter), and as nested UTC slots under each of the zone's offsets ("Soonest
# first": the runnable distribution has no scripting, so the order is made of plain sorts).
WHEN_PROPERTIES: dict[str, Any] = {
    "meet_zone": {"type": "keyword"},
    "meet_slots": {"type": "integer_range"},
    "meet": {
        "type": "nested",
        "properties": {
            "zone": {"type": "keyword"},
            "dst": {"type": "boolean"},
            "start": {"type": "integer"},
            "end": {"type": "integer"},
            "on": {"type": "integer"},  # always 1: sorts the groups meeting now together
        },
    },
}


def index_body(shards: int = 1, replicas: int = 0, loading: bool = False) -> dict[str, Any]:
    """Settings and the strict mapping; `loading` turns refresh off for a bulk build."""
    # Stems only (the store keeps the text); no positions, as nothing matches phrases.
    # Word starts of 2–10 letters are indexed too, so the last word's prefix query ("caregiv")
    # reads one term instead of expanding over every word that begins alike.
    text = {
        "type": "text",
        "analyzer": "terms",
        "index_options": "freqs",
        "index_prefixes": {"min_chars": 2, "max_chars": 10},
    }
    keyword = {"type": "keyword"}
    # Facet counts need global ordinals: build them at refresh, not in the next search.
    facet = {"type": "keyword", "eager_global_ordinals": True}
    properties: dict[str, Any] = {
        "id": {"type": "long"},
        "uuid": {"type": "keyword", "index": False},
        **{f"{field}_terms": text for field in TEXT_FIELDS},
        **{field: facet for field in FACET_FIELDS.values()},
        "service_area": keyword,
        "region": keyword,
        "location": {"type": "geo_point"},
        "remote": {"type": "boolean"},
        "name_sort": keyword,
        "updated_at": {"type": "date_nanos"},
        "standing": {"type": "byte"},
        **WHEN_PROPERTIES,
    }
    settings: dict[str, Any] = {
        "number_of_shards": shards,
        "number_of_replicas": replicas,
        # Tokens arrive analysed; the standard tokenizer (the only one in every distribution)
        # keeps each run of letters and digits whole, so this just splits them apart again.
        "analysis": {"analyzer": {"terms": {"type": "custom", "tokenizer": "standard"}}},
    }
    if loading:  # a bulk build: no refreshes, and no fsync per request (it can start over)
        settings.update(LOADING_SETTINGS)
    mappings = {
        "dynamic": "strict",
        # The stems are only for matching: keep stored documents small (the store has the text).
        "_source": {"excludes": [f"{field}_terms" for field in TEXT_FIELDS]},
        "properties": properties,
    }
    return {"settings": settings, "mappings": mappings}


def document(doc: ListingDoc) -> dict[str, Any]:
    """The indexed form of a ListingDoc: stems, facet keywords, sort keys and the point."""
    return {
        "id": doc.id,
        "uuid": doc.uuid,
        "name_sort": doc.name_sort,
        "updated_at": doc.updated_at,
        "standing": doc.standing,
        "location": {"lat": doc.lat, "lon": doc.lon} if doc.has_place else None,
        "service_area": list(doc.service_area),
        "region": doc.region,
        # Joins online or by phone: listed beside place searches when it has no place.
        "remote": "online" in doc.attendance or "phone" in doc.attendance,
        "name_terms": stems(doc.name),
        "concern_text_terms": stems(doc.concern_text),
        "organization_terms": stems(doc.organization),
        "description_terms": stems(doc.description),
        **{field: getattr(doc, field) for field in FACET_FIELDS.values()},
        "meet_zone": doc.meet_zone,
        "meet_slots": [{"gte": start, "lt": end} for start, end in doc.meet_slots],
        "meet": [
            {"zone": doc.meet_zone, "dst": slot.dst, "start": slot.start, "end": slot.end, "on": 1}
            for slot in utc_slots(doc.meet_zone, doc.meet_slots)
        ],
    }


def understood_of(query: SearchQuery) -> Understood:
    return query.understood or plain(query.q)


def text_query(query: SearchQuery) -> dict[str, Any] | None:
    """The understood clauses (`Understood.requirements`: all of, each any of), as the
    embedded engine matches them; None when q holds no words.

    A clause holds when a document has its words (stemmed alike; the last may be a word
    start) or one of its concerns or audiences.  Scores as the embedded engine's: whole
    words over word starts, and BM25 only without a place (there distance decides among
    equals); the weights of named concerns come from `weights`.
    """
    understood = understood_of(query)
    if not understood.clauses:
        return None
    scored = query.near is None
    return {
        "bool": {
            "must": [
                {
                    "bool": {
                        "should": [_clause(c, scored) for c in any_of],
                        "minimum_should_match": 1,
                    }
                }
                for any_of in understood.requirements()
            ]
        }
    }


def _clause(clause: Clause, scored: bool) -> dict[str, Any]:
    options: list[dict[str, Any]] = []
    stemmed = [stem(word[:MAX_WORD_CHARS]) for word in clause.words]
    if stemmed:
        whole = {"bool": {"must": [word_query(term) for term in stemmed]}}
        options.append({"constant_score": {"filter": whole, "boost": WHOLE_WORDS_SCORE}})
        if scored:
            options.append(whole)
        if clause.prefix:
            # The last word may be unfinished: "caregiv" finds "caregivers" (FTS5's "word"*).
            last = {
                "bool": {"should": [{"prefix": {f"{f}_terms": stemmed[-1]}} for f in TEXT_FIELDS]}
            }
            started = {"bool": {"must": [*map(word_query, stemmed[:-1]), last]}}
            options.append(
                started if scored else {"constant_score": {"filter": started, "boost": 0}}
            )
    for field, values in (("concerns", clause.concerns), ("audience", clause.audiences)):
        if values:
            options.append(
                {"constant_score": {"filter": {"terms": {field: list(values)}}, "boost": 0}}
            )
    return {"bool": {"should": options, "minimum_should_match": 1}}


def word_query(term: str) -> dict[str, Any]:
    # Summed over the fields a word is found in, like FTS5's bm25 over columns.
    fields = [f"{field}_terms^{boost:g}" for field, boost in TEXT_FIELDS.items()]
    return {"multi_match": {"query": term, "fields": fields, "type": "most_fields"}}


def weights(query: SearchQuery) -> list[dict[str, Any]]:
    """Optional clauses adding each named concern's and audience's weight to a group's score."""
    understood = understood_of(query)
    clauses = []
    for field, named in (
        ("concerns", understood.concern_weights),
        ("audience", understood.audience_weights),
    ):
        for value, weight in named:
            clauses.append(
                {
                    "constant_score": {
                        "filter": {"term": {field: value}},
                        "boost": weight * WEIGHT_SCORE,
                    }
                }
            )
    return clauses


def facet_filter(query: SearchQuery, facet: str) -> dict[str, Any] | None:
    """The filter one facet's selection adds (values OR'd); None when nothing is selected."""
    if not query.selected(facet):
        return None
    values = sorted(query.concern_filter) if facet == "concern" else list(query.selected(facet))
    return {"terms": {FACET_FIELDS[facet]: values}}


def facet_filters(query: SearchQuery, skip: str | None = None) -> list[dict[str, Any]]:
    return [
        clause
        for facet in FACET_FIELDS
        if facet != skip and (clause := facet_filter(query, facet)) is not None
    ]


def geo_filter(query: SearchQuery) -> dict[str, Any]:
    assert query.near is not None
    return {
        "geo_distance": {
            "distance": f"{query.radius_mi}mi",
            "location": {"lat": query.near.lat, "lon": query.near.lon},
        }
    }


# Every order's first key (documents.standing_of); a document indexed before the field
# existed counts as normal until the standing job or a rebuild rewrites it.
STANDING_SORT: dict[str, Any] = {"standing": {"order": "asc", "missing": 0}}


def when_filter(query: SearchQuery) -> dict[str, Any]:
    """Groups with a meeting in the query's window, each zone's window in its own minutes."""
    plan = when_plan(query.starts_within, clock(query.now), query.viewer_tz)
    options = []
    for window in plan:
        zone = {"terms": {"meet_zone": list(window.zones)}}
        if window.remote == window.in_person:
            options.append({"bool": {"filter": [zone, _slots_in(window.remote)]}})
            continue
        for remote in (True, False):
            kind = {"term": {"remote": remote}}
            options.append({"bool": {"filter": [zone, kind, _slots_in(window.ranges(remote))]}})
    return {"bool": {"should": options, "minimum_should_match": 1}}


def _slots_in(ranges: tuple[tuple[int, int], ...]) -> dict[str, Any]:
    found = [
        {"range": {"meet_slots": {"gte": lo, "lt": hi, "relation": "intersects"}}}
        for lo, hi in ranges
    ]
    return {"bool": {"should": found, "minimum_should_match": 1}}


def _current_slots(query: SearchQuery) -> tuple[int, dict[str, Any]]:
    """Now in UTC minutes of the week, and a nested filter for the slots under the offset
    each zone has now."""
    now = clock(query.now)
    daylight = list(daylight_zones(now))
    on_daylight = [{"terms": {"meet.zone": daylight}}, {"term": {"meet.dst": True}}]
    on_standard = {
        "bool": {
            "filter": [{"term": {"meet.dst": False}}],
            "must_not": [{"terms": {"meet.zone": daylight}}],
        }
    }
    options = [{"bool": {"filter": on_daylight}}, on_standard]
    return week_minute_utc(now), {"bool": {"should": options, "minimum_should_match": 1}}


def meeting_now(query: SearchQuery) -> dict[str, Any]:
    """Groups with a meeting in progress."""
    minute, current = _current_slots(query)
    on = [
        current,
        {"range": {"meet.start": {"lte": minute}}},
        {"range": {"meet.end": {"gt": minute}}},
    ]
    return {"nested": {"path": "meet", "query": {"bool": {"filter": on}}}}


def soonest_sort(query: SearchQuery) -> list[dict[str, Any]]:
    """Groups not meeting now, by their next start later in the (UTC) week, then by their
    first start of the next week; ties by name.  With `meeting_now` first (`soonest_split`),
    this is `when.soonest_key`'s order without scripts, which the runnable distribution lacks.
    Meetings with no zone are read as UTC here (the other engines read them on the
    searcher's clock).
    """
    minute, current = _current_slots(query)

    def nested(*conditions: dict[str, Any]) -> dict[str, Any]:
        wanted = {"bool": {"filter": [current, *conditions]}}
        order = {"order": "asc", "mode": "min", "missing": "_last"}
        return {"meet.start": order | {"nested": {"path": "meet", "filter": wanted}}}

    soonest = [nested({"range": {"meet.start": {"gte": minute}}}), nested()]
    return [STANDING_SORT, *soonest, *NAME_SORT[1:]]


def soonest_split(body: dict[str, Any], query: SearchQuery) -> list[dict[str, Any]]:
    """A search body as two: the groups meeting now (by name), then the rest, soonest first."""
    now = meeting_now(query)
    on = {"bool": {"must": [body["query"]], "filter": [now]}}
    rest = {"bool": {"must": [body["query"]], "must_not": [now]}}
    return [
        body | {"query": on, "sort": NAME_SORT},
        body | {"query": rest, "sort": soonest_sort(query)},
    ]


def hits_bodies(query: SearchQuery, offset: int, size: int) -> list[dict[str, Any]]:
    """The bodies whose hits, one after the other, make the page (`read_hits`)."""
    if query.sort != "soonest":
        return [hits_body(query, offset, size)]
    return soonest_split(hits_body(query, 0, offset + size), query)


def online_bodies(query: SearchQuery) -> list[dict[str, Any]]:
    if query.sort != "soonest":
        return [online_body(query)]
    return soonest_split(online_body(query), query)


def read_hits(
    responses: list[dict[str, Any]], query: SearchQuery | None, offset: int, size: int
) -> tuple[tuple[Hit, ...], int]:
    """The page's hits and the total from `hits_bodies`' or `online_bodies`' answers."""
    # filter_path leaves out what is empty: no hits means no "hits.hits" at all.
    if len(responses) == 1:
        only = responses[0]["hits"]
        return tuple(read_hit(hit, query) for hit in only.get("hits", ())), only["total"]["value"]
    # Both parts are in standing order first (its value leads each hit's sort values), so a
    # stable sort by standing interleaves them as one order: meeting now, then the rest,
    # within each standing.
    found = [hit for response in responses for hit in response["hits"].get("hits", ())]
    found.sort(key=lambda hit: hit["sort"][0] if hit.get("sort") else 0)
    total = sum(response["hits"]["total"]["value"] for response in responses)
    return tuple(read_hit(hit, query) for hit in found[offset : offset + size]), total


def sort_clause(query: SearchQuery) -> list[dict[str, Any]]:
    """The requested order, with the group id last so pages never overlap or skip."""
    tiebreak = {"id": {"order": "asc"}}
    if query.sort == "soonest":
        return soonest_sort(query)
    if query.sort == "distance":
        if query.near is None:
            return [STANDING_SORT, tiebreak]
        point = {"lat": query.near.lat, "lon": query.near.lon}
        distance = {"location": point, "order": "asc", "unit": "mi", "distance_type": "arc"}
        return [STANDING_SORT, {"_geo_distance": distance}, tiebreak]
    if query.sort == "updated":
        return [STANDING_SORT, {"updated_at": {"order": "desc"}}, tiebreak]
    return relevance_sort(query) if query.sort == "relevance" else NAME_SORT


NAME_SORT: list[dict[str, Any]] = [
    STANDING_SORT,
    {"name_sort": {"order": "asc"}},
    {"id": {"order": "asc"}},
]


def relevance_sort(query: SearchQuery) -> list[dict[str, Any]]:
    """Best match first, then nearer, then by name; without words every score ties, so
    just by name (which lets Elasticsearch skip documents that cannot make the page)."""
    if not search_words(query.q):
        return NAME_SORT
    if query.near is None:
        return [STANDING_SORT, {"_score": {"order": "desc"}}, *NAME_SORT[1:]]
    point = {"lat": query.near.lat, "lon": query.near.lon}
    distance = {"location": point, "order": "asc", "unit": "mi", "distance_type": "arc"}
    return [
        STANDING_SORT,
        {"_score": {"order": "desc"}},
        {"_geo_distance": distance},
        *NAME_SORT[1:],
    ]


def scope(query: SearchQuery, scored: bool = True) -> dict[str, Any]:
    """The text and the place: what every count and hit is within."""
    text = text_query(query)
    filters = [geo_filter(query)] if query.near is not None else []
    if query.starts_within:
        filters.append(when_filter(query))
    if text is None:
        return {"bool": {"filter": filters}} if filters else {"match_all": {}}
    if not scored:
        return {"bool": {"filter": [text, *filters]}}
    return {"bool": {"must": [text], "should": weights(query), "filter": filters}}


def hits_body(query: SearchQuery, offset: int, size: int) -> dict[str, Any]:
    """One page of the matching groups in order, and their total."""
    base = scope(query)
    selections = facet_filters(query)
    if selections:
        base = {"bool": {"must": [base], "filter": selections}}
    return {
        "query": base,
        "sort": sort_clause(query),
        "track_scores": True,
        "track_total_hits": True,
        "from": offset,
        "size": size,
        "_source": ["location"] if query.near is not None else False,  # for the distance
    }


def facets_body(query: SearchQuery) -> dict[str, Any]:
    """Disjunctive facet counts: each facet counted under every selection but its own.

    Unselected facets share one filter (all selections); a selected facet gets its own.
    Asking for no hits lets Elasticsearch cache the answer until the index next changes.
    """
    terms = {
        facet: {"terms": {"field": field, "size": FACET_SIZE}}
        for facet, field in FACET_FIELDS.items()
    }
    selected = [facet for facet in FACET_FIELDS if query.selected(facet)]
    aggs: dict[str, Any] = {
        "unselected": {
            "filter": {"bool": {"filter": facet_filters(query)}},
            "aggs": {facet: terms[facet] for facet in FACET_FIELDS if facet not in selected},
        }
    }
    for facet in selected:
        aggs[f"selected_{facet}"] = {
            "filter": {"bool": {"filter": facet_filters(query, skip=facet)}},
            "aggs": {facet: terms[facet]},
        }
    return {"query": scope(query, scored=False), "aggs": aggs, "size": 0}


def facet_buckets(aggregations: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The terms buckets of each facet, from however `facets_body` grouped them."""
    found: dict[str, list[dict[str, Any]]] = {}
    for group in aggregations.values():
        for facet in FACET_FIELDS:
            if facet in group:
                found[facet] = group[facet].get("buckets", [])
    return found


def online_body(query: SearchQuery) -> dict[str, Any]:
    """Online- and phone-only groups matching the text and facets, in the place's service area."""
    assert query.near is not None
    text = text_query(query)
    serves_everywhere = {"bool": {"must_not": [{"exists": {"field": "service_area"}}]}}
    area: list[dict[str, Any]] = [serves_everywhere]
    if query.near.region:
        area.append({"term": {"service_area": query.near.region}})
    filters = [
        {"term": {"remote": True}},
        {"bool": {"must_not": [{"exists": {"field": "location"}}]}},
        {"bool": {"should": area, "minimum_should_match": 1}},
        *facet_filters(query),
    ]
    if query.starts_within:
        filters.append(when_filter(query))
    return {
        "query": {
            "bool": {
                "must": [text] if text else [{"match_all": {}}],
                "should": weights(query),
                "filter": filters,
            }
        },
        "sort": relevance_sort(query),
        "track_scores": True,
        "track_total_hits": True,
        "size": ONLINE_LIMIT,
        "_source": False,
    }


# -- reading answers ---------------------------------------------------------------------


def read_hit(hit: dict[str, Any], query: SearchQuery | None) -> Hit:
    """A hit with its distance from the place searched, when there was one."""
    distance = None
    location = (hit.get("_source") or {}).get("location")
    if query is not None and query.near is not None and location:
        # The great-circle distance the radius filter used, computed as the embedded engine does.
        distance = haversine_mi(query.near.lat, query.near.lon, location["lat"], location["lon"])
    return Hit(id=int(hit["_id"]), score=float(hit.get("_score") or 0.0), distance_mi=distance)


def read_facets(aggregations: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Counts of the facet values matching groups have; like the embedded engine, no zeros
    (`service.run_search` shows selected values at zero)."""
    found = facet_buckets(aggregations)
    return {
        facet: {str(bucket["key"]): int(bucket["doc_count"]) for bucket in found.get(facet, ())}
        for facet in FACET_FIELDS
    }


def empty_result() -> SearchResult:
    """The answer while no index exists yet."""
    facets: dict[str, dict[str, int]] = {facet: {} for facet in FACET_FIELDS}
    return SearchResult(hits=(), total=0, facets=facets)
