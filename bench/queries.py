"""A fixed, seeded mix of distinct search queries drawn like real traffic, for every engine.

    from bench.queries import query_mix
    mix = query_mix()          # 1,200 queries, seed 13: the same list on every run

Words come from what people type: the lay queries in tests/data/relevance_queries.json and the
concern labels and synonyms of the taxonomy (seed_data/concerns.json), some misspelt.  Places
are ZIPs and "City, ST" drawn from the generator's geography (where people live) with 5–50 mile
radii; 0–3 facets from the facet registry; pages 1–3; some online-only.  Each query is a tuple
of request arguments, so the API, the /search page and the raw engine see the same thing.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from clearinghouse.geo import PlaceError, resolve_place
from clearinghouse.search.facets import FACETS
from clearinghouse.taxonomy import default_taxonomy
from indexer.generate.places import us_geography

ROOT = Path(__file__).resolve().parent.parent
LAY_QUERIES = ROOT / "tests" / "data" / "relevance_queries.json"
DEFAULT_COUNT = 1200
DEFAULT_SEED = 13
RADII = (5, 10, 10, 15, 25, 25, 50)  # miles; 10 and 25 are what the form offers first
PAGES = (1, 1, 1, 1, 1, 1, 2, 2, 3)  # most people stay on page one
# (kind, weight): how often each shape of query arrives.
KINDS = (
    ("words", 22),
    ("words+place", 26),
    ("place", 16),
    ("concern+place", 12),
    ("misspelt", 10),
    ("online", 9),
    ("facets", 5),
)


@dataclass(frozen=True)
class BenchQuery:
    kind: str
    args: tuple[tuple[str, str], ...]

    def path(self, endpoint: str) -> str:
        return f"{endpoint}?{urlencode(self.args)}"


@dataclass(frozen=True)
class _Words:
    lay: tuple[str, ...]  # whole queries people typed
    concern: tuple[str, ...]  # concern labels and synonyms
    slugs: tuple[str, ...]


@cache
def _words() -> _Words:
    lay = [entry["q"] for entry in json.loads(LAY_QUERIES.read_text())["queries"]]
    taxonomy = default_taxonomy()
    concern = sorted({t.label for t in taxonomy} | {s for t in taxonomy for s in t.synonyms})
    return _Words(tuple(sorted(set(lay))), tuple(concern), tuple(t.slug for t in taxonomy))


def misspell(rng: random.Random, word: str) -> str:
    """One typing slip: two letters swapped, one dropped, or one doubled."""
    letters = [i for i, c in enumerate(word) if c.isalpha()]
    if len(letters) < 4:
        return word + word[-1]
    i = rng.choice(letters[1:-1])
    slip = rng.randrange(3)
    if slip == 0 and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if slip < 2:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def _place(rng: random.Random) -> list[tuple[str, str]]:
    """A ZIP or "City, ST" where people live, with a radius; a city only if it resolves."""
    area = us_geography().pick(rng)
    near = area.code
    if rng.random() < 0.4:
        city = f"{area.city.title()}, {area.state}"
        try:
            resolve_place(city)
            near = city
        except PlaceError:
            pass  # an ambiguous or unknown post-office name: people would type the ZIP
    return [("near", near), ("radius", str(rng.choice(RADII)))]


def _facets(rng: random.Random, most: int) -> list[tuple[str, str]]:
    """0..most facet filters, each a value the registry offers (concern from the taxonomy)."""
    chosen = rng.sample(FACETS, rng.randint(0, most))
    args = []
    for spec in chosen:
        values = _words().slugs if spec.name == "concern" else tuple(spec.labels)
        args.append((spec.name, rng.choice(values)))
    return args


def _one(rng: random.Random, kind: str) -> list[tuple[str, str]]:
    words = _words()
    text = rng.choice(words.lay) if rng.random() < 0.5 else rng.choice(words.concern).lower()
    if kind == "words":
        args = [("q", text), *_facets(rng, 1)]
    elif kind == "words+place":
        args = [("q", text), *_place(rng), *_facets(rng, 2)]
    elif kind == "place":
        args = [*_place(rng), *_facets(rng, 3)]
    elif kind == "concern+place":
        args = [("concern", rng.choice(words.slugs)), *_place(rng), *_facets(rng, 2)]
    elif kind == "misspelt":
        args = [("q", misspell(rng, rng.choice(words.concern).lower()))]
        if rng.random() < 0.5:
            args += _place(rng)
    elif kind == "online":
        args = [("q", text), ("attendance", "online"), *_facets(rng, 1)]
    else:
        args = [*_facets(rng, 3)] or [("cost", "free")]
    page = rng.choice(PAGES)
    if page > 1:
        args.append(("page", str(page)))
    return args


def query_mix(count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> list[BenchQuery]:
    """`count` distinct queries, always the same ones for the same seed, in a fixed order."""
    rng = random.Random(seed)
    kinds = [kind for kind, _weight in KINDS]
    weights = [weight for _kind, weight in KINDS]
    seen: set[tuple[tuple[str, str], ...]] = set()
    mix: list[BenchQuery] = []
    for _attempt in range(count * 20):
        if len(mix) == count:
            break
        kind = rng.choices(kinds, weights)[0]
        args = _one(rng, kind)
        key = tuple(sorted(dict.fromkeys(args)))  # a facet drawn twice is one query
        if key in seen:
            continue
        seen.add(key)
        mix.append(BenchQuery(kind, tuple(dict.fromkeys(args))))
    if len(mix) < count:
        raise ValueError(f"only {len(mix)} distinct queries could be drawn, not {count}")
    return mix
