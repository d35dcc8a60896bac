"""HSDS 3.0's search parameters, read into the one SearchQuery that /api/v1/groups also runs.

`search` is the engine's free text, `taxonomy_term_id` a concern (children included) or an
attribute value, `postcode` the place and `proximity` the radius from its centre in metres.
Errors name the HSDS parameter, never the search parameter it became.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Final

from clearinghouse.hsds import mapping
from clearinghouse.search.base import KM_PER_MI, MAX_RADIUS_MI, SearchQuery
from clearinghouse.search.query import QueryError, parse_search_args
from clearinghouse.taxonomy import Taxonomy

ENGINE_PARAMS: Final = ("search", "taxonomy_term_id", "postcode", "proximity")
MAX_PROXIMITY_M: Final = math.floor(MAX_RADIUS_MI * KM_PER_MI) * 1000
_POSTCODE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]{1,9}")
# The search parameter each HSDS one becomes, to name the HSDS one in an error.
_HSDS_NAME: Final = {"q": "search", "near": "postcode", "radius": "proximity"}

Term = tuple[str, str, str | None]


def term_index(tax: Taxonomy) -> dict[str, Term]:
    """Term UUID → ("concern", slug, None) or ("attribute", facet, value-or-None)."""
    index: dict[str, Term] = {
        mapping.concern_term_id(term.slug): ("concern", term.slug, None) for term in tax
    }
    for facet, (_label, values) in mapping.ATTRIBUTE_FACETS.items():
        index[mapping.attribute_term_id(facet)] = ("attribute", facet, None)
        for value in values:
            index[mapping.attribute_term_id(facet, value)] = ("attribute", facet, value)
    return index


def find_term(term_id: str, tax: Taxonomy) -> Term:
    found = term_index(tax).get(term_id)
    if found is None:
        raise QueryError(
            "taxonomy_term_id", f"{term_id} is not a term here; see /hsds/taxonomy_terms"
        )
    return found


def services_query(
    args: Mapping[str, str], term_id: str | None, page: int, per_page: int, tax: Taxonomy
) -> SearchQuery:
    """The search for /hsds/services; `args` holds the HSDS parameters given (once each)."""
    search_args: dict[str, str] = {"page": str(page), "per_page": str(per_page)}
    if args.get("search"):
        search_args["q"] = args["search"]
    if term_id:
        kind, key, value = find_term(term_id, tax)
        if kind == "concern":
            search_args["concern"] = key
        elif value is not None:  # a whole attribute (every group has one) filters nothing
            search_args[key] = value
    postcode = (args.get("postcode") or "").strip()
    proximity = (args.get("proximity") or "").strip()
    if proximity and not postcode:
        raise QueryError("proximity", "give a postcode too: proximity is metres from its centre")
    if postcode:
        if not _POSTCODE.fullmatch(postcode):
            raise QueryError("postcode", f"{postcode[:20]!r} is not a postcode or ZIP code")
        search_args["near"] = postcode
    if proximity:
        search_args["radius"] = _kilometres(proximity)
        search_args["unit"] = "km"
    try:
        return parse_search_args(search_args, tax)
    except QueryError as error:
        raise QueryError(_HSDS_NAME.get(error.param, error.param), error.message) from None


def _kilometres(proximity: str) -> str:
    try:
        metres = float(proximity)
    except ValueError:
        raise QueryError("proximity", f"{proximity[:20]!r} is not a number of metres") from None
    if not (math.isfinite(metres) and 0 < metres <= MAX_PROXIMITY_M):
        raise QueryError(
            "proximity",
            f"{proximity[:20]!r} is out of range; use (0, {MAX_PROXIMITY_M}] metres",
        )
    return repr(metres / 1000)
