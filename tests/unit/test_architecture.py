"""The house rules docs/architecture.md states, checked on the source: one-way imports between
the layers, no import circle, mlflow only in tracking/, no module over 500 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "src" / "arnews_ml"

#: Science code: returns plain values; never opens a run, reads Hydra state or prints.
SCIENCE = {"data", "text", "embed", "classify", "topics"}
#: What science code must never import (the layers above it).
ABOVE_SCIENCE = {"tasks", "cli", "tracking", "demo", "inference", "train", "config_checks"}
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_science_code_never_imports_the_layers_above_it():
    wrong = [
        f"{module} imports {name}"
        for module, path in MODULES.items()
        if _layer(module) in SCIENCE
        for name in _imports(path)
        if name.startswith("arnews_ml.") and _layer(name) in ABOVE_SCIENCE
    ]
    assert not wrong, "\n".join(wrong)


def test_topics_never_import_classify_and_tracking_never_imports_tasks_or_cli():
    wrong = []
    for module, path in MODULES.items():
        for name in _imports(path):
            if _layer(module) == "topics" and _layer(name) == "classify":
                wrong.append(f"{module} imports {name}")
            if _layer(module) == "tracking" and _layer(name) in {"tasks", "cli"}:
                wrong.append(f"{module} imports {name}")
            if _layer(module) == "tasks" and _layer(name) == "cli":
                wrong.append(f"{module} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_mlflow_is_imported_only_in_tracking():
    wrong = [
        module
        for module, path in MODULES.items()
        if _layer(module) != "tracking"
        and any(n == "mlflow" or n.startswith("mlflow.") for n in _imports(path))
    ]
    assert not wrong


def test_no_import_circle_between_modules():
    graph = {
        module: {
            name
            for name in _imports(path, top_level_only=True)
            if name in MODULES and name != module
        }
        for module, path in MODULES.items()
    }
    # a package's __init__ re-exporting its own modules is not a circle
    for module in graph:
        graph[module] = {n for n in graph[module] if not module.startswith(n + ".")}
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_500_lines(module: str):
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module}: {lines} lines; split it by concept"
