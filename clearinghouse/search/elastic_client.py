"""The Elasticsearch client of the server's major: `elasticsearch8` on 8.x, `elasticsearch9` on 9.x.

Elastic's Python clients speak their own major's REST API (`compatible-with=N` headers): a
9.x client is refused by an 8.x server, and an 8.x client reaches a 9.x server only through
its compatibility mode.  Both clients are installed under their versioned package names, and
`connect` asks the cluster its version once, then builds the client of the same major, so the
same code runs on either server and nothing is configured.  The probe goes through the 8.x
client, which both majors answer.  Everything that differs between the majors (which client,
its bulk helper) is read from the `Client` returned here; the error classes both share, from
`elastic_transport`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # The two clients have the same API for everything used here; 8.x's types stand for both.
    from elasticsearch8 import Elasticsearch

SUPPORTED_MAJORS = (8, 9)


class UnsupportedElasticsearch(RuntimeError):
    """The cluster runs a major this release has no client for."""


@dataclass(frozen=True)
class Client:
    """A connected client with the bulk helper of its own package."""

    major: int
    version: str
    client: Elasticsearch
    streaming_bulk: Callable[..., Any]


def connect(nodes: list[str], probe_timeout: float = 10.0, **options: Any) -> Client:
    """Ask the cluster its version (within `probe_timeout` seconds), then build the client of
    its major with `options`."""
    version = server_version(nodes, request_timeout=probe_timeout)
    major = int(version.split(".", 1)[0])
    if major not in SUPPORTED_MAJORS:
        raise UnsupportedElasticsearch(
            f"Elasticsearch {version} at {', '.join(_hosts(nodes))} is not supported: "
            f"this release runs on Elasticsearch {' or '.join(map(str, SUPPORTED_MAJORS))}"
        )
    package = importlib.import_module(f"elasticsearch{major}")
    helpers = importlib.import_module(f"elasticsearch{major}.helpers")
    return Client(
        major=major,
        version=version,
        client=package.Elasticsearch(nodes, **options),
        streaming_bulk=helpers.streaming_bulk,
    )


def server_version(nodes: list[str], request_timeout: float = 10.0) -> str:
    """The version of the node answering (`GET /_nodes/_local`: the minimal distribution
    answers `GET /` with 405)."""
    from elasticsearch8 import Elasticsearch

    with Elasticsearch(nodes, request_timeout=request_timeout, max_retries=len(nodes)) as probe:
        answer = probe.nodes.info(node_id="_local", filter_path="nodes.*.version")
    versions = [node["version"] for node in answer.get("nodes", {}).values()]
    if not versions:
        raise UnsupportedElasticsearch(
            f"Elasticsearch at {', '.join(_hosts(nodes))} did not say its version"
        )
    return str(versions[0])


def _hosts(nodes: list[str]) -> list[str]:
    """The nodes without any credentials in their URLs."""
    return [node.rsplit("@", 1)[-1] for node in nodes]


def client_for(url: str, **options: Any) -> Elasticsearch:
    """A client of the cluster's major for `url` (comma-separated nodes), for tools and tests."""
    return connect([node.strip() for node in url.split(",") if node.strip()], **options).client
