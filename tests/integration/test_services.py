"""Real PostgreSQL, Elasticsearch and Chromium from tests/services/ start and answer."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page
from sqlalchemy import create_engine, text

from clearinghouse.search.elastic_client import client_for
from tests.services.elastic import ES_MAJORS, ElasticsearchServer


@pytest.fixture(scope="module", params=ES_MAJORS, ids=lambda major: f"es{major}")
def elasticsearch_major(request: pytest.FixtureRequest) -> int:
    """The Elasticsearch tests here run on each major (tests/services/elastic.py)."""
    return int(request.param)


@pytest.mark.postgres
def test_postgres_answers(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("select 1")).scalar_one() == 1
            version = connection.execute(text("show server_version")).scalar_one()
    finally:
        engine.dispose()
    assert int(version.split(".")[0]) >= 13


@pytest.mark.elasticsearch
def test_elasticsearch_indexes_and_searches(elasticsearch_url: str) -> None:
    index = f"test-services-{uuid.uuid4().hex}"
    with client_for(elasticsearch_url) as es:
        es.indices.create(index=index, mappings={"properties": {"name": {"type": "text"}}})
        try:
            es.index(index=index, id="1", document={"name": "Grief support for parents"})
            es.indices.refresh(index=index)
            found = es.search(index=index, query={"match": {"name": "grief"}})
            assert [hit["_id"] for hit in found["hits"]["hits"]] == ["1"]
        finally:
            es.indices.delete(index=index)


@pytest.mark.elasticsearch
def test_elasticsearch_survives_kill_and_restart(
    elasticsearch_server: ElasticsearchServer | None,
) -> None:
    if elasticsearch_server is None:
        pytest.xfail("CLEARINGHOUSE_ES_URL points at an external cluster we must not kill")
    index = f"test-services-{uuid.uuid4().hex}"
    with client_for(elasticsearch_server.url) as es:
        es.index(index=index, id="1", document={"name": "kept"}, refresh=True)
    port = elasticsearch_server.port
    elasticsearch_server.kill()
    elasticsearch_server.start()
    assert elasticsearch_server.port == port
    with client_for(elasticsearch_server.url) as es:
        es.cluster.health(index=index, wait_for_status="yellow", timeout="60s")
        assert es.get(index=index, id="1")["_source"] == {"name": "kept"}
        es.indices.delete(index=index)


@pytest.mark.browser
def test_chromium_renders_a_page(browser_page: Page) -> None:
    browser_page.goto("data:text/html,<title>Clearinghouse</title><h1>Hello</h1>")
    assert browser_page.title() == "Clearinghouse"
    assert browser_page.locator("h1").inner_text() == "Hello"
