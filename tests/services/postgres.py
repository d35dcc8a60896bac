"""A throwaway PostgreSQL cluster for the tests, and the session's `postgres_url` fixture."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.common import (
    RunAs,
    ServiceUnavailable,
    free_port,
    log_tail,
    service_env,
    start_or_fail,
    version_key,
)


def find_pg_bin() -> Path:
    """PostgreSQL's bin dir: $CLEARINGHOUSE_TEST_PG_BIN, else the newest Debian one."""
    if env := os.environ.get("CLEARINGHOUSE_TEST_PG_BIN"):
        candidates = [env]
    else:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version_key)
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
        self.run_as = RunAs(os_user or os.environ.get("CLEARINGHOUSE_TEST_PG_USER", "postgres"))
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
            env=service_env(),
            capture_output=True,
            text=True,
            check=False,
            **self.run_as.popen_kwargs(),
        )
        if result.returncode != 0:
            raise ServiceUnavailable(
                f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}\n"
                f"{log_tail(self.log_file)}"
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

    def halt(self) -> None:
        """Stop the server (fast shutdown: clients are cut off) and keep its files; start()
        brings it back on the same port with the same data, as after an outage."""
        if self.started:
            self._run(
                str(self.bin_dir / "pg_ctl"), "stop", "--wait", "--mode", "fast",
                "--pgdata", str(self.data_dir),
            )  # fmt: skip
            self.started = False

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its files."""
        with contextlib.suppress(ServiceUnavailable):
            self.halt()
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
    server = start_or_fail("PostgreSQL", lambda: PostgresServer().start())
    try:
        yield server.url
    finally:
        server.stop()


def serve() -> None:
    """Run one server until SIGTERM, its URL printed on the first line of stdout.

    For runs of many pytest sessions (scripts/mutation tests each mutant in a new session):
    they share it through $CLEARINGHOUSE_TEST_DATABASE_URL instead of each starting its own.
    """
    import signal
    import sys

    def stop(_signum: int, _frame: object) -> None:
        # A second TERM (the whole process group and the caller's trap both send one) must
        # not cut the server's shutdown short and leave it running.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    server = PostgresServer().start()
    try:
        print(server.url, flush=True)
        signal.pause()
    finally:
        server.stop()


if __name__ == "__main__":
    serve()
