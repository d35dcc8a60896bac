"""Understanding what a person types: which concerns and audiences the words name, and who asks.

`understand(q, taxonomy)` turns the words of q into `Clause`s both engines match alike: a
clause holds when a group's text has every one of its words *or* the group has one of the
concerns (or audiences) those words name, so "AA" finds Alcohol groups by their concern and
never "AAPI" by a word start, and "my son uses drugs" finds Al-Anon-style family groups
that never say "son".  Words nothing names are required of the text as before (the last
one may be a word start: the person may still be typing).  Concerns carry weights for
ranking: concerns named by a relationship pattern (`seed_data/phrases.json`: a parent, a
partner, the bereaved, a carer) rank above the concerns the words name directly, which rank
above audiences.  `correct` fixes misspelt words against the taxonomy's words and an
index's vocabulary (rapidfuzz edit distance).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from rapidfuzz import process
from rapidfuzz.distance import OSA

from clearinghouse.search.base import Clause, Understood
from clearinghouse.search.query import search_words
from clearinghouse.taxonomy import DEFAULT_PATH, Taxonomy, tokens

PHRASES_PATH: Final = DEFAULT_PATH.with_name("phrases.json")
ASKED_WEIGHT: Final = 3  # a concern a relationship pattern names: who is asking
NAMED_WEIGHT: Final = 2  # a concern the words name
INNER_WEIGHT: Final = 1  # a concern named by words inside a longer phrase
AUDIENCE_WEIGHT: Final = 1
MIN_CORRECTABLE: Final = 4  # shorter words are abbreviations more often than typos

Span = tuple[int, int]  # (start, end) over the tokens of q


def plain(q: str) -> Understood:
    """Every word required of the text, the last a possible word start (nothing understood)."""
    words = tuple(search_words(q))
    return Understood(clauses=(Clause(words=words, prefix=True),) if words else ())


# -- the phrase data ------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    concern: str
    slots: tuple[tuple[str, ...], ...]  # each slot: phrases (space-joined tokens) or concern:SLUG
    unless: tuple[str, ...] = ()  # phrases that mean something else ("died": not a carer now)


@dataclass(frozen=True)
class Lexicon:
    """`seed_data/phrases.json`, checked against the taxonomy."""

    patterns: tuple[Pattern, ...] = ()
    audiences: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # phrase -> audiences
    filler: frozenset[str] = frozenset()

    @classmethod
    def load(cls, taxonomy: Taxonomy, path: Path = PHRASES_PATH) -> Lexicon:
        data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
        lists: dict[str, list[str]] = data.get("words", {})

        def expand(values: Iterable[str], seen: tuple[str, ...] = ()) -> list[str]:
            out: list[str] = []
            for value in values:
                if value.startswith("@"):
                    name = value[1:]
                    if name not in lists or name in seen:
                        raise ValueError(f"{path}: unknown or circular word list {value!r}")
                    out += expand(lists[name], (*seen, name))
                elif value.startswith("concern:"):
                    if value.removeprefix("concern:") not in taxonomy:
                        raise ValueError(f"{path}: {value!r} is not a concern")
                    out.append(value)
                else:
                    out.append(" ".join(tokens(value)))
            return out

        patterns = []
        for slug, slot_lists in data.get("asked_as", {}).items():
            if slug not in taxonomy:
                raise ValueError(f"{path}: asked_as {slug!r} is not a concern")
            for entry in slot_lists:
                slots = entry["when"] if isinstance(entry, dict) else entry
                unless = tuple(expand(entry.get("unless", []))) if isinstance(entry, dict) else ()
                patterns.append(Pattern(slug, tuple(tuple(expand(slot)) for slot in slots), unless))
        audiences: dict[str, tuple[str, ...]] = {}
        for audience, phrases in data.get("audiences", {}).items():
            for phrase in expand(phrases):
                audiences[phrase] = (*audiences.get(phrase, ()), audience)
        filler = frozenset(word for text in data.get("filler", []) for word in tokens(text))
        return cls(tuple(patterns), audiences, filler)


@functools.cache
def default_lexicon(taxonomy: Taxonomy) -> Lexicon:
    return Lexicon.load(taxonomy) if PHRASES_PATH.exists() else Lexicon()


# -- understanding q --------------------------------------------------------------------------


@dataclass
class _Meaning:
    covered: set[int]
    concerns: dict[str, int] = field(default_factory=dict)
    audiences: dict[str, int] = field(default_factory=dict)


def understand(q: str, taxonomy: Taxonomy, lexicon: Lexicon | None = None) -> Understood:
    """The clauses both engines match for q, with the concerns and audiences it names."""
    if lexicon is None:
        return _understood(q, taxonomy)
    return _understand(q, taxonomy, lexicon)


@functools.lru_cache(maxsize=4096)
def _understood(q: str, taxonomy: Taxonomy) -> Understood:
    # A pure function of q and the taxonomy (the answer is frozen): popular queries repeat.
    return _understand(q, taxonomy, default_lexicon(taxonomy))


def _understand(q: str, taxonomy: Taxonomy, lexicon: Lexicon) -> Understood:
    words = search_words(q)
    if not words:
        return Understood()
    toks = tokens(q[:2000])
    meanings = _concern_meanings(q, toks, taxonomy)
    phrase_spans = [(min(m.covered), max(m.covered) + 1) for m in meanings]
    meanings += _pattern_meanings(toks, lexicon, taxonomy, meanings, phrase_spans)
    meanings += _audience_meanings(toks, lexicon)
    groups = _merge(meanings)
    covered_words: list[set[str]] = [{toks[i] for i in group.covered} for group in groups]
    clauses: list[Clause] = []
    grouped: list[list[str]] = [[] for _ in groups]
    other: list[str] = []
    for word in words:
        token = tokens(word)[0] if tokens(word) else word
        index = next((i for i, found in enumerate(covered_words) if token in found), None)
        if index is not None:
            grouped[index].append(word)
        elif groups and (len(word) == 1 or token in lexicon.filler):
            continue  # "parkinson's" leaves an "s"; "my", "too much" say nothing of the group
        else:
            other.append(word)
    for group, group_words in zip(groups, grouped, strict=True):
        if group.concerns and all(len(word) <= 3 for word in group_words):
            # "AA", "ALS", "MS": an abbreviation means its concern, not every word its stem
            # shares ("als" -> "al", as in Al-Anon); it is found through the concern alone.
            group_words = []
        clauses.append(
            Clause(
                words=tuple(group_words),
                concerns=tuple(c for c, w in group.concerns.items() if w > INNER_WEIGHT),
                related=tuple(c for c, w in group.concerns.items() if w <= INNER_WEIGHT),
                # An audience widens a clause only when no concern does ("teens" alone);
                # "my brother" must not let every men's group in.
                audiences=() if group.concerns else tuple(group.audiences),
            )
        )
    if other:
        clauses.append(Clause(words=tuple(other), prefix=other[-1] == words[-1]))
    concern_weights: dict[str, int] = {}
    audience_weights: dict[str, int] = {}
    for group in groups:
        for slug, weight in group.concerns.items():
            concern_weights[slug] = max(weight, concern_weights.get(slug, 0))
        for audience, weight in group.audiences.items():
            audience_weights[audience] = max(weight, audience_weights.get(audience, 0))
    loose = [w for w in words if len(w) > 2 and w not in lexicon.filler and tokens(w)]
    return Understood(
        clauses=tuple(clauses),
        concern_weights=tuple(concern_weights.items()),
        audience_weights=tuple(audience_weights.items()),
        loose_words=tuple(w for w in loose if tokens(w)[0] not in lexicon.filler),
    )


def _concern_meanings(q: str, toks: tuple[str, ...], taxonomy: Taxonomy) -> list[_Meaning]:
    """Concerns named by a phrase of q (or by the whole of q: "MS", "cutting")."""
    whole = taxonomy.lookup(q)
    spans = taxonomy.phrase_spans(toks)
    if whole is not None and toks:
        spans = [(0, len(toks), (whole,))]
    meanings = []
    for start, length, slugs in spans:
        concerns = dict.fromkeys(slugs, NAMED_WEIGHT)
        parents = {term.parent for slug in slugs if (term := taxonomy.get(slug)) is not None}
        # The words inside a longer phrase may name concerns of their own, below it:
        # "kidney transplant" is Kidney Disease, and Organ Transplant too.
        for inner in (toks[start : start + length - 1], toks[start + 1 : start + length]):
            for _start, _length, inner_slugs in taxonomy.phrase_spans(inner) if length > 1 else ():
                for slug in inner_slugs:
                    if slug not in parents:  # "disease" in "parkinsons disease" adds nothing
                        concerns.setdefault(slug, INNER_WEIGHT)
        meanings.append(_Meaning(set(range(start, start + length)), concerns))
    return meanings


def _occurrences(toks: tuple[str, ...], phrase: str) -> list[Span]:
    parts = _phrase_tokens(phrase)
    n = len(parts)
    if not n or parts[0] not in toks:  # most phrases of the lexicon are not in q at all
        return []
    return [(i, i + n) for i in range(len(toks) - n + 1) if toks[i : i + n] == parts]


@functools.lru_cache(maxsize=8192)
def _phrase_tokens(phrase: str) -> tuple[str, ...]:
    return tuple(phrase.split())


def _slot_spans(
    slot: tuple[str, ...], toks: tuple[str, ...], taxonomy: Taxonomy, named: list[_Meaning]
) -> list[Span]:
    spans: list[Span] = []
    for value in slot:
        if value.startswith("concern:"):
            wanted = value.removeprefix("concern:")
            for meaning in named:
                if any(
                    slug == wanted
                    or ((term := taxonomy.get(slug)) is not None and term.parent == wanted)
                    for slug in meaning.concerns
                ):
                    spans.append((min(meaning.covered), max(meaning.covered) + 1))
        else:
            spans += _occurrences(toks, value)
    return spans


def _pattern_meanings(
    toks: tuple[str, ...],
    lexicon: Lexicon,
    taxonomy: Taxonomy,
    named: list[_Meaning],
    phrase_spans: list[Span],
) -> list[_Meaning]:
    """Concerns a relationship pattern names ("my son" + "uses"): who is asking."""
    found = []
    for pattern in lexicon.patterns:
        slot_spans = []
        for slot in pattern.slots:  # a slot with no span rules the pattern out: stop there
            spans = _slot_spans(slot, toks, taxonomy, named)
            if not spans:
                break
            slot_spans.append(spans)
        if len(slot_spans) < len(pattern.slots):
            continue
        if _slot_spans(pattern.unless, toks, taxonomy, named):
            continue
        picked = _distinct(slot_spans)
        if picked is None:
            continue
        covered = {i for start, end in picked for i in range(start, end)}
        inside = [
            meaning
            for meaning, (start, end) in zip(named, phrase_spans, strict=True)
            if start <= min(covered) and max(covered) < end
        ]
        if any(pattern.concern not in meaning.concerns for meaning in inside):
            continue  # inside a phrase that names another concern ("grieving parents")
        everything = {i for spans in slot_spans for start, end in spans for i in range(start, end)}
        found.append(_Meaning(everything, {pattern.concern: ASKED_WEIGHT}))
    return found


def _distinct(slot_spans: list[list[Span]]) -> list[Span] | None:
    """One span per slot, no two overlapping ("suicide" cannot be both the act and the loss)."""
    if not slot_spans:
        return []
    first, rest = slot_spans[0], slot_spans[1:]
    for span in first:
        others = [[s for s in spans if s[1] <= span[0] or s[0] >= span[1]] for spans in rest]
        tail = _distinct(others)
        if tail is not None:
            return [span, *tail]
    return None


def _audience_meanings(toks: tuple[str, ...], lexicon: Lexicon) -> list[_Meaning]:
    found = []
    for phrase, audiences in lexicon.audiences.items():
        for start, end in _occurrences(toks, phrase):
            found.append(_Meaning(set(range(start, end)), audiences=dict.fromkeys(audiences, 1)))
    return found


def _merge(meanings: list[_Meaning]) -> list[_Meaning]:
    """Meanings that share a word become one clause ("my son uses drugs": families and drugs)."""
    groups: list[_Meaning] = []
    for meaning in meanings:
        merged = _Meaning(set(meaning.covered), dict(meaning.concerns), dict(meaning.audiences))
        for group in [g for g in groups if g.covered & merged.covered]:
            groups.remove(group)
            merged.covered |= group.covered
            for slug, weight in group.concerns.items():
                merged.concerns[slug] = max(weight, merged.concerns.get(slug, 0))
            for audience, weight in group.audiences.items():
                merged.audiences[audience] = max(weight, merged.audiences.get(audience, 0))
        groups.append(merged)
    groups.sort(key=lambda group: min(group.covered))
    return groups


# -- misspellings ----------------------------------------------------------------------------


@functools.cache
def taxonomy_words(taxonomy: Taxonomy) -> tuple[str, ...]:
    """Every word of the concerns' labels and synonyms and of the phrase data, as typed."""
    texts: list[str] = []
    for term in taxonomy:
        texts += [term.label, *term.synonyms]
    lexicon = default_lexicon(taxonomy)
    texts += [*lexicon.audiences]
    words = {word for text in texts for word in search_words(text)}
    return tuple(sorted(words))


def correct(
    q: str,
    taxonomy: Taxonomy,
    is_known: Callable[[str], bool],
    index_words: Collection[str] = (),
) -> str | None:
    """q with each unknown word replaced by the nearest known one; None when nothing changed.

    A word is known when the taxonomy has it or `is_known` says the index has it;
    candidates are the taxonomy's words, then `index_words`, nearest first.  Up to one edit
    (a swap of two letters is one) for words of up to 5 letters, two beyond; shorter words
    and numbers are left alone.
    """
    vocabulary = taxonomy_words(taxonomy)
    ours = frozenset(vocabulary)
    extra = (
        _candidates(index_words)
        if isinstance(index_words, frozenset)
        else _correctable(index_words)
    )
    searched = set(search_words(q))
    changed = False
    out = []
    for word in search_words(q, keep_all=True):
        if (
            word not in searched
            or len(word) < MIN_CORRECTABLE
            or not word.isalpha()
            or word in ours
            or is_known(word)
        ):
            out.append(word)
            continue
        limit = 1 if len(word) <= 5 else 2
        best: tuple[str, float] | None = None
        for choices in (vocabulary, extra):
            match = process.extractOne(word, choices, scorer=OSA.distance, score_cutoff=limit)
            if match is not None and (best is None or match[1] < best[1]):
                best = (str(match[0]), float(match[1]))
        if best is None:
            out.append(word)
        else:
            out.append(best[0])
            changed = True
    return " ".join(out) if changed else None


def _correctable(index_words: Collection[str]) -> tuple[str, ...]:
    """The index's words a misspelling may be corrected to."""
    return tuple(word for word in index_words if word.isalpha() and len(word) >= 3)


# An engine holds one frozenset vocabulary until its index changes; filtering 60k words
# cost more than matching against them, so the filtered words are kept per vocabulary.
_candidates = functools.lru_cache(maxsize=4)(_correctable)
