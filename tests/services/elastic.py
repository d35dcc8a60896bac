"""A single-node Elasticsearch for the tests, and the `elasticsearch_server`/`_url` fixtures."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.common import (
    RunAs,
    ServiceUnavailable,
    cache_dir,
    free_port,
    log_tail,
    service_env,
    start_or_fail,
    version_key,
)


def find_es_home() -> Path:
    """$CLEARINGHOUSE_TEST_ES_HOME, else the newest elasticsearch-* in the cache dir."""
    if env := os.environ.get("CLEARINGHOUSE_TEST_ES_HOME"):
        candidates = [env]
    else:
        found = glob.glob(str(cache_dir() / "elasticsearch-*"))
        candidates = sorted((p for p in found if os.path.isdir(p)), key=version_key)
    for candidate in reversed(candidates):
        if os.access(os.path.join(candidate, "bin", "elasticsearch"), os.X_OK):
            return Path(candidate)
    if "CLEARINGHOUSE_TEST_ES_HOME" in os.environ:
        raise ServiceUnavailable(
            f"no bin/elasticsearch in CLEARINGHOUSE_TEST_ES_HOME={candidates[0]}"
        )
    raise ServiceUnavailable(f"no elasticsearch-* unpacked under {cache_dir()}")


def find_java_home() -> Path:
    """$CLEARINGHOUSE_TEST_ES_JAVA_HOME, else the JDK behind the `java` on PATH."""
    if env := os.environ.get("CLEARINGHOUSE_TEST_ES_JAVA_HOME"):
        return Path(env)
    java = shutil.which("java")
    if java is None:
        raise ServiceUnavailable("no `java` on PATH")
    return Path(os.path.realpath(java)).parent.parent


class ElasticsearchServer:
    """A single-node Elasticsearch on a free loopback port, with its own data dir.

    It can be stopped, killed and started again on the same data dir and port,
    to test what happens when the search engine goes away mid-sync.
    """

    def __init__(
        self,
        home: Path | None = None,
        os_user: str | None = None,
        java_home: Path | None = None,
        heap: str = "512m",
    ) -> None:
        self.home = home or find_es_home()
        self.java_home = java_home or find_java_home()
        self.run_as = RunAs(
            os_user or os.environ.get("CLEARINGHOUSE_TEST_ES_USER", "clearinghouse-es")
        )
        self.heap = heap
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="clearinghouse-es-"))
        self.run_as.make_dir(self.base)
        # A private copy of config/: the node writes its keystore there.
        self.config_dir = self.base / "config"
        shutil.copytree(self.home / "config", self.config_dir)
        self.run_as.chown_tree(self.config_dir)
        self.data_dir = self.run_as.make_dir(self.base / "data")
        self.logs_dir = self.run_as.make_dir(self.base / "logs")
        self.tmp_dir = self.run_as.make_dir(self.base / "tmp")
        self.console_log = self.base / "console.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        settings = {
            "discovery.type": "single-node",
            "network.host": "127.0.0.1",
            "http.port": str(self.port),
            "transport.port": "0",
            "path.data": str(self.data_dir),
            "path.logs": str(self.logs_dir),
            "cluster.name": "clearinghouse-test",
            "node.name": "test-node",
            "cluster.routing.allocation.disk.threshold_enabled": "false",
        }
        # The setting exists only when the security module ships in the distribution.
        if (self.home / "modules" / "x-pack-security").is_dir():
            settings["xpack.security.enabled"] = "false"
        command = [str(self.home / "bin" / "elasticsearch")]
        for key, value in settings.items():
            command += ["-E", f"{key}={value}"]
        return command

    def start(self, timeout: float = 120.0) -> ElasticsearchServer:
        """Start (or restart) the node and wait until the cluster is at least yellow."""
        if self.process is not None and self.process.poll() is None:
            return self
        env = service_env(
            ES_JAVA_HOME=str(self.java_home),
            ES_PATH_CONF=str(self.config_dir),
            ES_TMPDIR=str(self.tmp_dir),
            ES_JAVA_OPTS=f"-Xms{self.heap} -Xmx{self.heap}",
        )
        with self.console_log.open("ab") as log:
            self.process = subprocess.Popen(
                self._command(),
                cwd=self.base,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so kill() takes the JVMs too
                **self.run_as.popen_kwargs(),
            )
        try:
            self._wait_until_healthy(timeout)
        except ServiceUnavailable:
            self.kill()
            raise
        return self

    def _wait_until_healthy(self, timeout: float) -> None:
        health = f"{self.url}/_cluster/health?wait_for_status=yellow&timeout=1s"
        deadline = time.monotonic() + timeout
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceUnavailable(
                    f"Elasticsearch exited with {self.process.returncode} while starting; "
                    f"last lines of {self.console_log}:\n{log_tail(self.console_log)}"
                )
            try:
                with urllib.request.urlopen(health, timeout=5) as response:
                    if json.load(response).get("status") in ("yellow", "green"):
                        return
            except (OSError, ValueError):
                pass  # not listening yet, or a 408 while the cluster forms
            time.sleep(0.5)
        raise ServiceUnavailable(
            f"Elasticsearch at {self.url} was not healthy after {timeout:.0f}s; "
            f"last lines of {self.console_log}:\n{log_tail(self.console_log)}"
        )

    def _signal_group(self, sig: signal.Signals) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def stop(self, timeout: float = 30.0) -> None:
        """Shut the node down cleanly (SIGTERM), or kill it if it will not go."""
        if self.process is None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None

    def kill(self) -> None:
        """SIGKILL the whole process group at once, as a crash or an OOM kill would."""
        if self.process is None:
            return
        self._signal_group(signal.SIGKILL)
        self.process.wait()
        self.process = None

    def close(self) -> None:
        """Stop the node and delete its files."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def elasticsearch_server() -> Iterator[ElasticsearchServer | None]:
    """The session's managed Elasticsearch node, or None when $CLEARINGHOUSE_ES_URL is set.

    Tests that stop or kill it must start() it again before they finish.
    """
    if os.environ.get("CLEARINGHOUSE_ES_URL"):
        yield None
        return
    server = start_or_fail("Elasticsearch", lambda: ElasticsearchServer().start())
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def elasticsearch_url(elasticsearch_server: ElasticsearchServer | None) -> str:
    """Base URL of the Elasticsearch the tests use: $CLEARINGHOUSE_ES_URL or the managed node."""
    if elasticsearch_server is None:
        return os.environ["CLEARINGHOUSE_ES_URL"]
    return elasticsearch_server.url
