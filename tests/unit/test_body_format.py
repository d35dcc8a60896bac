"""The stored public bodies' format follows the source of the code that makes them."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from clearinghouse import bodies


def module_from(path: Path, text: str) -> ModuleType:
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_change_to_the_source_that_makes_bodies_changes_their_format(tmp_path: Path) -> None:
    before = module_from(tmp_path / "shape_a.py", 'def body():\n    return {"name": 1}\n')
    same = module_from(tmp_path / "shape_b.py", 'def body():\n    return {"name": 1}\n')
    after = module_from(tmp_path / "shape_c.py", 'def body():\n    return {"title": 1}\n')
    assert bodies._format_of(before) == bodies._format_of(same)
    assert bodies._format_of(before) != bodies._format_of(after)
    assert 0 <= bodies._format_of(after) < 2**31  # fits the column's INTEGER everywhere


def test_the_format_in_use_is_that_of_serialize_groups_and_schedule() -> None:
    from clearinghouse import groups, schedule, serialize

    assert bodies._format_of(serialize, groups, schedule) == bodies.BODY_FORMAT
