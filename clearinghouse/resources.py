"""Where the files that are not Python live: templates, static files, migrations, seed data.

In a checkout they are the top-level folders `templates/`, `static/`, `migrations/` and
`seed_data/`, beside the packages (an editable install reads them there too).  A wheel can only
install files inside its packages, so the build (setup.py) copies the same folders into the
wheel under `clearinghouse/_data/`.  `resource_dir` finds them either way; nothing else in the
code works out where the checkout is.
"""

from __future__ import annotations

from pathlib import Path

RESOURCE_DIRS = ("templates", "static", "migrations", "seed_data")
PACKAGE_DIR = Path(__file__).resolve().parent
INSTALLED_ROOT = PACKAGE_DIR / "_data"  # an installed wheel
CHECKOUT_ROOT = PACKAGE_DIR.parent  # a checkout, or an editable install of one


def resource_dir(name: str) -> Path:
    """The folder `name` (one of RESOURCE_DIRS) from the installed wheel or the checkout."""
    if name not in RESOURCE_DIRS:
        raise ValueError(f"{name!r} is not a resource folder; use one of {RESOURCE_DIRS}")
    for root in (INSTALLED_ROOT, CHECKOUT_ROOT):
        if (root / name).is_dir():
            return root / name
    raise FileNotFoundError(
        f"no {name}/ in {INSTALLED_ROOT} (a wheel) or {CHECKOUT_ROOT} (a checkout): "
        "was the wheel built with `python -m build` from a full checkout?"
    )
