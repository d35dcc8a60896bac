"""The circuit breaker and the fallback search, with real engines (an unreachable Elasticsearch)."""

from __future__ import annotations

import socket
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from clearinghouse.config import from_environment
from clearinghouse.search.base import ListingDoc, SearchQuery, SearchUnavailable
from clearinghouse.search.elastic import ElasticBackend, SearchWindowTooDeep
from clearinghouse.search.embedded import EmbeddedBackend
from clearinghouse.search.fallback import BreakerState, CircuitBreaker, FallbackSearch
from clearinghouse.search.query import parse_search_args
from clearinghouse.taxonomy import default_taxonomy
from tests.services.common import free_port


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_failures_only() -> None:
    breaker = CircuitBreaker(failures_to_open=3, cool_down=10, clock=Clock())
    for _ in range(2):
        assert breaker.allow()
        breaker.failed()
    assert breaker.allow()
    breaker.succeeded()  # a success in between starts the count again
    for _ in range(2):
        assert breaker.allow()
        breaker.failed()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()
    breaker.failed()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()


def test_breaker_lets_one_probe_through_after_the_cool_down() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures_to_open=1, cool_down=10, clock=clock)
    breaker.failed()
    clock.now += 9.9
    assert not breaker.allow()
    clock.now += 0.1
    assert breaker.allow()  # the probe
    assert breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow()  # everyone else keeps using the fallback meanwhile


def test_a_failed_probe_reopens_for_another_cool_down() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures_to_open=5, cool_down=10, clock=clock)
    for _ in range(5):
        breaker.failed()
    clock.now += 10
    assert breaker.allow()
    breaker.failed()  # one failed probe is enough, whatever failures_to_open says
    assert breaker.state is BreakerState.OPEN
    clock.now += 5
    assert not breaker.allow()
    clock.now += 5
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow() and breaker.allow()


def test_only_one_of_many_threads_probes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures_to_open=1, cool_down=1, clock=clock)
    breaker.failed()
    clock.now += 1
    admitted: list[bool] = []
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        admitted.append(breaker.allow())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert admitted.count(True) == 1


def test_breaker_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failures_to_open=0)


# -- the fallback, with real engines ---------------------------------------------------------


def doc(number: int, name: str) -> ListingDoc:
    return ListingDoc(
        id=number,
        uuid=f"00000000-0000-0000-0000-{number:012d}",
        name=name,
        description="A peer-led circle.",
        organization="",
        concern_text="grief bereavement",
        concerns=("grief-loss",),
        format="peer-led",
        attendance=("in-person",),
        days=("tue",),
        times=("evening",),
        languages=("en",),
        cost="free",
        audience=(),
        accessibility=(),
        lat=41.9,
        lon=-87.65,
        service_area=(),
        region="IL",
        updated_at="2026-01-01T00:00:00.000000+00:00",
        name_sort=name.lower(),
    )


def query(*pairs: tuple[str, str]) -> SearchQuery:
    return parse_search_args(MultiDict(list(pairs)), default_taxonomy())


@pytest.fixture
def fallback(tmp_path: Path) -> EmbeddedBackend:
    backend = EmbeddedBackend(str(tmp_path / "fallback.db"))
    backend.rebuild([doc(1, "Tuesday Grief Circle"), doc(2, "Evening Grief Group")])
    return backend


@pytest.fixture
def dead_elastic() -> ElasticBackend:
    """Elasticsearch on a port nothing listens on: every request is refused."""
    return ElasticBackend(f"http://127.0.0.1:{free_port()}", "nothing-here", timeout=1.0)


def test_an_unreachable_engine_is_answered_by_the_fallback_marked_degraded(
    fallback: EmbeddedBackend, dead_elastic: ElasticBackend
) -> None:
    searcher = FallbackSearch(dead_elastic, fallback, CircuitBreaker(failures_to_open=2))
    result = searcher.search(query(("q", "grief")))
    assert result.degraded
    assert {hit.id for hit in result.hits} == {1, 2}
    assert result == replace(fallback.search(query(("q", "grief"))), degraded=True)


def test_an_engine_slower_than_the_budget_is_answered_by_the_fallback(
    fallback: EmbeddedBackend,
) -> None:
    # A listener that never accepts: the connection is made (the kernel's backlog) and the
    # request sent, but no answer ever comes, as from a hung node.
    with socket.create_server(("127.0.0.1", 0)) as hung:
        port = hung.getsockname()[1]
        slow = ElasticBackend(f"http://127.0.0.1:{port}", "hung", search_timeout=0.2)
        result = FallbackSearch(slow, fallback, CircuitBreaker()).search(query(("q", "grief")))
    assert result.degraded and result.total == 2


def test_the_breaker_opens_and_later_closes_when_the_engine_answers(
    fallback: EmbeddedBackend, dead_elastic: ElasticBackend, tmp_path: Path
) -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures_to_open=2, cool_down=30, clock=clock)
    searcher = FallbackSearch(dead_elastic, fallback, breaker)
    searcher.search(query())
    searcher.search(query())
    assert breaker.state is BreakerState.OPEN
    assert searcher.search(query()).degraded  # straight to the fallback, no timeout paid
    assert breaker.failures == 2
    # The engine comes back (here: another real engine in its place); after the cool-down
    # the probe finds it and searches are no longer degraded.
    healthy = EmbeddedBackend(str(tmp_path / "primary.db"))
    healthy.rebuild([doc(1, "Tuesday Grief Circle")])
    searcher.primary = healthy
    assert searcher.search(query()).degraded  # still cooling down
    clock.now += 30
    result = searcher.search(query())
    assert not result.degraded and result.total == 1
    assert breaker.state is BreakerState.CLOSED


def test_a_bad_query_is_not_an_outage(fallback: EmbeddedBackend, tmp_path: Path) -> None:
    class Refuses:
        name = "refuses"

        def search(self, query: SearchQuery) -> object:
            raise SearchWindowTooDeep("page 600 is beyond the first 10,000 results")

    breaker = CircuitBreaker(failures_to_open=1)
    searcher = FallbackSearch(Refuses(), fallback, breaker)  # type: ignore[arg-type]
    with pytest.raises(SearchWindowTooDeep):
        searcher.search(query())
    assert breaker.state is BreakerState.CLOSED


def test_when_the_fallback_is_down_too_the_search_is_unavailable(
    dead_elastic: ElasticBackend, tmp_path: Path
) -> None:
    broken = EmbeddedBackend(str(tmp_path / "broken.db"))
    broken.close()
    (tmp_path / "broken.db").write_bytes(b"this is not a database" * 100)
    searcher = FallbackSearch(dead_elastic, broken, CircuitBreaker())
    with pytest.raises(SearchUnavailable):
        searcher.search(query())


# -- settings --------------------------------------------------------------------------------


def test_fallback_settings_from_the_environment(tmp_path: Path) -> None:
    config = from_environment(
        str(tmp_path),
        {
            "CLEARINGHOUSE_SEARCH": "elasticsearch",
            "CLEARINGHOUSE_SEARCH_TIMEOUT_MS": "800",
            "CLEARINGHOUSE_SEARCH_BREAKER_FAILURES": "5",
            "CLEARINGHOUSE_SEARCH_COOL_DOWN": "20",
            "CLEARINGHOUSE_SECRET_KEY": "x",
        },
    )
    assert config["SEARCH_FALLBACK"] is True
    assert config["SEARCH_TIMEOUT"] == 0.8
    assert config["SEARCH_BREAKER_FAILURES"] == 5
    assert config["SEARCH_BREAKER_COOL_DOWN"] == 20.0
    off = from_environment(
        str(tmp_path), {"CLEARINGHOUSE_SEARCH_FALLBACK": "off", "CLEARINGHOUSE_SECRET_KEY": "x"}
    )
    assert off["SEARCH_FALLBACK"] is False


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CLEARINGHOUSE_SEARCH_FALLBACK", "maybe", "database or off"),
        ("CLEARINGHOUSE_SEARCH_TIMEOUT_MS", "-5", "positive"),
        ("CLEARINGHOUSE_SEARCH", "database", "needs PostgreSQL"),
    ],
)
def test_bad_fallback_settings_say_what_is_wrong(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        from_environment(str(tmp_path), {name: value, "CLEARINGHOUSE_SECRET_KEY": "x"})
