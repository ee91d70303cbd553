"""The package's dependencies point one way, and the core knows no family.

Read from the source of every module of dse, objectives, search_spaces and storage (no list to keep up to
date): the import graph has no cycle (function-level imports count; imports under ``TYPE_CHECKING`` are
type-only and do not); ``storage``, ``objectives`` and ``search_spaces`` import nothing of ``dse``, not
even for types; every module outside ``dse/families/`` imports no ML or HLS library when it is imported
and names no family in its code.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("dse", "objectives", "search_spaces", "storage")
#: Below the service: they may not import dse.
LOWER = ("objectives", "search_spaces", "storage")
HEAVY = ("tensorflow", "keras", "qkeras", "hls4ml", "torch", "snntorch")
FAMILY_WORDS = re.compile(r"\b(lfads|snn|spiking|tiny)\b|gen_input|logrates|val_nll", re.IGNORECASE)
#: String literals outside dse/families that match FAMILY_WORDS but name something else: the lfads-torch
#: HDF5 data layout is a file format (dse.data.hdf5), whatever model reads it.
NOT_A_FAMILY = {("dse.data.hdf5", "hdf5-lfads")}


def modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for f in sorted((REPO / pkg).rglob("*.py")):
            parts = list(f.relative_to(REPO).with_suffix("").parts)
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported(name: str, path: Path, known: dict[str, Path], *, type_only: bool) -> set[str]:
    """The project modules ``name`` imports anywhere in its code (with ``type_only``, under TYPE_CHECKING too)."""
    found: set[str] = set()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child.test) and not type_only:
                for stmt in child.orelse:
                    visit_one(stmt)
                continue
            visit_one(child)

    def visit_one(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            for a in node.names:
                found.add(f"{module}.{a.name}" if f"{module}.{a.name}" in known else module)
        else:
            visit(node)

    visit(ast.parse(path.read_text()))
    return {m for m in found if m in known and m != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []
    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    known = modules()
    graph = {m: imported(m, p, known, type_only=False) for m, p in known.items()}
    assert sum(map(len, graph.values())) > 200  # the graph was read (every package imports its neighbours)
    assert cycles(graph) == []


def test_storage_objectives_and_search_spaces_do_not_import_dse():
    known = modules()
    upward = [f"{m} -> {d}" for m, p in known.items() if m.split(".")[0] in LOWER
              for d in sorted(imported(m, p, known, type_only=True)) if d.split(".")[0] == "dse"]
    assert upward == []


def test_no_module_outside_the_families_imports_an_ml_or_hls_library():
    core = [m for m in modules() if not m.startswith("dse.families")]
    code = (f"import importlib, sys\nfor m in {core!r}: importlib.import_module(m)\n"
            "from dse.study import load_study\n"
            f"cfg = load_study({str(REPO / 'examples' / 'quick.yaml')!r})\n"
            "space = cfg.search_space()\n"
            "space.design_point(next(space.iter_grid_points()))\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip() == "[]", f"the core (or loading a study) imported {r.stdout.strip()}"


def family_names_in(module: str, path: Path) -> list[str]:
    """Where ``path``'s code names a family: identifiers, imports and string literals (docstrings and comments
    may mention one)."""
    tree = ast.parse(path.read_text())
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        words: list[str] = []
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            words = [node.value] if (module, node.value) not in NOT_A_FAMILY else []
        elif isinstance(node, ast.Name):
            words = [node.id]
        elif isinstance(node, ast.Attribute):
            words = [node.attr]
        elif isinstance(node, ast.ImportFrom) and node.module:
            words = [node.module, *(a.name for a in node.names)]
        elif isinstance(node, ast.Import):
            words = [a.name for a in node.names]
        found += [f"{module}:{node.lineno}: {w[:60]!r}" for w in words if FAMILY_WORDS.search(w)]
    return found


def test_no_module_outside_the_families_names_a_family():
    found = [hit for m, path in modules().items() if not m.startswith("dse.families")
             for hit in family_names_in(m, path)]
    assert found == []


LEAK = '''from dse.families.lfads import params


def f(x):
    """lfads in a docstring is fine"""
    return x == "snn"
'''


def test_the_checks_read_real_code(tmp_path):
    """A module that imports a family or compares with a family's name is caught; a docstring is not."""
    path = tmp_path / "leak.py"
    path.write_text(LEAK)
    assert family_names_in("leak", path) == ["leak:1: 'dse.families.lfads'", "leak:6: 'snn'"]
    known = {"dse.families.lfads": tmp_path, "dse.families.lfads.params": tmp_path, "leak": path}
    assert imported("leak", path, known, type_only=False) == {"dse.families.lfads.params"}
