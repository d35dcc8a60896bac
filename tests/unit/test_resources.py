"""Templates, static files, migrations and seed data are found through one function."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from clearinghouse.resources import INSTALLED_ROOT, RESOURCE_DIRS, resource_dir

ROOT = Path(__file__).resolve().parents[2]


def test_a_checkout_reads_its_own_top_level_folders() -> None:
    assert not INSTALLED_ROOT.exists()  # only a built wheel has clearinghouse/_data
    for name in RESOURCE_DIRS:
        assert resource_dir(name) == ROOT / name


def test_an_unknown_folder_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="'static'"):
        resource_dir("instance")


def test_the_app_serves_templates_and_static_files_from_the_resource_folders(app: Flask) -> None:
    assert app.template_folder == str(resource_dir("templates"))
    assert app.static_folder == str(resource_dir("static"))
