"""What the service harnesses share: failing when a service is missing, ports, the download
cache, logs, and the unprivileged OS user a service runs as when the tests run as root."""

from __future__ import annotations

import os
import pwd
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

SETUP_HINT = "run ./scripts/test once to install and fetch the test services"

T = TypeVar("T")


class ServiceUnavailable(RuntimeError):
    """A test service is not installed here or would not start."""


def start_or_fail(what: str, start: Callable[[], T]) -> T:
    """Start a service, or fail the test (never skip it) saying how to set it up."""
    try:
        return start()
    except ServiceUnavailable as exc:
        message = f"{what} unavailable: {exc}\n({SETUP_HINT})"
    pytest.fail(message, pytrace=False)


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


def version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", Path(path).name))


def log_tail(path: Path, lines: int = 30) -> str:
    """The first few error lines of a log (the cause) and its last lines (the end)."""
    try:
        all_lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    errors = [line for line in all_lines if re.search(r"\bERROR\b|\bFATAL\b|Exception: ", line)]
    return "\n".join([*errors[:8], "...", *all_lines[-lines:]])


class RunAs:
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


def service_env(**extra: str) -> dict[str, str]:
    """A small, predictable environment for a service process."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    env.update(extra)
    return env
