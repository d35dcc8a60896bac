"""Choosing the Elasticsearch client by the server's major, against a peer on loopback that
answers the version probe as a node of the given version would."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clearinghouse.search.elastic import ElasticBackend
from clearinghouse.search.elastic_client import UnsupportedElasticsearch, connect


def node_answering(version: str) -> type[BaseHTTPRequestHandler]:
    class Node(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if not self.path.startswith("/_nodes/_local"):
                self.send_error(404)
                return
            body = json.dumps({"nodes": {"abc": {"version": version}}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Elastic-Product", "Elasticsearch")  # the client checks it
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Node


@pytest.fixture
def node_of(request: pytest.FixtureRequest) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), node_answering(request.param))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(
    ("node_of", "package"),
    [("8.19.21", "elasticsearch8"), ("9.5.3", "elasticsearch9")],
    indirect=["node_of"],
)
def test_the_client_is_of_the_servers_major(node_of: str, package: str) -> None:
    connected = connect([node_of])
    try:
        assert connected.major == int(package[-1])
        assert type(connected.client).__module__.split(".")[0] == package
        assert connected.streaming_bulk.__module__.split(".")[0] == package
    finally:
        connected.client.close()


@pytest.mark.parametrize("node_of", ["10.0.0", "7.17.29"], indirect=True)
def test_a_major_without_a_client_is_refused_by_name(node_of: str) -> None:
    backend = ElasticBackend(node_of, "groups")
    with pytest.raises(
        UnsupportedElasticsearch, match=r"Elasticsearch \d+\.\S+ at .* not supported"
    ):
        backend.count()
