"""Elasticsearch for the tests: single nodes of each major (the `elasticsearch_servers` pool
and the `elasticsearch_server`/`_url` fixtures) and a cluster of several nodes on loopback
(`ElasticsearchCluster`).

Every major in `ES_MAJORS` (8 and 9; $CLEARINGHOUSE_TEST_ES_MAJORS narrows it, e.g. `9`) has
its node: 8 is Elastic's integ-test distribution on the machine's JDK, 9 a node assembled from
the server's jars (tests/services/es9node/) on a JDK of 21 or later.  The first major is the
default one, which tests that do not choose get.
"""

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
from dataclasses import dataclass
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

ES_MAJORS = tuple(
    int(major) for major in os.environ.get("CLEARINGHOUSE_TEST_ES_MAJORS", "8,9").split(",")
)
DEFAULT_MAJOR = ES_MAJORS[0]
# What scripts/test exports for each major: (home, JDK).
_HOME_VARIABLES = {
    8: ("CLEARINGHOUSE_TEST_ES_HOME", "CLEARINGHOUSE_TEST_ES_JAVA_HOME"),
    9: ("CLEARINGHOUSE_TEST_ES9_HOME", "CLEARINGHOUSE_TEST_ES9_JAVA_HOME"),
}


def find_es_home(major: int = DEFAULT_MAJOR) -> Path:
    """$CLEARINGHOUSE_TEST_ES[9]_HOME, else the newest elasticsearch-<major>.* in the cache dir."""
    variable = _HOME_VARIABLES[major][0]
    if env := os.environ.get(variable):
        candidates = [env]
    else:
        found = glob.glob(str(cache_dir() / f"elasticsearch-{major}.*"))
        candidates = sorted((p for p in found if os.path.isdir(p)), key=version_key)
    for candidate in reversed(candidates):
        if os.access(os.path.join(candidate, "bin", "elasticsearch"), os.X_OK):
            return Path(candidate)
    if variable in os.environ:
        raise ServiceUnavailable(f"no bin/elasticsearch in {variable}={candidates[0]}")
    raise ServiceUnavailable(f"no elasticsearch-{major}.* under {cache_dir()}")


def find_java_home(major: int = DEFAULT_MAJOR) -> Path:
    """$CLEARINGHOUSE_TEST_ES[9]_JAVA_HOME, else (for 8) the JDK behind the `java` on PATH."""
    variable = _HOME_VARIABLES[major][1]
    if env := os.environ.get(variable):
        return Path(env)
    if major != 8:
        raise ServiceUnavailable(
            f"Elasticsearch {major} needs a JDK of 21 or later: set {variable}"
        )
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
        *,
        major: int = DEFAULT_MAJOR,
        node_name: str = "test-node",
        cluster: ClusterSettings | None = None,
    ) -> None:
        self.major = major
        self.home = home or find_es_home(major)
        self.java_home = java_home or find_java_home(major)
        self.run_as = RunAs(
            os_user or os.environ.get("CLEARINGHOUSE_TEST_ES_USER", "clearinghouse-es")
        )
        self.heap = heap
        self.node_name = node_name
        self.cluster = cluster
        self.port = free_port()
        self.transport_port = free_port() if cluster else 0
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
            "network.host": "127.0.0.1",
            "http.port": str(self.port),
            "transport.port": str(self.transport_port),
            "path.data": str(self.data_dir),
            "path.logs": str(self.logs_dir),
            "cluster.name": self.cluster.name if self.cluster else "clearinghouse-test",
            "node.name": self.node_name,
            "cluster.routing.allocation.disk.threshold_enabled": "false",
        }
        if self.cluster is None:
            settings["discovery.type"] = "single-node"
        else:
            settings["discovery.seed_hosts"] = ",".join(self.cluster.seed_hosts)
            settings["cluster.initial_master_nodes"] = ",".join(self.cluster.node_names)
        # The setting exists only when the security module ships in the distribution.
        if (self.home / "modules" / "x-pack-security").is_dir():
            settings["xpack.security.enabled"] = "false"
        command = [str(self.home / "bin" / "elasticsearch")]
        for key, value in settings.items():
            command += ["-E", f"{key}={value}"]
        return command

    def start(self, timeout: float = 120.0) -> ElasticsearchServer:
        """Start (or restart) the node and wait until the cluster is at least yellow."""
        if self.running:
            return self
        self.launch()
        try:
            self._wait_until_healthy(timeout)
        except ServiceUnavailable:
            self.kill()
            raise
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def launch(self) -> None:
        """Start the node's process without waiting (the nodes of a cluster start together)."""
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

    def _wait_until_healthy(self, timeout: float, nodes: int = 1) -> None:
        health = (
            f"{self.url}/_cluster/health?wait_for_status=yellow&wait_for_nodes={nodes}&timeout=1s"
        )
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
                    answer = json.load(response)
                    if answer.get("status") in ("yellow", "green") and not answer["timed_out"]:
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


@dataclass(frozen=True)
class ClusterSettings:
    name: str
    node_names: tuple[str, ...]
    seed_hosts: tuple[str, ...]  # 127.0.0.1:<transport port> of every node


class ElasticsearchCluster:
    """N master-eligible nodes on loopback forming one cluster, each with a small heap.

    `kill(i)` SIGKILLs one node; `revive(i)` starts it again on its data dir and ports and
    waits until all N are back in the cluster.
    """

    def __init__(self, size: int = 3, heap: str = "320m") -> None:
        names = tuple(f"node-{number}" for number in range(size))
        self.nodes: list[ElasticsearchServer] = []
        ports = [free_port() for _ in names]
        settings = ClusterSettings(
            name=f"clearinghouse-cluster-{ports[0]}",
            node_names=names,
            seed_hosts=tuple(f"127.0.0.1:{port}" for port in ports),
        )
        for name, port in zip(names, ports, strict=True):
            node = ElasticsearchServer(heap=heap, node_name=name, cluster=settings)
            node.transport_port = port
            self.nodes.append(node)

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def start(self, timeout: float = 300.0) -> ElasticsearchCluster:
        for node in self.nodes:
            node.launch()
        try:
            self.nodes[0]._wait_until_healthy(timeout, nodes=len(self.nodes))
        except ServiceUnavailable:
            self.close()
            raise
        return self

    def kill(self, number: int) -> None:
        self.nodes[number].kill()

    def revive(self, number: int, timeout: float = 300.0) -> None:
        node = self.nodes[number]
        node.launch()
        node._wait_until_healthy(timeout, nodes=len(self.nodes))

    def close(self) -> None:
        for node in self.nodes:
            node.close()


class ElasticsearchServers:
    """The session's managed nodes, one per major, each started when first asked for.

    With $CLEARINGHOUSE_ES_URL set none is started: that cluster serves the one major it runs
    (set $CLEARINGHOUSE_TEST_ES_MAJORS to it).
    """

    def __init__(self) -> None:
        self.external = os.environ.get("CLEARINGHOUSE_ES_URL") or None
        self._servers: dict[int, ElasticsearchServer] = {}

    def server(self, major: int) -> ElasticsearchServer | None:
        """The managed node of `major`, or None for an external cluster of that major."""
        if self.external is not None:
            self._check_external(major)
            return None
        if major not in self._servers:
            self._servers[major] = start_or_fail(
                f"Elasticsearch {major}", lambda: ElasticsearchServer(major=major).start()
            )
        return self._servers[major]

    def url(self, major: int) -> str:
        server = self.server(major)
        return server.url if server is not None else str(self.external)

    def _check_external(self, major: int) -> None:
        from clearinghouse.search.elastic_client import server_version

        version = server_version([node.strip() for node in str(self.external).split(",")])
        if not version.startswith(f"{major}."):
            pytest.fail(
                f"CLEARINGHOUSE_ES_URL runs Elasticsearch {version}, not {major}: "
                f"set CLEARINGHOUSE_TEST_ES_MAJORS={version.split('.')[0]}",
                pytrace=False,
            )

    def close(self) -> None:
        for server in self._servers.values():
            server.close()


@pytest.fixture(scope="session")
def elasticsearch_servers() -> Iterator[ElasticsearchServers]:
    servers = ElasticsearchServers()
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture(scope="module")
def elasticsearch_major() -> int:
    """The major the module's Elasticsearch tests run on; a module overrides this fixture
    with `params=ES_MAJORS` to run on each (tests/contract/test_elastic_ops.py)."""
    return DEFAULT_MAJOR


@pytest.fixture(scope="module")
def elasticsearch_server(
    elasticsearch_servers: ElasticsearchServers, elasticsearch_major: int
) -> ElasticsearchServer | None:
    """The managed Elasticsearch node, or None when $CLEARINGHOUSE_ES_URL is set.

    Tests that stop or kill it must start() it again before they finish.
    """
    return elasticsearch_servers.server(elasticsearch_major)


@pytest.fixture(scope="module")
def elasticsearch_url(elasticsearch_servers: ElasticsearchServers, elasticsearch_major: int) -> str:
    """Base URL of the Elasticsearch the tests use: $CLEARINGHOUSE_ES_URL or the managed node."""
    return elasticsearch_servers.url(elasticsearch_major)
