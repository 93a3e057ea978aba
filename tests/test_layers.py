"""kreader's layers, proved from the source: cli → commands → ui → core, core never imports Textual, and no
module imports another that (directly or not) imports it back, counting imports inside functions."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "kreader"

UI = {
    "kreader.app",
    "kreader.factory",
    "kreader.kiosk_app",
    "kreader.messages",
    "kreader.themes",
    "kreader.server",
}
"""Modules of the ui layer besides the ``screens`` and ``widgets`` packages."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> int:
    """0 core, 1 ui, 2 commands, 3 cli (an arrow may only point to a lower or the same layer)."""
    if module in {"kreader.cli", "kreader.__main__"}:
        return 3
    if module.startswith("kreader.commands"):
        return 2
    if module in UI or module.startswith(("kreader.screens", "kreader.widgets")):
        return 1
    return 0


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(module: str) -> set[str]:
    """The kreader modules ``module`` imports anywhere in its body (type-checking-only imports aside)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {name for name in found if name in MODULES and name != module}


GRAPH = {module: imports_of(module) for module in MODULES}


def test_no_import_cycles() -> None:
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def walk(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                walk(target)
        stack.pop()
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            walk(module)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_arrows_point_down_the_layers() -> None:
    upward = [
        f"{module} ({layer(module)}) -> {target} ({layer(target)})"
        for module, targets in GRAPH.items()
        for target in targets
        if layer(target) > layer(module)
    ]
    assert not upward, "imports against the layers: " + "; ".join(sorted(upward))


def test_core_never_imports_textual() -> None:
    """Imported in a fresh process, every core module together loads no Textual at all."""
    core = sorted(m for m in MODULES if layer(m) == 0 and m != "kreader.__init__")
    assert {"kreader.content", "kreader.layout", "kreader.search", "kreader.store"} <= set(core)
    code = (
        "import importlib, sys\n"
        f"for name in {core!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]", f"core modules import Textual: {result.stdout}"


def test_the_graph_knows_every_module() -> None:
    """The walk above sees what Python sees: a module the parser misses would hide its arrows."""
    assert "kreader.screens.reader" in GRAPH["kreader.app"]
    assert "kreader.content" in GRAPH["kreader.commands.read"]
    # An import inside a function counts (the reader command imports the app factory only when it runs).
    assert "kreader.factory" in GRAPH["kreader.commands.read"]
