"""A partner's feed server on loopback: real HTTP, answers chosen by the test.

Each path serves a `Feed`: bytes with a content type, optionally an ETag (a matching
If-None-Match gets 304), a status, or a delay longer than the client's timeout.  The server
counts requests per path and keeps the conditional headers it was sent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Feed:
    body: bytes = b""
    content_type: str = "application/json"
    etag: str | None = None
    status: int = 200
    delay: float = 0.0  # seconds before answering


@dataclass
class FeedServer:
    host: str
    port: int
    feeds: dict[str, Feed] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    conditional: dict[str, list[str | None]] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path
            server.requests[path] = server.requests.get(path, 0) + 1
            server.conditional.setdefault(path, []).append(self.headers.get("If-None-Match"))
            feed = server.feeds.get(path)
            if feed is None:
                self._answer(404, b"no such feed", "text/plain")
                return
            if feed.delay:
                server.release.wait(feed.delay)  # the test's teardown releases it at once
            if feed.etag and self.headers.get("If-None-Match") == feed.etag:
                self.send_response(304)
                self.send_header("ETag", feed.etag)
                self.end_headers()
                return
            self._answer(feed.status, feed.body, feed.content_type, feed.etag)

        def _answer(
            self, status: int, body: bytes, content_type: str, etag: str | None = None
        ) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if etag:
                    self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to answer

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: feeds may hold e-mails and passcodes

    return Handler


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    state = FeedServer("127.0.0.1", 0)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join()
