"""The built wheel runs on its own, as a deployer would use it.

`python -m build` (an sdist, then the wheel from it), `pip install` the wheel into a fresh
virtualenv outside the checkout, then `clearinghouse demo` in an empty folder: migrations,
taxonomy, sample listings, index and the served pages must all come from the installed
package.  It catches a template, static file, migration or seed file that only the checkout
has (clearinghouse/resources.py, setup.py, MANIFEST.in).  pip reads PyPI or its own cache, so
this test takes a minute or two.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clearinghouse.resources import RESOURCE_DIRS
from tests.services.common import free_port

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parents[2]
# Local state of a checkout that is not part of the project's sources.
NOT_SOURCES = (".git", ".venv", "node_modules", "instance", "build", "dist", "*.egg-info",
               "__pycache__", ".cache", ".*_cache", "test-artifacts")  # fmt: skip


def run(command: list[str], **kwargs: Any) -> str:
    """Run a command; on failure the assertion shows its whole output."""
    result = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=900, **kwargs
    )
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def outside_env(**extra: str) -> dict[str, str]:
    """The environment minus anything that would lead back to the checkout or its settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CLEARINGHOUSE_", "PYTHON", "VIRTUAL_ENV", "PIP_REQUIRE"))
    }
    return {**env, **extra}


def resource_files(name: str) -> set[str]:
    """The files of one resource folder in the checkout, relative to it."""
    folder = ROOT / name
    return {
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `python -m build` makes from a copy of the checkout's sources."""
    work = tmp_path_factory.mktemp("build")
    sources = work / "sources"
    shutil.copytree(ROOT, sources, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    run([sys.executable, "-m", "build", "--outdir", str(work / "dist"), str(sources)])
    wheels = list((work / "dist").glob("clearinghouse-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_carries_every_template_static_file_migration_and_seed_file(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for folder in RESOURCE_DIRS:
        prefix = f"clearinghouse/_data/{folder}/"
        carried = {name.removeprefix(prefix) for name in names if name.startswith(prefix)}
        assert carried == resource_files(folder), folder
    assert "clearinghouse/py.typed" in names
    assert "clearinghouse/translations/es/LC_MESSAGES/messages.po" in names  # compiled at start
    assert "indexer/pipeline.py" in names
    # Only the two packages: nothing lands at the top of site-packages.
    project, version = wheel.name.split("-")[:2]
    tops = {name.split("/")[0] for name in names}
    assert tops == {"clearinghouse", "indexer", f"{project}-{version}.dist-info"}


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv, outside the checkout, with only the wheel (and its dependencies)."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    run([sys.executable, "-m", "venv", str(venv)], env=outside_env())
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    run([*pip, "install", str(wheel)], env=outside_env(), cwd=venv)
    return venv


@pytest.fixture
def demo(installed: Path, tmp_path: Path) -> Iterator[str]:
    """`clearinghouse demo` from the installed wheel in an empty folder; its base URL."""
    port = free_port()
    env = outside_env(CLEARINGHOUSE_DATABASE_URL=f"sqlite:///{tmp_path / 'clearinghouse.db'}")
    log = tmp_path / "demo.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(installed / "bin" / "clearinghouse"), "demo", "--no-browser",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its gunicorn workers go with it
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz", server, log)
        yield base
    finally:
        stop(server)
    assert server.returncode == 0, log.read_text(errors="replace")


def wait_for(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Until `url` answers (init, seeding ~2,400 listings and indexing come first)."""
    deadline = time.monotonic() + 600
    while True:
        assert server.poll() is None, log.read_text(errors="replace")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"no answer from {url}:\n{log.read_text()}"
        time.sleep(0.5)


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM (gunicorn stops gracefully), then SIGKILL the group if it lingers."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        return str(response.read().decode())


def test_installed_code_and_resources_come_from_the_venv_not_the_checkout(
    installed: Path,
) -> None:
    where = run(
        [str(installed / "bin" / "python"), "-c",
         "import clearinghouse, indexer\n"
         "from clearinghouse.resources import RESOURCE_DIRS, resource_dir\n"
         "print(clearinghouse.__file__, indexer.__file__, sep='\\n')\n"
         "print(*(resource_dir(name) for name in RESOURCE_DIRS), sep='\\n')"],
        env=outside_env(),
        cwd=installed,
    )  # fmt: skip
    assert len(where.splitlines()) == 2 + len(RESOURCE_DIRS)
    for line in where.splitlines():
        assert Path(line).is_relative_to(installed), line
        assert not Path(line).is_relative_to(ROOT), line


def test_demo_from_the_wheel_serves_the_home_page_and_finds_a_sample_group(demo: str) -> None:
    listings = json.loads((ROOT / "seed_data" / "sample_listings.json").read_text())
    sample = next(
        listing
        for listing in listings
        if listing["status"] == "active" and (listing.get("location") or {}).get("postal_code")
    )

    home = get(f"{demo}/")
    assert 'href="/static/css/site.css"' in home  # templates/base.html, from the wheel
    stylesheet = get(f"{demo}/static/css/site.css")
    assert stylesheet == (ROOT / "static" / "css" / "site.css").read_text()

    found = get(f"{demo}/search?near={sample['location']['postal_code']}")
    assert html.escape(sample["name"], quote=False) in found

    # The Spanish catalog, shipped as a .po, is compiled by the installed app itself.
    spanish = get(f"{demo}/?lang=es")
    assert '<html lang="es">' in spanish and "Buscar un grupo de apoyo" in spanish
