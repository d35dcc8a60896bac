"""The concern taxonomy: a two-level list of what people seek support for, with lay synonyms.

Pure Python (no database, no Flask): loaded from ``seed_data/concerns.json`` (with the Spanish
labels, descriptions and lay synonyms of ``concerns_es.json`` beside it) and used by the
query parser (concern expansion), the document builder (synonyms in search text), imports
(mapping a feed's concern names to slugs) and the "no group near you" page (national resources).
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from clearinghouse.resources import resource_dir

DEFAULT_PATH = resource_dir("seed_data") / "concerns.json"

_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
_PARENT_KEYS = frozenset({"slug", "label", "description", "synonyms", "national", "children"})
_CHILD_KEYS = _PARENT_KEYS - {"children"}
_NATIONAL_KEYS = frozenset({"name", "url", "phone"})

# Words that stand for a concern only when they are the whole query ("ADD" typed alone means
# ADHD) but are too common to count as a match inside a sentence ("add", "pot", "men").
_WHOLE_QUERY_ONLY = frozenset(
    {
        "add",
        "pot",
        "weed",
        "crack",
        "ms",
        "ra",
        "cp",
        "mat",
        "cutting",
        "single",
        "black",
        "asian",
        "men",
        "women",
        "church",
        "faith",
        "recovery",
        "transition",
        "culture",
        "identity",
        "connection",
        "shelter",
        "cult",
        "trans",
        "spiritual",
        "religious",
    }
)
# Generic words a feed wraps around a concern name ("Grief Support Group", "Cancer Network").
_FILLER_WORDS = frozenset({"support", "group", "meeting", "circle", "network", "program"})
# Plural stripping would turn these into different words ("aids" -> "aid": financial aid).
_NO_STEM = frozenset({"aids", "diabetes", "herpes", "series", "news", "lens", "always"})
_MAX_RESOLVE_CHARS = 2000


@dataclass(frozen=True, slots=True)
class NationalResource:
    """A national organisation or hotline for a concern."""

    name: str
    url: str
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class ConcernTerm:
    """One concern: a parent (``parent is None``) or a child of a parent."""

    slug: str
    label: str
    description: str
    parent: str | None
    synonyms: tuple[str, ...] = ()  # English and Spanish lay words alike
    national: tuple[NationalResource, ...] = ()
    label_es: str = ""
    description_es: str = ""
    spanish_words: tuple[str, ...] = ()  # the Spanish label and synonyms (also in `synonyms`)

    @property
    def is_parent(self) -> bool:
        return self.parent is None


def _stem(token: str) -> str:
    """Strip a simple English plural so "drugs", "widows" and "families" match their singular."""
    if len(token) <= 3 or token in _NO_STEM or not token.isalpha():
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith("sses"):
        return token[:-2]
    if token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def _tokens(text: str) -> tuple[str, ...]:
    """Lower-case, accent-free, punctuation-free, singular tokens of ``text``."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("&", " and ")
    text = re.sub(r"['’`]", "", text)  # parkinson's -> parkinsons, can't -> cant
    text = re.sub(r"[\W_]+", " ", text)
    return tuple(_stem(token) for token in text.split())


def tokens(text: str) -> tuple[str, ...]:
    """The matching form of ``text``, as tokens: ``"Grief & Loss!"`` -> grief, and, loss."""
    return _tokens(text)


def normalize(text: str) -> str:
    """The form used for matching: ``"Grief & Loss!"`` -> ``"grief and loss"``."""
    return " ".join(_tokens(text))


class Taxonomy:
    """The loaded taxonomy: lookups by slug, expansion of parents, and free-text matching."""

    def __init__(self, terms: Iterable[ConcernTerm]) -> None:
        self._terms: dict[str, ConcernTerm] = {}
        self._children: dict[str, list[str]] = {}
        for term in terms:
            if term.slug in self._terms:
                raise ValueError(f"duplicate concern slug {term.slug!r}")
            if term.parent is None:
                self._children[term.slug] = []
            elif term.parent not in self._children:
                raise ValueError(f"concern {term.slug!r}: unknown parent {term.parent!r}")
            else:
                self._children[term.parent].append(term.slug)
            self._terms[term.slug] = term
        self._keys, self._ambiguous = self._build_keys()
        self._phrases = {
            key: slug for key, slug in self._keys.items() if key not in _WHOLE_QUERY_ONLY
        }
        self._claims = {
            key: self._ambiguous.get(key, (slug,)) for key, slug in self._phrases.items()
        }
        self._longest_phrase = max((len(key.split()) for key in self._phrases), default=0)

    # -- loading ---------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | None = None) -> Taxonomy:
        """Read and validate a taxonomy file; ``ValueError`` names the first bad entry."""
        path = Path(path) if path is not None else DEFAULT_PATH
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from exc
        try:
            taxonomy = cls.from_data(data)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc
        spanish = spanish_path(path)
        if not spanish.is_file():
            return taxonomy
        try:
            return taxonomy.with_spanish(json.loads(spanish.read_text(encoding="utf-8")))
        except (ValueError, json.JSONDecodeError) as exc:
            raise ValueError(f"{spanish}: {exc}") from exc

    def with_spanish(self, data: object) -> Taxonomy:
        """This taxonomy with each concern's Spanish label, description and lay synonyms.

        `data` maps a slug to {"label", "description", "synonyms"}; the Spanish label and
        synonyms are matched like the English ones, so "duelo" finds what "grief" finds.
        """
        if not isinstance(data, dict):
            raise ValueError("the Spanish concerns must be a JSON object keyed by slug")
        unknown = sorted(set(data) - set(self._terms) - {"about"})
        if unknown:
            raise ValueError(f"unknown concern slugs: {', '.join(unknown)}")
        terms = []
        for term in self._terms.values():
            entry = data.get(term.slug) or {}
            label = entry.get("label", "")
            synonyms = entry.get("synonyms", [])
            if not isinstance(label, str) or not isinstance(synonyms, list):
                raise ValueError(f"{term.slug!r}: 'label' must be text and 'synonyms' a list")
            extra = tuple(s for s in [label, *synonyms] if isinstance(s, str) and s.strip())
            terms.append(
                replace(
                    term,
                    synonyms=term.synonyms + tuple(s for s in extra if s not in term.synonyms),
                    label_es=label,
                    description_es=str(entry.get("description", "")),
                    spanish_words=extra,
                )
            )
        return Taxonomy(terms)

    @classmethod
    def from_data(cls, data: object) -> Taxonomy:
        """Build from the parsed JSON shape (a list of parents, each with ``children``)."""
        if not isinstance(data, list):
            raise ValueError("the taxonomy must be a JSON list of parent concerns")
        terms: list[ConcernTerm] = []
        for index, entry in enumerate(data):
            where = f"entry {index}"
            parent = _parse_term(entry, where, parent=None)
            terms.append(parent)
            children = entry.get("children", [])
            if not isinstance(children, list):
                raise ValueError(f"{where} ({parent.slug!r}): 'children' must be a list")
            for child_index, child in enumerate(children):
                child_where = f"{where} ({parent.slug!r}) child {child_index}"
                terms.append(_parse_term(child, child_where, parent=parent.slug))
        seen: dict[str, str] = {}
        for term in terms:
            if term.slug in seen:
                raise ValueError(
                    f"duplicate slug {term.slug!r} (also used under {seen[term.slug]})"
                )
            seen[term.slug] = term.parent or "the top level"
        return cls(terms)

    def _build_keys(self) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
        """Map normalised slug/label/synonym to slug; slugs win over labels over synonyms."""
        keys: dict[str, str] = {}
        claims: dict[str, set[str]] = {}
        for kind in ("slug", "label", "synonyms"):
            for term in self._terms.values():
                if kind == "slug":
                    values: tuple[str, ...] = (term.slug.replace("-", " "),)
                elif kind == "label":
                    values = (term.label,)
                else:
                    values = term.synonyms
                for value in values:
                    key = normalize(value)
                    if not key:
                        continue
                    keys.setdefault(key, term.slug)
                    claims.setdefault(key, set()).add(term.slug)
        ambiguous = {key: tuple(sorted(slugs)) for key, slugs in claims.items() if len(slugs) > 1}
        return keys, ambiguous

    # -- collection protocol ---------------------------------------------------------------

    def __contains__(self, slug: object) -> bool:
        return isinstance(slug, str) and slug in self._terms

    def __iter__(self) -> Iterator[ConcernTerm]:
        """All terms, each parent followed by its children, in file order."""
        for parent_slug, child_slugs in self._children.items():
            yield self._terms[parent_slug]
            for child_slug in child_slugs:
                yield self._terms[child_slug]

    def __len__(self) -> int:
        return len(self._terms)

    def get(self, slug: str) -> ConcernTerm | None:
        return self._terms.get(slug)

    def parents(self) -> tuple[ConcernTerm, ...]:
        return tuple(self._terms[slug] for slug in self._children)

    def children(self, slug: str) -> tuple[ConcernTerm, ...]:
        """The children of a parent; empty for a child or an unknown slug."""
        return tuple(self._terms[child] for child in self._children.get(slug, ()))

    # -- rules -----------------------------------------------------------------------------

    def expand(self, slugs: Iterable[str]) -> frozenset[str]:
        """The slugs plus the children of any parent among them; unknown slugs are dropped."""
        expanded: set[str] = set()
        for slug in slugs:
            if slug in self._terms:
                expanded.add(slug)
                expanded.update(self._children.get(slug, ()))
        return frozenset(expanded)

    def lookup(self, value: str) -> str | None:
        """The slug whose slug, label or synonym equals ``value`` ignoring case and punctuation.

        Generic words a feed wraps around a name ("Grief Support Group") are ignored at the
        ends, so partner feeds map cleanly; anything else must match exactly.
        """
        if not isinstance(value, str):
            return None
        tokens = list(_tokens(value[:_MAX_RESOLVE_CHARS]))
        slug = self._keys.get(" ".join(tokens))
        if slug is not None:
            return slug
        while tokens and tokens[-1] in _FILLER_WORDS:
            tokens.pop()
        while tokens and tokens[0] in _FILLER_WORDS:
            tokens.pop(0)
        return self._keys.get(" ".join(tokens)) if tokens else None

    def resolve(self, text: str) -> list[str]:
        """Concern slugs mentioned in free text, best first; ``[]`` when none (never raises).

        The whole text as a lookup comes first; then the longest phrases found inside the
        text (a phrase inside a longer match does not count separately), earliest first.
        """
        if not isinstance(text, str) or not text.strip():
            return []
        text = text[:_MAX_RESOLVE_CHARS]
        found: list[str] = []
        whole = self.lookup(text)
        if whole is not None:
            found.append(whole)
        tokens = _tokens(text)
        matches: list[tuple[int, int, str]] = []  # (length, start, slug)
        for start in range(len(tokens)):
            for length in range(min(self._longest_phrase, len(tokens) - start), 0, -1):
                slug = self._phrases.get(" ".join(tokens[start : start + length]))
                if slug is not None:
                    matches.append((length, start, slug))
        taken = [False] * len(tokens)
        for length, start, slug in sorted(matches, key=lambda match: (-match[0], match[1])):
            span = range(start, start + length)
            if any(taken[i] for i in span):
                continue
            for i in span:
                taken[i] = True
            if slug not in found:
                found.append(slug)
        return found

    def phrase_spans(self, tokens: tuple[str, ...]) -> list[tuple[int, int, tuple[str, ...]]]:
        """Non-overlapping phrases naming concerns in ``tokens`` (from `tokens`), longest first:
        ``(start, length, slugs)``; a phrase two concerns claim names both."""
        matches: list[tuple[int, int, tuple[str, ...]]] = []
        for start in range(len(tokens)):
            for length in range(min(self._longest_phrase, len(tokens) - start), 0, -1):
                slugs = self._claims.get(" ".join(tokens[start : start + length]))
                if slugs is not None:
                    matches.append((start, length, slugs))
        taken = [False] * len(tokens)
        spans = []
        for start, length, slugs in sorted(matches, key=lambda match: (-match[1], match[0])):
            span = range(start, start + length)
            if any(taken[i] for i in span):
                continue
            for i in span:
                taken[i] = True
            spans.append((start, length, slugs))
        return sorted(spans)

    def search_terms(self, slug: str) -> tuple[str, ...]:
        """Label and synonyms of a concern, for search documents; empty for an unknown slug."""
        term = self._terms.get(slug)
        if term is None:
            return ()
        return (term.label, *term.synonyms)

    def national_for(self, slugs: Iterable[str]) -> list[NationalResource]:
        """National resources for the concerns and their parents, most specific first, once each."""
        resources: list[NationalResource] = []
        seen: set[tuple[str, str]] = set()
        for slug in slugs:
            term = self._terms.get(slug)
            chain = [term] if term is not None else []
            if term is not None and term.parent is not None:
                chain.append(self._terms[term.parent])
            for link in chain:
                for resource in link.national:
                    identity = (resource.name, resource.url)
                    if identity not in seen:
                        seen.add(identity)
                        resources.append(resource)
        return resources

    def ambiguous_keys(self) -> Mapping[str, tuple[str, ...]]:
        """Normalised words claimed by more than one concern (a data-quality check)."""
        return dict(self._ambiguous)


def _parse_term(entry: Any, where: str, *, parent: str | None) -> ConcernTerm:
    """One validated term from its JSON object; ``where`` says which entry for errors."""
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: must be an object, got {type(entry).__name__}")
    slug = entry.get("slug")
    if isinstance(slug, str):
        where = f"{where} ({slug!r})"
    allowed = _PARENT_KEYS if parent is None else _CHILD_KEYS
    unknown = sorted(set(entry) - allowed)
    if unknown:
        hint = " (only two levels: a child cannot have children)" if "children" in unknown else ""
        raise ValueError(
            f"{where}: unknown key {unknown[0]!r}{hint}; allowed: {', '.join(sorted(allowed))}"
        )
    if not isinstance(slug, str) or not _SLUG_RE.match(slug):
        raise ValueError(f"{where}: 'slug' must be a kebab-case string like 'loss-of-a-child'")
    for field in ("label", "description"):
        value = entry.get(field)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where}: {field!r} must be a non-empty string")
    synonyms = entry.get("synonyms", [])
    if not isinstance(synonyms, list) or not all(
        isinstance(s, str) and s.strip() for s in synonyms
    ):
        raise ValueError(f"{where}: 'synonyms' must be a list of non-empty strings")
    return ConcernTerm(
        slug=slug,
        label=entry["label"].strip(),
        description=entry["description"].strip(),
        parent=parent,
        synonyms=tuple(dict.fromkeys(s.strip() for s in synonyms)),
        national=_parse_national(entry.get("national", []), where),
    )


def _parse_national(raw: Any, where: str) -> tuple[NationalResource, ...]:
    if not isinstance(raw, list):
        raise ValueError(f"{where}: 'national' must be a list of {{name, url, phone}} objects")
    resources: list[NationalResource] = []
    for index, item in enumerate(raw):
        item_where = f"{where} national {index}"
        if not isinstance(item, dict):
            raise ValueError(f"{item_where}: must be an object with name, url and phone")
        unknown = sorted(set(item) - _NATIONAL_KEYS)
        if unknown:
            raise ValueError(f"{item_where}: unknown key {unknown[0]!r}; allowed: name, phone, url")
        name, url, phone = item.get("name"), item.get("url"), item.get("phone")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{item_where}: 'name' must be a non-empty string")
        if not isinstance(url, str) or not _URL_RE.match(url):
            raise ValueError(f"{item_where}: 'url' must be an http(s) URL, got {url!r}")
        if phone is not None and (not isinstance(phone, str) or not phone.strip()):
            raise ValueError(f"{item_where}: 'phone' must be a non-empty string or absent")
        resources.append(NationalResource(name=name.strip(), url=url, phone=phone))
    return tuple(resources)


def spanish_path(path: Path) -> Path:
    """Where the Spanish words of a taxonomy file are kept: concerns.json -> concerns_es.json."""
    return path.with_name(f"{path.stem}_es{path.suffix}")


@functools.cache
def _load_cached(path: Path) -> Taxonomy:
    return Taxonomy.load(path)


def default_taxonomy(path: Path | None = None) -> Taxonomy:
    """The shared, cached taxonomy (one instance per resolved file path)."""
    return _load_cached(Path(path).resolve() if path is not None else DEFAULT_PATH)
