"""The one parser from request arguments (pages and API alike) to a validated SearchQuery.

`parse_search_args` either returns a `SearchQuery` or raises `QueryError` naming the bad
parameter and what is allowed; `query_to_args` turns a query back into canonical URL
arguments (for next/previous links and removing one facet chip).  `search_words` is the one
tokenizer of `q` that both engines use, so "AND", "(" or 5,000 characters can never break one.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Final

from clearinghouse.geo import AmbiguousPlace, Place, PlaceError, point_place, resolve_place
from clearinghouse.schedule import viewer_zone
from clearinghouse.search.base import (
    KM_PER_MI,
    MAX_PER_PAGE,
    MAX_RADIUS_MI,
    SORTS,
    SearchQuery,
)
from clearinghouse.search.facets import BY_NAME, DAY_WORDS, FACET_NAMES
from clearinghouse.search.when import DESCRIBES_WHEN, STARTS_WITHIN
from clearinghouse.taxonomy import Taxonomy

MAX_Q_CHARS: Final = 500
MAX_WORDS: Final = 32  # a q longer than this is a paste, not a search; the rest is ignored
DEFAULT_RADIUS: Final = 25.0
DEFAULT_PER_PAGE: Final = 20
# The deepest result either engine pages to (Elasticsearch's default max_result_window).
MAX_RESULT_WINDOW: Final = 10_000
UNITS: Final = ("mi", "km")
# Lucene's English stop words: dropped from q by both engines, so "AA in Chicago" asks for
# "aa" and "chicago", and a q of only stop words (or only punctuation) filters nothing.
_STOP_WORDS_TEXT = (
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with"
)
STOP_WORDS: Final = frozenset(_STOP_WORDS_TEXT.split())
# Words people add to almost every search here ("grief support group near me"): they say
# nothing about which group is meant, and requiring them would lose groups whose listing
# happens not to use them ("Al-Anon Family Group" for "alcohol support").  Dropped when
# another word remains; "support" alone still searches for it.
FILLER_WORDS: Final = frozenset(
    ["support", "supports", "group", "groups", "meeting", "meetings", "near", "me"]
)
_WORD: Final = re.compile(r"\w+", re.UNICODE)
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

Args = Mapping[str, Any]


class QueryError(ValueError):
    """A search parameter that cannot be used; `param` names it, `message` says what is allowed."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


def parse_search_args(args: Args, taxonomy: Taxonomy, now: datetime | None = None) -> SearchQuery:
    """Validate request arguments (a werkzeug MultiDict or a plain mapping) into a SearchQuery.

    `now` is the moment "When" and "Soonest first" are worked out for (default: the clock).
    """
    q = _q(_values(args, "q"))
    near, near_text = _place(args)
    unit = _choice(args, "unit", UNITS, "mi")
    radius = _radius(_one(args, "radius"), unit)
    filters: dict[str, tuple[str, ...]] = {}
    for facet in FACET_NAMES:
        raw = _list(args, facet)
        if raw:
            filters[facet] = (
                _concerns(raw, taxonomy) if facet == "concern" else _facet_values(facet, raw)
            )
    sort = _choice(args, "sort", SORTS, _default_sort(q, near))
    if sort == "distance" and near is None:
        raise QueryError("sort", "sort=distance needs a place: give near, or lat and lon")
    per_page = _integer(args, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    page = _integer(args, "page", 1, 1, MAX_RESULT_WINDOW // per_page)
    starts_within = _starts_within(_one(args, "starts_within"))
    timed = bool(starts_within) or sort == "soonest"
    return SearchQuery(
        q=q,
        near=near,
        near_text=near_text,
        radius=radius,
        unit=unit,
        filters=filters,
        concern_filter=taxonomy.expand(filters.get("concern", ())),
        sort=sort,
        page=page,
        per_page=per_page,
        exact=_choice(args, "exact", ("0", "1"), "0") == "1",
        starts_within=starts_within,
        # A `tz` that is not a real zone is ignored, never an error (as on the results page).
        viewer_tz=viewer_zone(near.timezone if near else None, _one(args, "tz")),
        now=(now or current_time()) if timed else None,
    )


def current_time() -> datetime:
    """The moment a search is made (one place to read the clock, and to set it in tests)."""
    return datetime.now(UTC)


def _starts_within(text: str) -> str:
    """A "When" value: now, 3h, today or a weekday (any case; day names too)."""
    value = text.lower().replace(" ", "")
    if not value:
        return ""
    value = DAY_WORDS.get(value, value)
    if value not in STARTS_WITHIN:
        raise QueryError("starts_within", f"{_show(text)} is not allowed; use {DESCRIBES_WHEN}")
    return value


def _default_sort(q: str, near: Place | None) -> str:
    """By distance for a place alone; with words, by relevance (nearer first among equals)."""
    return "distance" if near is not None and not search_words(q) else "relevance"


def search_words(q: str, keep_all: bool = False) -> list[str]:
    """The words of q both engines match: lower-case, accent-free, at most 32, without stop
    words and (when others remain) filler words; `keep_all` keeps those (to show q again)."""
    text = unicodedata.normalize("NFKD", q)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    words = _WORD.findall(text.replace("_", " "))
    if keep_all:
        return words[: MAX_WORDS * 2]
    words = [word for word in words if word not in STOP_WORDS]
    meaningful = [word for word in words if word not in FILLER_WORDS]
    return (meaningful or words)[:MAX_WORDS]


# -- building URLs back from a query -----------------------------------------------------


def query_to_args(query: SearchQuery) -> list[tuple[str, str]]:
    """Canonical URL arguments that parse back to the same query (defaults left out)."""
    args: list[tuple[str, str]] = []
    if query.q:
        args.append(("q", query.q))
    if query.near is not None:
        if query.near_text:
            args.append(("near", query.near_text))
        else:
            args += [("lat", _number(query.near.lat)), ("lon", _number(query.near.lon))]
    if query.near is not None or query.radius != DEFAULT_RADIUS:
        args.append(("radius", _number(query.radius)))
    if query.unit != "mi":
        args.append(("unit", query.unit))
    for facet in FACET_NAMES:
        args += [(facet, value) for value in query.selected(facet)]
    if query.starts_within:
        args.append(("starts_within", query.starts_within))
    if query.sort != _default_sort(query.q, query.near):
        args.append(("sort", query.sort))
    if query.exact:
        args.append(("exact", "1"))
    if query.page != 1:
        args.append(("page", str(query.page)))
    if query.per_page != DEFAULT_PER_PAGE:
        args.append(("per_page", str(query.per_page)))
    if query.viewer_tz and (query.near is None or query.viewer_tz != query.near.timezone):
        args.append(("tz", query.viewer_tz))
    return args


def args_for_page(query: SearchQuery, page: int) -> list[tuple[str, str]]:
    """The arguments of the same search on another page."""
    return query_to_args(replace(query, page=page))


def args_without(query: SearchQuery, facet: str, value: str | None = None) -> list[tuple[str, str]]:
    """The arguments with one facet value (or the whole facet) removed, back on page 1."""
    kept = {
        name: tuple(v for v in values if value is not None and v != value)
        if name == facet
        else values
        for name, values in query.filters.items()
    }
    filters = {name: values for name, values in kept.items() if values}
    return query_to_args(replace(query, filters=filters, page=1))


def args_exactly_as_typed(query: SearchQuery) -> list[tuple[str, str]]:
    """The arguments of the same search without spelling correction, back on page 1."""
    return query_to_args(replace(query, exact=True, page=1))


def _number(value: float) -> str:
    text = repr(float(value))
    return text.removesuffix(".0")


# -- reading parameters ------------------------------------------------------------------


def _values(args: Args, name: str) -> list[str]:
    """Every value given for `name`, whatever mapping the arguments came in."""
    getlist = getattr(args, "getlist", None)
    if callable(getlist):
        raw: Any = getlist(name)
    else:
        raw = args.get(name)
    if raw is None:
        return []
    items = list(raw) if isinstance(raw, list | tuple) else [raw]
    return [str(item) for item in items]


def _one(args: Args, name: str) -> str:
    """The single value of a scalar parameter ("" when absent); conflicting repeats are an error."""
    values = list(dict.fromkeys(value.strip() for value in _values(args, name)))
    values = [value for value in values if value] or [""]
    if len(values) > 1:
        shown = ", ".join(_show(value) for value in values[:3])
        raise QueryError(name, f"give one value, not several ({shown})")
    return values[0]


def _list(args: Args, name: str) -> list[str]:
    """A repeatable parameter's values, split on commas, trimmed, without empties or repeats."""
    values: list[str] = []
    for value in _values(args, name):
        values.extend(part.strip() for part in value.split(","))
    return list(dict.fromkeys(value for value in values if value))


def _show(value: str, limit: int = 40) -> str:
    value = _CONTROL.sub("", value)
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")


def _q(values: Sequence[str]) -> str:
    """Free text: the first non-blank value, control characters removed, trimmed, capped."""
    for value in values:
        text = " ".join(_CONTROL.sub(" ", value).split())
        if text:
            return text[:MAX_Q_CHARS].strip()
    return ""


def _choice(args: Args, name: str, allowed: Sequence[str], default: str) -> str:
    value = _one(args, name).lower()
    if not value:
        return default
    if value not in allowed:
        raise QueryError(name, f"{_show(value)} is not allowed; use one of: {', '.join(allowed)}")
    return value


def _float(name: str, text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise QueryError(name, f"{_show(text)} is not a number") from None
    if not math.isfinite(number):
        raise QueryError(name, f"{_show(text)} is not a finite number")
    return number


def _integer(args: Args, name: str, default: int, low: int, high: int) -> int:
    text = _one(args, name)
    if not text:
        return default
    try:
        number = int(text)
    except ValueError:
        raise QueryError(name, f"{_show(text)} is not a whole number") from None
    if not low <= number <= high:
        extra = ""
        if name == "page":
            extra = f" (results stop at {MAX_RESULT_WINDOW:,}; narrow the search to see more)"
        raise QueryError(name, f"{number} is out of range; use {low} to {high}{extra}")
    return number


def _radius(text: str, unit: str) -> float:
    if not text:
        return DEFAULT_RADIUS
    radius = _float("radius", text)
    limit = MAX_RADIUS_MI if unit == "mi" else math.floor(MAX_RADIUS_MI * KM_PER_MI)
    if not 0 < radius <= limit:
        raise QueryError(
            "radius", f"{_show(text)} is out of range; use more than 0 and at most {limit:g} {unit}"
        )
    return radius


def _place(args: Args) -> tuple[Place | None, str]:
    """A place from lat + lon (they win over near, as a "use my location" button sends both)."""
    lat_text, lon_text = _one(args, "lat"), _one(args, "lon")
    near_text = _one(args, "near")
    if lat_text or lon_text:
        if not (lat_text and lon_text):
            missing = "lon" if lat_text else "lat"
            raise QueryError(missing, "give both lat and lon (decimal degrees), or neither")
        lat, lon = _float("lat", lat_text), _float("lon", lon_text)
        if not -90 <= lat <= 90:
            raise QueryError("lat", f"{_show(lat_text)} is out of range; use -90 to 90")
        if not -180 <= lon <= 180:
            raise QueryError("lon", f"{_show(lon_text)} is out of range; use -180 to 180")
        try:
            return point_place(lat, lon), ""
        except PlaceError as error:
            raise QueryError("lat", error.message) from None
    if not near_text:
        return None, ""
    try:
        return resolve_place(near_text), " ".join(near_text.split())
    except AmbiguousPlace as error:
        raise QueryError("near", error.message) from None
    except PlaceError as error:
        raise QueryError("near", error.message) from None


def _concerns(values: list[str], taxonomy: Taxonomy) -> tuple[str, ...]:
    """Concern slugs; a label or synonym that names exactly one concern is accepted too."""
    slugs: list[str] = []
    for value in values:
        slug = taxonomy.lookup(value)  # any case; a slug wins over a label over a synonym
        if slug is None:
            raise QueryError(
                "concern",
                f"{_show(value)} is not a concern; use a slug from /concerns (e.g. grief-loss)",
            )
        if slug not in slugs:
            slugs.append(slug)
    return tuple(slugs)


def _facet_values(facet: str, values: list[str]) -> tuple[str, ...]:
    """Registry values; any case, spaces or underscores for hyphens, or a known alias."""
    spec = BY_NAME[facet]
    chosen: list[str] = []
    for value in values:
        code: str | None = value.lower().replace("_", "-").replace(" ", "-")
        if code not in spec.allowed:
            code = spec.aliases.get(value.lower())  # every alias leads to an allowed value
        if code is None:
            raise QueryError(facet, f"{_show(value)} is not allowed; use {spec.describes_values}")
        if code not in chosen:
            chosen.append(code)
    return tuple(chosen)
