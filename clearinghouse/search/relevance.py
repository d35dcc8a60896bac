"""Measuring whether search understands people: success@3 over lay queries with right concerns.

A query set is JSON `{"queries": [{"q": ..., "concerns": [...]}, ...]}`: a query succeeds
when one of the first three groups (nearby and online lists together) carries one of its
concerns.  `evaluate` runs every query through a caller's search and reports; the relevance
test (tests/contract/test_relevance.py) and `bench/relevance.py` share it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clearinghouse.taxonomy import Taxonomy

TOP = 3


@dataclass(frozen=True)
class LayQuery:
    q: str
    concerns: frozenset[str]


@dataclass(frozen=True)
class Outcome:
    query: LayQuery
    top: tuple[tuple[str, ...], ...]  # the concerns of each of the first groups shown
    total: int

    @property
    def succeeded(self) -> bool:
        return any(self.query.concerns & set(concerns) for concerns in self.top[:TOP])

    @property
    def empty(self) -> bool:
        return not self.top


@dataclass(frozen=True)
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def success_at_3(self) -> float:
        return sum(o.succeeded for o in self.outcomes) / max(1, len(self.outcomes))

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.succeeded]

    @property
    def empties(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.empty]

    def summary(self, label: str) -> str:
        lines = [
            f"{label}: success@3 {self.success_at_3:.1%}"
            f" ({len(self.outcomes) - len(self.failures)}/{len(self.outcomes)}),"
            f" empty {len(self.empties)}"
        ]
        for outcome in self.failures:
            shown = "; ".join(",".join(c) for c in outcome.top[:TOP]) or "nothing"
            lines.append(f"  miss {outcome.query.q!r} -> {shown}")
        return "\n".join(lines)


def load_queries(path: Path) -> list[LayQuery]:
    data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    return [
        LayQuery(q=str(item["q"]), concerns=frozenset(item["concerns"])) for item in data["queries"]
    ]


def evaluate(
    queries: Iterable[LayQuery],
    search: Callable[[str], tuple[Sequence[tuple[str, ...]], int]],
) -> Report:
    """`search(q)` returns the concerns of the groups shown first (nearby, then online) and
    the total found."""
    outcomes = []
    for query in queries:
        top, total = search(query.q)
        outcomes.append(Outcome(query=query, top=tuple(top[:TOP]), total=total))
    return Report(outcomes)


def page_concerns(page: Any, taxonomy: Taxonomy) -> tuple[list[tuple[str, ...]], int]:
    """The concerns (with their parents, as search documents carry them) of a
    `service.run_search` page's first groups, nearby then online, and the total found."""
    shown = [*page.groups, *page.online]
    top = []
    for hit in shown[:TOP]:
        slugs: list[str] = []
        for concern in hit.group.concerns:
            term = taxonomy.get(concern.slug)
            slugs += [concern.slug, *([term.parent] if term and term.parent else [])]
        top.append(tuple(dict.fromkeys(slugs)))
    return top, page.total + page.online_total
