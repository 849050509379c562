"""The layout rules of CONTRIBUTING.md, checked from the code's own imports (AST), not from a list kept by hand:

- the engine (kiosk/) never imports Qt or the screens (ui/), not even by a string handed to import_module;
- the screens hold no SQL: no peewee, no table models;
- no import cycle between the project's modules (imports inside functions count: they only hide a cycle);
- no module of kiosk/, ui/ or launcher.py is over MAX_LINES lines.
"""

from __future__ import annotations

import pytest

import ast
import re
from pathlib import Path

pytestmark = pytest.mark.pure     # no outside part: no PulseAudio is started for these alone

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 600
PACKAGES = ("kiosk", "ui")
QT_MODULES = {"PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtMultimedia",
              "PySide6.QtMultimediaWidgets", "PySide6.QtTextToSpeech"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {_module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    found["launcher"] = ROOT / "launcher.py"
    return found


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute module an ImportFrom names (relative imports resolved against `module`)."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not (ROOT / Path(*base)).is_dir():
        base = base[:-1]                       # a plain module: relative to its package
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """Every module `module` imports, anywhere in its body; `from pkg import sub` counts as pkg.sub when sub is one."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            out.add(target)
            out.update(f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in known)
    return out


def _graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports. A submodule's import of its own package is left out: that package's
    __init__ only re-exports its submodules."""
    modules = project_modules()
    known = set(modules)
    return {name: {i for i in imports_of(name, path, known)
                   if i in known and i != name and not name.startswith(i + ".")}
            for name, path in modules.items()}


def test_the_engine_never_imports_qt_or_the_screens():
    modules = project_modules()
    problems = []
    for name, path in modules.items():
        if not name.startswith("kiosk"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for imported in imports_of(name, path, set(modules)):
            if re.match(r"^(ui|PySide6|shiboken6|launcher)(\.|$)", imported):
                problems.append(f"{name} imports {imported}")
        for node in ast.walk(tree):       # a module path in a string, e.g. for importlib.import_module
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                    node.value in ("ui", "PySide6") or
                    (node.value.startswith(("ui.", "PySide6.")) and node.value in set(modules) | QT_MODULES)):
                problems.append(f"{name} names {node.value!r} (line {node.lineno})")
    assert problems == []


def test_the_screens_hold_no_sql():
    modules = project_modules()
    problems = [f"{name} imports {imported}" for name, path in modules.items() if name.startswith("ui")
                for imported in imports_of(name, path, set(modules))
                if re.match(r"^(peewee|playhouse|sqlite3|kiosk\.db\.models)(\.|$)", imported)]
    assert problems == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_modules():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_hidden_cycle():
    # The check above must be able to fail: the circle this layout removed (export <-> stats through imports made
    # inside functions) is found.
    graph = {"kiosk.export": {"kiosk.stats"}, "kiosk.stats": {"kiosk.export"}, "kiosk.cli": {"kiosk.export"}}
    assert _cycles(graph) == [["kiosk.export", "kiosk.stats"]]
    source = "def sync_summary():\n    from kiosk.stats import summarize_sync\n"
    tree_imports = {n.module for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom)}
    assert tree_imports == {"kiosk.stats"}


def test_no_module_is_over_the_size_bound():
    too_long = {name: n for name, path in project_modules().items()
                if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert too_long == {}
