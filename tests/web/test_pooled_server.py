"""`clearinghouse serve` answers on a fixed pool of reused threads."""

from __future__ import annotations

import threading
import urllib.request

from flask import Flask

from clearinghouse.cli import make_pooled_server


def test_requests_are_answered_on_a_bounded_pool_of_reused_threads(app: Flask) -> None:
    seen: set[str] = set()

    @app.get("/_thread")
    def which_thread() -> str:
        seen.add(threading.current_thread().name)
        return "ok"

    server = make_pooled_server("127.0.0.1", 0, app, threads=2)
    runner = threading.Thread(target=server.serve_forever, daemon=True)
    runner.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        for _ in range(6):
            with urllib.request.urlopen(f"{base}/_thread", timeout=10) as response:
                assert response.status == 200 and response.read() == b"ok"
        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
            assert response.status == 200
    finally:
        server.shutdown()
        server.server_close()
    assert 1 <= len(seen) <= 2
    assert all(name.startswith("request") for name in seen)
