"""`clearinghouse serve`: gunicorn worker processes answering the real app on one port."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from flask import Flask

from clearinghouse.extensions import db
from clearinghouse.search import get_backend
from clearinghouse.taxonomy import default_taxonomy
from indexer.sync import rebuild, sync


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=20) as response:
        return response.status, response.read().decode()


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def test_serve_answers_from_several_worker_processes_and_stops_on_sigterm(
    app: Flask, make_group: Callable[..., Any]
) -> None:
    make_group(name="Evening Grief Circle", concerns=["grief"])
    rebuild(db.session(), get_backend(), default_taxonomy())
    sync(db.session(), get_backend(), default_taxonomy())
    port = free_port()
    env = {
        **os.environ,
        # The test's own files (WAL): the server reads what this process committed.
        "CLEARINGHOUSE_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "CLEARINGHOUSE_INDEX_PATH": app.config["INDEX_PATH"],
        "CLEARINGHOUSE_SEARCH": "embedded",
        "CLEARINGHOUSE_SECRET_KEY": "serve-test",
    }
    command = [sys.executable, "-c", "from clearinghouse.cli import main; main()",
               "serve", "--port", str(port), "--workers", "2", "--threads", "2"]  # fmt: skip
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.communicate()[0]
            try:
                if get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                assert time.monotonic() < deadline, "serve did not answer within 60 s"
                time.sleep(0.2)
        while len(children(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(children(server.pid)) == 2

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(get, [f"{base}/search?q=grief"] * 24))
        assert all(status == 200 for status, _body in answers)
        assert all("Evening Grief Circle" in body for _status, body in answers)

        # An HTTP/1.1 client asking to keep the connection is told it is closed: every
        # request is a new accept, taken by whichever process is free (server.py).
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            assert response.getheader("Connection", "").lower() == "close"
        finally:
            connection.close()
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0]
    assert server.returncode == 0, output
