"""Real PostgreSQL, Elasticsearch and Chromium for the test suite (a pytest plugin).

Loaded from tests/conftest.py with ``pytest_plugins = ("tests.services",)``.
``./scripts/test`` installs the binaries and exports where they are; when those
variables are unset the same places are searched, so plain ``pytest`` works too.
A missing service fails the tests that need it, with a pointer to ./scripts/test:
these tests are never skipped.

Environment:
  CLEARINGHOUSE_TEST_DATABASE_URL  use this PostgreSQL database instead of starting one
  CLEARINGHOUSE_ES_URL             use this Elasticsearch instead of starting one
  CLEARINGHOUSE_TEST_PG_BIN        PostgreSQL's bin dir (default: newest /usr/lib/postgresql/*/bin)
  CLEARINGHOUSE_TEST_PG_USER       OS user that runs PostgreSQL when we are root (postgres)
  CLEARINGHOUSE_TEST_ES_HOME       unpacked Elasticsearch (default: newest in the cache dir)
  CLEARINGHOUSE_TEST_ES_USER       OS user that runs Elasticsearch when we are root
                                   (clearinghouse-es)
  CLEARINGHOUSE_TEST_ES_JAVA_HOME  JDK for Elasticsearch (default: the `java` on PATH)
  CLEARINGHOUSE_TEST_CHROMIUM      Chromium binary (default: /usr/bin/chromium)
  CLEARINGHOUSE_CACHE_DIR          download cache (default: /var/cache/clearinghouse as root,
                                   else ${XDG_CACHE_HOME:-~/.cache}/clearinghouse)
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

SETUP_HINT = "run ./scripts/test once to install and fetch the test services"

T = TypeVar("T")


class ServiceUnavailable(RuntimeError):
    """A test service is not installed here or would not start."""


def _start_or_fail(what: str, start: Callable[[], T]) -> T:
    """Start a service, or fail the test (never skip it) saying how to set it up."""
    try:
        return start()
    except ServiceUnavailable as exc:
        message = f"{what} unavailable: {exc}\n({SETUP_HINT})"
    pytest.fail(message, pytrace=False)


# --------------------------------------------------------------------- helpers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cache_dir() -> Path:
    """Where ./scripts/test keeps downloads (the same rule as the script)."""
    if env := os.environ.get("CLEARINGHOUSE_CACHE_DIR"):
        return Path(env)
    if os.geteuid() == 0:
        # Root's home is 0700: the service user could not read a cache there.
        return Path("/var/cache/clearinghouse")
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "clearinghouse"


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", Path(path).name))


def _tail(path: Path, lines: int = 30) -> str:
    """The first few error lines of a log (the cause) and its last lines (the end)."""
    try:
        all_lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    errors = [line for line in all_lines if re.search(r"\bERROR\b|\bFATAL\b|Exception: ", line)]
    return "\n".join([*errors[:8], "...", *all_lines[-lines:]])


class _RunAs:
    """Who a service runs as: an unprivileged user when we are root, else ourselves.

    PostgreSQL and Elasticsearch both refuse to run as root.
    """

    def __init__(self, username: str | None) -> None:
        self.username = username if os.geteuid() == 0 else None
        if self.username is None:
            self.uid, self.gid = os.geteuid(), os.getegid()
            return
        try:
            entry = pwd.getpwnam(self.username)
        except KeyError:
            raise ServiceUnavailable(f"OS user {self.username!r} does not exist") from None
        self.uid, self.gid = entry.pw_uid, entry.pw_gid

    def popen_kwargs(self) -> dict[str, Any]:
        if self.username is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def make_dir(self, path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, self.uid, self.gid)
        return path

    def chown_tree(self, path: Path) -> None:
        for dirpath, _dirnames, filenames in os.walk(path):
            os.chown(dirpath, self.uid, self.gid)
            for name in filenames:
                os.chown(os.path.join(dirpath, name), self.uid, self.gid)


def _service_env(**extra: str) -> dict[str, str]:
    """A small, predictable environment for a service process."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    env.update(extra)
    return env


# ------------------------------------------------------------------ PostgreSQL


def find_pg_bin() -> Path:
    """PostgreSQL's bin dir: $CLEARINGHOUSE_TEST_PG_BIN, else the newest Debian one."""
    if env := os.environ.get("CLEARINGHOUSE_TEST_PG_BIN"):
        candidates = [env]
    else:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key)
    for candidate in reversed(candidates):
        if os.access(os.path.join(candidate, "pg_ctl"), os.X_OK):
            return Path(candidate)
    if "CLEARINGHOUSE_TEST_PG_BIN" in os.environ:
        raise ServiceUnavailable(f"no pg_ctl in CLEARINGHOUSE_TEST_PG_BIN={candidates[0]}")
    raise ServiceUnavailable("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl)")


class PostgresServer:
    """A throwaway PostgreSQL cluster in a temporary directory, on a free loopback port.

    Durability is switched off (fsync, synchronous_commit, full_page_writes): the
    data is thrown away anyway and tests run several times faster.
    """

    user = "clearinghouse"
    database = "clearinghouse_test"

    def __init__(self, bin_dir: Path | None = None, os_user: str | None = None) -> None:
        self.bin_dir = bin_dir or find_pg_bin()
        self.run_as = _RunAs(os_user or os.environ.get("CLEARINGHOUSE_TEST_PG_USER", "postgres"))
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="clearinghouse-pg-"))
        self.run_as.make_dir(self.base)
        self.data_dir = self.base / "data"
        self.log_file = self.base / "postgres.log"
        self.started = False

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the test database."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            args,
            cwd=self.base,
            env=_service_env(),
            capture_output=True,
            text=True,
            check=False,
            **self.run_as.popen_kwargs(),
        )
        if result.returncode != 0:
            raise ServiceUnavailable(
                f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}\n"
                f"{_tail(self.log_file)}"
            )

    def start(self) -> PostgresServer:
        """initdb (first time only), start and create the test database."""
        first_time = not self.data_dir.exists()
        if first_time:
            self._run(
                str(self.bin_dir / "initdb"),
                "--pgdata", str(self.data_dir),
                "--username", self.user,
                "--auth", "trust",
                "--encoding", "UTF8",
                "--no-locale",
                "--no-sync",
            )  # fmt: skip
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.base}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=100",
            ]
        )
        self._run(
            str(self.bin_dir / "pg_ctl"), "start", "--wait", "--timeout", "60",
            "--pgdata", str(self.data_dir), "--log", str(self.log_file), "-o", options,
        )  # fmt: skip
        self.started = True
        if first_time:
            self._run(
                str(self.bin_dir / "createdb"),
                "--host", "127.0.0.1", "--port", str(self.port),
                "--username", self.user, self.database,
            )  # fmt: skip
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its files."""
        if self.started:
            with contextlib.suppress(ServiceUnavailable):
                self._run(
                    str(self.bin_dir / "pg_ctl"), "stop", "--wait", "--mode", "fast",
                    "--pgdata", str(self.data_dir),
                )  # fmt: skip
            self.started = False
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of an empty PostgreSQL database, shared by the session.

    $CLEARINGHOUSE_TEST_DATABASE_URL when set, else a server started for this session.
    Tests that share it must clean up after themselves (or use their own schema).
    """
    if env := os.environ.get("CLEARINGHOUSE_TEST_DATABASE_URL"):
        yield env
        return
    server = _start_or_fail("PostgreSQL", lambda: PostgresServer().start())
    try:
        yield server.url
    finally:
        server.stop()


# --------------------------------------------------------------- Elasticsearch


def find_es_home() -> Path:
    """$CLEARINGHOUSE_TEST_ES_HOME, else the newest elasticsearch-* in the cache dir."""
    if env := os.environ.get("CLEARINGHOUSE_TEST_ES_HOME"):
        candidates = [env]
    else:
        found = glob.glob(str(cache_dir() / "elasticsearch-*"))
        candidates = sorted((p for p in found if os.path.isdir(p)), key=_version_key)
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
        self.run_as = _RunAs(
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
        env = _service_env(
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
                    f"last lines of {self.console_log}:\n{_tail(self.console_log)}"
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
            f"last lines of {self.console_log}:\n{_tail(self.console_log)}"
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
    server = _start_or_fail("Elasticsearch", lambda: ElasticsearchServer().start())
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


# -------------------------------------------------------------------- Chromium

CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in CI, where the sandbox cannot start
    "--disable-gpu",
    # The machine has no network beyond the package registries: without these,
    # Chromium keeps trying to reach Google's services and fills the logs.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def find_chromium() -> str:
    path = os.environ.get("CLEARINGHOUSE_TEST_CHROMIUM", "/usr/bin/chromium")
    if not os.access(path, os.X_OK):
        raise ServiceUnavailable(f"Chromium not found at {path}")
    return path


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright's sync API (never `playwright install`)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    executable = _start_or_fail("Chromium", find_chromium)
    playwright = sync_playwright().start()

    def launch() -> Browser:
        try:
            return playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
        except PlaywrightError as exc:
            raise ServiceUnavailable(f"{executable} would not start: {exc}") from exc

    try:
        browser = _start_or_fail("Chromium", launch)
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def browser_page(chromium_browser: Browser) -> Iterator[Page]:
    """A fresh page in its own browser context (no cookies shared between tests)."""
    context = chromium_browser.new_context()
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
