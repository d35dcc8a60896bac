"""Reading a search as a person meant it: understood words, corrected spelling, a relaxed retry.

`read_search` asks the engine for the groups the understood words hold for; when that finds
nothing it tries the words corrected against the taxonomy and the index's vocabulary (not
when the person asked for exactly what they typed), and then the groups for any concern or
audience the words name.  The `Reading` says what was done, for the page and the API, so a
person is never shown groups for something else without being told.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from clearinghouse.i18n import concern_label, gettext, translated
from clearinghouse.search.base import Searcher, SearchQuery, SearchResult
from clearinghouse.search.query import search_words
from clearinghouse.search.understanding import Understood, correct, understand
from clearinghouse.taxonomy import Taxonomy
from clearinghouse.vocab import AUDIENCES


@dataclass(frozen=True)
class Reading:
    """What the words were taken to mean, and whether the answer is for something looser."""

    typed: str
    concerns: tuple[tuple[str, str], ...] = ()  # (slug, label), the most weighty first
    audiences: tuple[tuple[str, str], ...] = ()  # (value, label)
    corrected: str | None = None  # the words searched instead of misspelt ones
    relaxed: bool = False  # no group held every word: groups for what the words name

    @property
    def labels(self) -> list[str]:
        """What the answer is for, in the reader's words: the concerns named, else the audiences."""
        return [concern_label(slug, label) for slug, label in self.concerns] or [
            translated(label) for _value, label in self.audiences
        ]

    @property
    def relaxed_notice(self) -> str | None:
        if not self.relaxed:
            return None
        words = self.corrected or self.typed
        if not self.labels:
            return gettext(
                "No group mentions every word of “%(words)s”; showing groups with some of them.",
                words=words,
            )
        return gettext(
            "No group mentions every word of “%(words)s”; showing groups for %(topics)s.",
            words=words,
            topics=_joined(self.labels),
        )

    @property
    def notice(self) -> str | None:
        """One sentence for the page and the API, when the answer is not for q exactly."""
        corrected = gettext("Showing results for “%(words)s”.", words=self.corrected or "")
        parts = [corrected] if self.corrected else []
        if self.relaxed_notice:
            parts.append(self.relaxed_notice)
        return " ".join(parts) or None

    def as_json(self) -> dict[str, Any]:
        return {
            "q": self.typed,
            "concerns": [{"slug": slug, "label": label} for slug, label in self.concerns],
            "audiences": [{"value": value, "label": label} for value, label in self.audiences],
            "corrected": self.corrected,
            "relaxed": self.relaxed,
            "notice": self.notice,
        }


def read_search(
    backend: Searcher, query: SearchQuery, taxonomy: Taxonomy
) -> tuple[SearchQuery, SearchResult, Reading | None]:
    """The query as searched (with what was understood), its result and the reading."""
    if not search_words(query.q):
        return query, backend.search(query), None
    understood = understand(query.q, taxonomy)
    searched = replace(query, understood=understood)
    result = backend.search(searched)
    corrected = None
    if _empty(result) and not query.exact:
        corrected = correct(query.q, taxonomy, _known(backend), _vocabulary(backend))
        if corrected is not None:
            understood = understand(corrected, taxonomy)
            retry = replace(query, understood=understood)
            retried = backend.search(retry)
            if not _empty(retried):
                return retry, retried, _reading(query.q, understood, taxonomy, corrected)
            corrected = None
    if _empty(result) and (understood.named or understood.loose_words):
        relaxed = replace(query, understood=understood.relaxed())
        relaxed_result = backend.search(relaxed)
        if not _empty(relaxed_result):
            reading = _reading(query.q, understood, taxonomy, corrected, relaxed=True)
            return relaxed, relaxed_result, reading
    return searched, result, _reading(query.q, understood, taxonomy)


def _empty(result: SearchResult) -> bool:
    return not result.total and not result.online_total


def _engine(backend: Searcher) -> Any:
    """The engine itself, also behind a fallback (its words are the primary engine's)."""
    return getattr(backend, "primary", backend)


def _known(backend: Searcher) -> Any:
    known = getattr(_engine(backend), "known_words", None)
    if known is None:
        return lambda word: False

    def is_known(word: str) -> bool:
        try:
            return word in known([word])
        except Exception:  # the engine is down (the fallback answers): correct from the taxonomy
            return False

    return is_known


def _vocabulary(backend: Searcher) -> Collection[str]:
    vocabulary = getattr(_engine(backend), "vocabulary", None)
    try:
        return vocabulary() if vocabulary is not None else ()
    except Exception:  # the engine is down: the taxonomy's words alone
        return ()


def _reading(
    typed: str,
    understood: Understood,
    taxonomy: Taxonomy,
    corrected: str | None = None,
    relaxed: bool = False,
) -> Reading:
    concerns = []
    for slug in understood.concerns:
        term = taxonomy.get(slug)
        if term is not None:
            concerns.append((slug, term.label))
    audiences = [(value, AUDIENCES.get(value, value)) for value in understood.audiences]
    return Reading(typed, tuple(concerns), tuple(audiences), corrected, relaxed)


def _joined(labels: list[str]) -> str:
    shown = [f"“{label}”" for label in labels[:3]]
    if len(shown) <= 1:
        return "".join(shown)
    return gettext("%(some)s and %(last)s", some=", ".join(shown[:-1]), last=shown[-1])
