"""Architecture hygiene: no import cycle among the package's modules and no private name used
across modules ("a house without back-stairs", issue 19).

Both checks read the source with :mod:`ast`; nothing is imported, so a lazy import inside a
function, one under ``if TYPE_CHECKING:`` and one at module top count the same: a cycle that only
closes when a function runs is still a cycle.

Import graph
    Nodes are the modules of ``gmtnet/`` (a package's ``__init__.py`` is the package's node).
    ``import a.b.c`` and ``from a.b import c`` add an edge to the module named (``a.b.c``; for
    ``from a.b import c`` to ``a.b.c`` when that is a module, else to ``a.b``); so does a string
    literal that is exactly a submodule's dotted name (``importlib.import_module`` behind a lazy
    attribute). The parent packages
    that Python runs on the way are not edges: a package's ``__init__`` importing its own
    submodules would otherwise always close a cycle. Instead, the same graph is checked a second
    time with each subpackage (``gmtnet.models``, ...) merged into one node, which is how the issue
    sees ``weights.py <-> models/``.

Private names
    A name that starts with one underscore and is not a dunder is private to its module. Anywhere in
    ``gmtnet/``, ``app/``, ``pages/``, ``benchmarks/``, ``research/``, ``scripts/`` and
    ``tests/`` (and ``notebooks/``, ``streamlit_app.py``), importing such a name from another first-party module (``from gmtnet.x import _y``)
    or reading it as an attribute of an imported first-party module (``gmtnet.x._y``, ``x._y``
    after ``from gmtnet import x``, ``getattr(x, "_y")``, ``monkeypatch.setattr(x, "_y", ...)``) is
    a back-stair. Tests get no exemption: a helper that a test
    needs to pin down is part of what the module promises, so it gets a public name (and then a
    docstring); what a test cannot reach through public names is an implementation detail it should
    not pin. Third-party private names (``torch._C``) are outside this check: we do not choose them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "gmtnet"
#: First-party trees whose private-name use is checked (relative to the repository root), and the
#: files at the root.
CHECKED_TREES = ("gmtnet", "app", "pages", "benchmarks", "research", "scripts", "tests", "notebooks")
CHECKED_FILES = ("streamlit_app.py",)
#: Directories whose scripts tests import by bare name (pytest puts tests/ on sys.path: ``from helpers
#: import ...``; tests of benchmarks and scripts insert those folders: ``from grouped_cv import ...``).
BARE_NAME_DIRS = ("tests", "benchmarks", "scripts")
#: Top-level names of first-party imports: the trees and the bare-name modules.
FIRST_PARTY = frozenset(CHECKED_TREES) | {p.stem for d in BARE_NAME_DIRS for p in (ROOT / d).glob("*.py")}


def module_name(path: Path) -> str:
    """Dotted module name of a ``.py`` file under the repository root (``__init__`` → package)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    """Every module of the package: dotted name → file."""
    return {module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def resolve_relative(node: ast.ImportFrom, current: str, current_is_package: bool) -> str:
    """The absolute module a ``from ... import`` names (handles ``from . import x``)."""
    if not node.level:
        return node.module or ""
    base = current.split(".")
    if not current_is_package:
        base = base[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imported_modules(tree: ast.AST, current: str, current_is_package: bool, known: set[str]) -> Iterator[tuple[str, int]]:
    """``(module, line)`` for every import anywhere in ``tree`` (functions, ``TYPE_CHECKING`` included)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = resolve_relative(node, current, current_is_package)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield (sub if sub in known else base), node.lineno
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "." in node.value and node.value in known:
            # A module named in a string is imported dynamically (importlib.import_module, a lazy
            # attribute table like gmtnet.models._LAZY): an edge like any other. Dotted names only:
            # the bare "gmtnet" is also the architecture's name.
            yield node.value, node.lineno


def import_graph() -> dict[str, dict[str, int]]:
    """``{module: {imported gmtnet module: first line}}`` over the package's modules."""
    modules = package_modules()
    known = set(modules)
    graph: dict[str, dict[str, int]] = {m: {} for m in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for target, line in imported_modules(tree, name, is_package(path), known):
            if target in known and target != name:
                graph[name].setdefault(target, line)
    return graph


def merged_graph(graph: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The graph with every subpackage of ``gmtnet`` (and its submodules) merged into one node."""
    subpackages = {m for m, p in package_modules().items() if is_package(p) and m != PACKAGE}

    def node(m: str) -> str:
        for pkg in subpackages:
            if m == pkg or m.startswith(pkg + "."):
                return pkg
        return m

    merged: dict[str, dict[str, int]] = {}
    for src, targets in graph.items():
        edges = merged.setdefault(node(src), {})
        for dst, line in targets.items():
            if node(dst) != node(src):
                edges.setdefault(node(dst), line)
    return merged


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One cycle as a closed path ``[a, b, ..., a]``, or ``None`` (iterative DFS, sorted order)."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for start in sorted(graph):
        if start in state:
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        state[start] = 1
        while stack:
            current, children = stack[-1]
            for child in children:
                if state.get(child) == 1:
                    return path[path.index(child):] + [child]
                if child not in state:
                    state[child] = 1
                    path.append(child)
                    stack.append((child, iter(sorted(graph.get(child, {})))))
                    break
            else:
                state[current] = 2
                stack.pop()
                path.pop()
    return None


def describe(cycle: list[str], graph: dict[str, dict[str, int]]) -> str:
    return " -> ".join(f"{a} (line {graph[a][b]})" for a, b in zip(cycle, cycle[1:])) + f" -> {cycle[-1]}"


def test_no_import_cycle_between_modules():
    graph = import_graph()
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle: {describe(cycle, graph)}"


def test_no_import_cycle_between_subpackages():
    graph = merged_graph(import_graph())
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle between packages: {describe(cycle, graph)}"


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def first_party_modules() -> set[str]:
    """Dotted names of the checked modules, test modules also by their bare name (``helpers``)."""
    names = {module_name(p) for p in checked_files()}
    return names | {n.split(".", 1)[1] for n in names if n.split(".")[0] in BARE_NAME_DIRS and n.count(".") == 1}


def private_uses(path: Path, modules: set[str]) -> Iterator[str]:
    """``"file:line: what"`` for each first-party private name this file takes from another module."""
    yield from private_uses_of_source(path.read_text(), module_name(path), is_package(path), modules, path.relative_to(ROOT))


def private_uses_of_source(source: str, here: str, here_is_package: bool = False,
                           modules: set[str] | None = None, rel: Path | str = "<source>") -> Iterator[str]:
    """The private-name uses of one module's source (``here``: its dotted name; ``modules``: the
    first-party modules, to tell ``from pkg import module`` from ``from module import name``)."""
    modules = first_party_modules() if modules is None else modules
    tree = ast.parse(source)
    # Local names bound to first-party modules: alias -> dotted module.
    module_aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FIRST_PARTY:
                    if alias.asname:
                        module_aliases[alias.asname] = alias.name
                    else:
                        module_aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            base = resolve_relative(node, here, here_is_package)
            if base.split(".")[0] not in FIRST_PARTY or base == here:
                continue
            for alias in node.names:
                if is_private(alias.name):
                    yield f"{rel}:{node.lineno}: from {base} import {alias.name}"
                elif f"{base}.{alias.name}" in modules:
                    module_aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
    for node in ast.walk(tree):
        # getattr / setattr / delattr / hasattr and monkeypatch.setattr with a private name as string
        if isinstance(node, ast.Call) and len(node.args) >= 2:
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            obj, attr = node.args[0], node.args[1]
            if (name in {"getattr", "setattr", "delattr", "hasattr"} and isinstance(obj, ast.Name)
                    and obj.id in module_aliases and isinstance(attr, ast.Constant)
                    and isinstance(attr.value, str) and is_private(attr.value) and module_aliases[obj.id] != here):
                yield f"{rel}:{node.lineno}: {name}({module_aliases[obj.id]}, {attr.value!r})"
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            dotted = []
            value = node.value
            while isinstance(value, ast.Attribute):
                dotted.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in module_aliases:
                target = ".".join([module_aliases[value.id], *reversed(dotted)])
                if target != here:
                    yield f"{rel}:{node.lineno}: {target}.{node.attr}"


def checked_files() -> list[Path]:
    trees = [p for tree in CHECKED_TREES if (ROOT / tree).is_dir() for p in sorted((ROOT / tree).rglob("*.py"))]
    return trees + [ROOT / f for f in CHECKED_FILES if (ROOT / f).is_file()]


def test_no_private_name_crosses_modules():
    modules = first_party_modules()
    found = [use for path in checked_files() for use in private_uses(path, modules)]
    assert not found, "private names used outside their module:\n" + "\n".join(found)


# The checks above must be able to fail: a cycle and a back-stair written on purpose are found.


def test_find_cycle_reports_the_path():
    graph = {"a": {"b": 3}, "b": {"c": 5}, "c": {"a": 7}, "d": {"a": 1}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert describe(["a", "b", "c", "a"], graph) == "a (line 3) -> b (line 5) -> c (line 7) -> a"
    assert find_cycle({"a": {"b": 1}, "b": {}}) is None


def test_lazy_and_type_checking_imports_are_edges():
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from gmtnet.models import ModelConfig\n"
        "def f():\n    from gmtnet.weights import save_model\n    import gmtnet.train as t\n"
    )
    known = {"gmtnet.models", "gmtnet.weights", "gmtnet.train", "gmtnet.predict"}
    found = {m for m, _ in imported_modules(ast.parse(source), "gmtnet.x", False, known)}
    assert {"gmtnet.models", "gmtnet.weights", "gmtnet.train"} <= found
    lazy = 'import importlib\n_LAZY = {"Predictor": "gmtnet.predict"}\nimportlib.import_module(_LAZY["Predictor"])\n'
    assert "gmtnet.predict" in {m for m, _ in imported_modules(ast.parse(lazy), "gmtnet", True, known)}


@pytest.mark.parametrize(
    "source, hit",
    [
        ("from gmtnet.catalog import _parse_elements\n", "from gmtnet.catalog import _parse_elements"),
        ("from helpers import _seed\n", "from helpers import _seed"),
        ("import gmtnet.catalog\ngmtnet.catalog._parse_elements('x')\n", "gmtnet.catalog._parse_elements"),
        ("from gmtnet import catalog\ncatalog._parse_elements('x')\n", "gmtnet.catalog._parse_elements"),
        ("import gmtnet.catalog as c\nc._x\n", "gmtnet.catalog._x"),
        ("from app import service\nmonkeypatch.setattr(service, '_cache', {})\n", "setattr(app.service, '_cache')"),
    ],
)
def test_private_use_is_found(source, hit):
    uses = list(private_uses_of_source(source, "tests.probe"))
    assert any(hit in u for u in uses), uses


def test_dunder_and_own_names_are_not_private_uses():
    assert not list(private_uses_of_source("import gmtnet\ngmtnet.__version__\n", "tests.probe"))
    assert not list(private_uses_of_source("import numpy\nnumpy._core\n", "tests.probe"))
    assert not list(private_uses_of_source("from gmtnet.catalog import _x\n", "gmtnet.catalog"))
