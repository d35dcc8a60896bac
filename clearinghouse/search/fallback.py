"""Searches that keep answering while the primary engine is down: fallback and circuit breaker.

`FallbackSearch` asks the primary engine (Elasticsearch) within its time budget; when it
fails or times out, the same query is answered by the database engine and the result is
marked `degraded`, which pages, the API and HSDS show.  A `CircuitBreaker` stops paying the
budget on every request while the primary is down: after `failures_to_open` failures in a
row it opens and searches go straight to the fallback; after `cool_down` seconds one search
probes the primary (half-open) and, if it answers, the breaker closes again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum

from clearinghouse.search.base import SearchBackend, SearchQuery, SearchResult

log = logging.getLogger(__name__)


class BreakerState(StrEnum):
    CLOSED = "closed"  # the primary answers
    OPEN = "open"  # the primary is skipped until the cool-down has passed
    HALF_OPEN = "half-open"  # one probe is asking the primary


class CircuitBreaker:
    """Open after `failures_to_open` consecutive failures; one probe after `cool_down` s.

    Thread-safe; `clock` is injectable for tests.  A caller that `allow()` admitted must
    report `succeeded()` or `failed()`.
    """

    def __init__(
        self,
        failures_to_open: int = 3,
        cool_down: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures_to_open < 1 or cool_down < 0:
            raise ValueError("failures_to_open must be at least 1 and cool_down not negative")
        self.failures_to_open = failures_to_open
        self.cool_down = cool_down
        self.clock = clock
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.opened_at = 0.0
        self._lock = threading.Lock()

    def allow(self) -> bool:
        """Whether this call may ask the primary (closed, or the one half-open probe)."""
        with self._lock:
            if self.state is BreakerState.CLOSED:
                return True
            if self.state is BreakerState.OPEN and self.clock() - self.opened_at >= self.cool_down:
                self.state = BreakerState.HALF_OPEN
                log.info("event=search_breaker_probe")
                return True
            return False  # open and cooling down, or another call is already probing

    def succeeded(self) -> None:
        with self._lock:
            if self.state is not BreakerState.CLOSED:
                log.info("event=search_breaker_closed")
            self.state = BreakerState.CLOSED
            self.failures = 0

    def failed(self) -> None:
        with self._lock:
            self.failures += 1
            if self.state is BreakerState.HALF_OPEN:
                log.info("event=search_breaker_probe_failed failures=%d", self.failures)
            elif self.failures >= self.failures_to_open:
                log.warning("event=search_breaker_opened failures=%d", self.failures)
            else:
                return
            self.state = BreakerState.OPEN
            self.opened_at = self.clock()


class FallbackSearch:
    """Answers searches from `primary`, or from `fallback` (marked degraded) when it fails.

    Only searching goes through here; writes go to each engine through its own outbox cursor.
    """

    def __init__(
        self, primary: SearchBackend, fallback: SearchBackend, breaker: CircuitBreaker
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.breaker = breaker
        self.name = primary.name

    def search(self, query: SearchQuery) -> SearchResult:
        if self.breaker.allow():
            try:
                result = self.primary.search(query)
            except ValueError:  # the query's fault (a page too deep): the engine is fine
                self.breaker.succeeded()
                raise
            except Exception as error:  # unreachable, timed out, refused: answer from the fallback
                self.breaker.failed()
                log.warning(
                    "event=search_fallback engine=%s fallback=%s error=%s detail=%r",
                    self.primary.name,
                    self.fallback.name,
                    type(error).__name__,
                    str(error)[:200],
                )
            else:
                self.breaker.succeeded()
                return result
        # If the fallback is down too, its SearchUnavailable reaches the caller (a 503).
        return replace(self.fallback.search(query), degraded=True)
