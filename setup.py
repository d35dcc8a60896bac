"""Build hook: the wheel carries templates/, static/, migrations/ and seed_data/.

Those folders stay at the top of the checkout, where people look for them.  A wheel can only
install files inside its packages, so `build_py` copies them into the wheel under
`clearinghouse/_data/`, where `clearinghouse.resources.resource_dir` finds them once installed.
An editable install copies nothing: it reads the checkout's own folders.  MANIFEST.in puts the
same folders in the sdist, which `python -m build` builds the wheel from.  Everything else about
the package is in pyproject.toml.
"""

from __future__ import annotations

import runpy
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# Read from the module the app uses (without importing the package and its dependencies).
RESOURCE_DIRS: tuple[str, ...] = runpy.run_path(str(HERE / "clearinghouse" / "resources.py"))[
    "RESOURCE_DIRS"
]
INSTALLED_ROOT = Path("clearinghouse", "_data")


class BuildPyWithResources(build_py):
    """build_py, plus the resource folders copied into the build under clearinghouse/_data."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        for name in RESOURCE_DIRS:
            if not (HERE / name).is_dir():
                raise FileNotFoundError(f"{HERE / name} is missing: MANIFEST.in must graft {name}")
            target = Path(self.build_lib) / INSTALLED_ROOT / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(
                HERE / name, target, ignore=shutil.ignore_patterns("__pycache__", "*.py[cod]")
            )

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if not self.editable_mode:
            root = Path(self.build_lib) / INSTALLED_ROOT
            outputs += [str(path) for path in sorted(root.rglob("*")) if path.is_file()]
        return outputs


setup(cmdclass={"build_py": BuildPyWithResources})
