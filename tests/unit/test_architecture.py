"""The import graph: no cycle between modules, and one direction between the layers.

Every module under clearinghouse/ and indexer/ is parsed (never imported) and every import
counts, also those inside functions and under `if TYPE_CHECKING`: a lazy import hides a
cycle, it does not remove it.  The layers, as `indexer/__init__.py` states them:

- core: clearinghouse's models, store, listings, geo, search, schedule, vocab… — imports
  only the core;
- indexer: imports the core, never the web or the CLI;
- the app factory (`clearinghouse/__init__`), the web blueprints (public, staff, api, hsds),
  the CLI and the worker: import the core and the indexer.

One edge is left out, on purpose: a module importing one of its *own* enclosing packages
(`clearinghouse.public.views` takes `bp` from `clearinghouse.public`, `clearinghouse.cli`
takes `create_app` from `clearinghouse`).  Python runs a package's `__init__` before any of
its modules anyway, and the app factory and each blueprint package import their modules,
so counting those edges would make every package one big cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("clearinghouse", "indexer")
# The outer layer: may import the core and the indexer (module or package with its modules).
OUTER = (
    "clearinghouse.cli",
    "clearinghouse.server",
    "clearinghouse.worker",
    "clearinghouse.public",
    "clearinghouse.staff",
    "clearinghouse.api",
    "clearinghouse.hsds",
)

Graph = dict[str, set[str]]


def module_files(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Dotted module name → file, for every .py under the packages (a package is its __init__)."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _known(name: str, modules: Mapping[str, Path]) -> str | None:
    """The module `name` loads: itself, or the package a dotted attribute lives in."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, modules: Mapping[str, Path]) -> set[str]:
    """The project modules `module` imports anywhere in its file (relative ones resolved)."""
    path = modules[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets.update(filter(None, (_known(alias.name, modules) for alias in node.names)))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                # `from pkg import mod` imports the module pkg.mod, not just pkg.
                submodule = f"{source}.{alias.name}"
                target = submodule if submodule in modules else _known(source, modules)
                if target:
                    targets.add(target)
    return targets


def import_graph(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> Graph:
    """Module → the project modules it imports, without edges into its own packages."""
    modules = module_files(root, packages)
    graph: Graph = {}
    for module in modules:
        graph[module] = {
            target
            for target in imports_of(module, modules)
            if target != module and not module.startswith(target + ".")
        }
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """Each group of modules that import each other (directly or round about), one path each."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        order[module] = low[module] = len(order)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph.get(module, ())):
            if target not in order:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], order[target])
        if low[module] == order[module]:
            component: list[str] = []
            while not component or component[-1] != module:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(_cycle_path(graph, set(component)))

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return found


def _cycle_path(graph: Graph, component: set[str]) -> list[str]:
    """One concrete loop through a component, for the failure message: a → b → a."""
    start = min(component)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for module in frontier:
            for target in sorted(graph[module] & component):
                if target == start:
                    path = [module]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if target not in parents:
                    parents[target] = module
                    following.append(target)
        frontier = following
    return sorted(component)


def layer(module: str) -> str:
    if module.split(".")[0] == "indexer":
        return "indexer"
    if module == "clearinghouse" or any(
        module == outer or module.startswith(outer + ".") for outer in OUTER
    ):
        return "outer"
    return "core"


# What each layer may import.
ALLOWED = {
    "core": {"core"},
    "indexer": {"core", "indexer"},
    "outer": {"core", "indexer", "outer"},
}


def layer_violations(graph: Graph) -> list[str]:
    return [
        f"{module} ({layer(module)}) imports {target} ({layer(target)})"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if layer(target) not in ALLOWED[layer(module)]
    ]


# -- the project --------------------------------------------------------------------------


def test_no_module_imports_another_that_imports_it_back() -> None:
    loops = [" → ".join(path) for path in cycles(import_graph())]
    assert loops == [], "import cycles (imports inside functions count too):\n" + "\n".join(loops)


def test_core_imports_only_core_and_indexer_never_the_web_or_cli() -> None:
    graph = import_graph()
    assert {"clearinghouse.listings", "indexer.pipeline", "clearinghouse.cli"} <= graph.keys()
    assert layer_violations(graph) == []


# -- the checker itself, on small trees --------------------------------------------------


def _tree(root: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_an_import_inside_a_function_closes_a_cycle(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "indexer/__init__.py": "",
            "indexer/readers.py": "def open_source():\n    from indexer import formats\n",
            "indexer/formats.py": "from indexer.readers import open_source\n",
        },
    )
    assert cycles(import_graph(root, ["indexer"])) == [
        ["indexer.formats", "indexer.readers", "indexer.formats"]
    ]


def test_relative_and_type_checking_imports_count(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "indexer/__init__.py": "",
            "indexer/sub/__init__.py": "from . import a\n",
            "indexer/sub/a.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from ..b import x\n",
            "indexer/b.py": "import indexer.sub.a\n",
        },
    )
    graph = import_graph(root, ["indexer"])
    assert graph["indexer.sub.a"] == {"indexer.b"}
    assert graph["indexer.sub"] == {"indexer.sub.a"}
    assert cycles(graph) == [["indexer.b", "indexer.sub.a", "indexer.b"]]


def test_a_module_importing_its_own_package_is_not_a_cycle(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "clearinghouse/__init__.py": "",
            "clearinghouse/public/__init__.py": "bp = 1\nfrom clearinghouse.public import views\n",
            "clearinghouse/public/views.py": "from clearinghouse.public import bp\n",
        },
    )
    graph = import_graph(root, ["clearinghouse"])
    assert graph["clearinghouse.public.views"] == set()
    assert cycles(graph) == []


def test_core_importing_the_indexer_is_reported(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "clearinghouse/__init__.py": "",
            "clearinghouse/store.py": "def save():\n    from indexer.sync import sync\n",
            "clearinghouse/cli.py": "from indexer import sync\n",
            "indexer/__init__.py": "",
            "indexer/sync.py": "from clearinghouse.public import views\n",
            "clearinghouse/public/__init__.py": "",
            "clearinghouse/public/views.py": "",
        },
    )
    assert layer_violations(import_graph(root)) == [
        "clearinghouse.store (core) imports indexer.sync (indexer)",
        "indexer.sync (indexer) imports clearinghouse.public.views (outer)",
    ]
