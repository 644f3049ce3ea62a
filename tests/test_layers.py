"""The import graph of ``ember`` (every import, function-level ones included): no circle, and no import from
a lower layer to a higher one, in the order of DESIGN.md's layer diagram."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ember"

#: bottom to top; a module may import its own layer and the layers below it.
LAYERS = [
    {"ember.blas", "ember.random", "ember.errors", "ember.files", "ember.finite_differences", "ember.threads"},
    {"ember.nn"},
    {"ember.fast"},
    {"ember.check"},
    {"ember.io"},
    {"ember.data", "ember.metrics"},
    {"ember.optim"},
    {"ember.models"},
    {"ember.distributed"},
    {"ember.train", "ember.callbacks", "ember.plot"},
    {"ember.sklearn", "ember.onnx", "ember.interop"},
    {"ember.recipes"},
    {"ember.grade"},
    {"ember.cli", "ember.__main__"},
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Module → the ember modules it imports (a package's ``__init__`` re-exporting its parts is left out)."""
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py") if "examples" not in p.relative_to(PACKAGE).parts}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
        graph[name] = {target for target in found if target in paths and target != name}
    return {name: targets for name, targets in graph.items() if paths[name].name != "__init__.py"}


def layer(name: str) -> int:
    for rank, members in enumerate(LAYERS):
        if any(name == member or name.startswith(member + ".") for member in members):
            return rank
    raise AssertionError(f"{name} is in no layer of tests/test_layers.py (add it where DESIGN.md puts it)")


def test_no_import_from_a_lower_layer_to_a_higher_one():
    wrong = sorted(f"{a} -> {b}" for a, targets in imports().items() for b in targets
                   if b != "ember" and layer(b) > layer(a))
    assert not wrong, "imports upward: " + ", ".join(wrong)


def test_no_import_circle():
    graph = imports()
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for target in sorted(graph.get(name, ())):
            if state.get(target) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(target):] + [target]))
            if target not in state:
                visit(target)
        path.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
