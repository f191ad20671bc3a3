"""The package's architecture, read from its source: one folder per layer, imports flowing one way, no circles.

The graph is built with `ast` from every module's imports (those under `if TYPE_CHECKING:` and inside functions
count too: a circle there is still a circle in the design). docs/development.md names the layers' order.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "server" / "zomro_rescue_mcp"

# Lowest first. A layer may import the layers below it; layers of the same rank (the wire and the rescue system)
# know nothing of each other.
RANKS = {
    "core": 0,
    "settings": 1,
    "wire": 2,
    "rescue_system": 2,
    "operations": 3,
    "mcp_server": 4,
    "simulator": 5,
    "cli": 6,
}
TOP_LEVEL = {"__init__.py", "__main__.py", "py.typed"}
MAX_LINES = 400


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, name: str, is_package: bool) -> Iterator[str]:
    """The package's own modules a module imports (relative and absolute), as dotted names below the package."""
    here = name.split(".") if name else []
    base = here if is_package else here[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                target = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join([*target, *([node.module] if node.module else [])])
            elif node.module and node.module.split(".")[0] == "zomro_rescue_mcp":
                module = node.module.removeprefix("zomro_rescue_mcp").lstrip(".")
            else:
                continue
            yield module
            for alias in node.names:  # `from . import x` names a module
                yield f"{module}.{alias.name}" if module else alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "zomro_rescue_mcp":
                    yield alias.name.removeprefix("zomro_rescue_mcp").lstrip(".")


def graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Each module's imports of other modules of the package (only names that are modules)."""
    paths = sorted(root.rglob("*.py"))
    modules = {module_name(p, root): p for p in paths}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = imports_of(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")
        edges[name] = {m for m in found if m in modules and m != name}
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import circles, each as the modules on it (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def layer_of(module: str) -> str | None:
    head = module.split(".")[0]
    return head if head in RANKS else None


def against_the_layers(edges: dict[str, set[str]]) -> list[str]:
    """Every import from a layer into one above it or beside it, as 'a -> b'."""
    wrong = []
    for module, targets in sorted(edges.items()):
        source = layer_of(module)
        for target in sorted(targets):
            into = layer_of(target)
            if module == "__main__" and into == "cli":
                continue  # `python -m zomro_rescue_mcp` is the console script
            if source is None or into is None:  # the entry points, and the package's own __init__ (tested apart)
                continue
            if source != into and RANKS[into] >= RANKS[source]:
                wrong.append(f"{module} -> {target}")
    return wrong


def test_the_package_has_no_import_circle() -> None:
    assert circles(graph()) == []


def test_imports_flow_down_the_layers_only() -> None:
    assert against_the_layers(graph()) == []


def test_the_top_level_holds_only_the_entry_points_and_the_layers() -> None:
    files = {p.name for p in PACKAGE.iterdir() if p.is_file()}
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert files == TOP_LEVEL
    assert folders == set(RANKS)


def test_the_package_itself_imports_nothing_of_its_layers() -> None:
    assert graph()[""] == set()


@pytest.mark.parametrize("layer", sorted(RANKS))
def test_every_layer_says_what_it_offers(layer: str) -> None:
    tree = ast.parse((PACKAGE / layer / "__init__.py").read_text(encoding="utf-8"))
    assert ast.get_docstring(tree)
    names = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
    ]
    assert len(names) == 1


def test_no_module_is_longer_than_400_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_a_circle_is_found(tmp_path: Path) -> None:
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "__init__.py").write_text("")
    (tmp_path / "core" / "a.py").write_text("from .b import x\n")
    (tmp_path / "core" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import y\n"
    )
    assert circles(graph(tmp_path)) == [["core.a", "core.b"]]


def test_an_import_against_the_layers_is_found(tmp_path: Path) -> None:
    for layer in ("wire", "operations"):
        (tmp_path / layer).mkdir()
        (tmp_path / layer / "__init__.py").write_text("")
    (tmp_path / "operations" / "service.py").write_text("x = 1\n")
    (tmp_path / "wire" / "client.py").write_text("def f() -> None:\n    from ..operations.service import x\n")
    assert against_the_layers(graph(tmp_path)) == ["wire.client -> operations.service"]
