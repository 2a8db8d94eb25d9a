"""The house plan (docs/architecture.md) held by the code: imports run one way.

Every module under ``src/gridservice`` is parsed, not imported, and every
reference to another part of gridservice counts: ``import`` and ``from``
at any depth (inside a function, under ``if TYPE_CHECKING``, relative) and a
string that names a module (``importlib.import_module("gridservice.metrics")``),
so that no import can hide from the rule.

A *unit* is a top-level package or module (``spatial``, ``model``). The rule:
a unit imports only units of lower layers; units of one layer never import
each other; the units form no cycle; only the faces use the web, command-line
and map frameworks, and nothing prints.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import networkx as nx

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "gridservice"

#: The layers, lowest first (docs/architecture.md explains each).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "schema", "config", "lookup", "privacy"),  # the kernel: no gridservice imports
    ("coords", "findings", "clock", "webfont"),  # small helpers over the kernel
    ("io",),
    ("model", "auth"),
    ("spatial", "topology", "search"),
    ("events",),
    ("metrics",),
    ("checks", "workspace"),  # what the faces call to validate and open an area
    ("province",),  # many county areas at once on dask.distributed: the county functions, combined
    ("maps",),
    ("api", "demo"),
    ("cli",),
    ("__main__",),
)
LAYER = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}
#: Exceptions to the layering: (importing unit, imported unit) → why. Keep it short.
ALLOWED: dict[tuple[str, str], str] = {}
#: Frameworks of the faces; the domain (every unit below ``maps``, and the demo) never imports them.
FACE_FRAMEWORKS = ("fastapi", "starlette", "uvicorn", "typer", "click", "rich", "folium", "branca", "jinja2")
FACES = ("maps", "api", "cli", "__main__")
MODULE_NAME = re.compile(r"gridservice(\.\w+)+")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def references(source: str, module: str, *, is_package: bool = False) -> list[tuple[str, int]]:
    """Every (dotted name, line) ``source`` imports or names as a module string."""
    out: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package (or the package itself for __init__)
                package = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join([*package, base] if base else package)
            out += [(f"{base}.{a.name}", node.lineno) for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_NAME.fullmatch(node.value):
            out.append((node.value, node.lineno))
    return out


def unit_of(name: str) -> str | None:
    """The top-level unit a dotted name lies in (``None`` outside gridservice or for the root package)."""
    parts = name.split(".")
    if parts[0] != "gridservice" or len(parts) < 2:
        return None
    first = parts[1]
    if (PACKAGE / first).is_dir() or (PACKAGE / f"{first}.py").is_file():
        return first
    return None  # an attribute of the root package (``from gridservice import __version__``)


def modules() -> list[tuple[Path, str]]:
    return [(p, module_name(p)) for p in sorted(PACKAGE.rglob("*.py"))]


def imports() -> list[tuple[str, str, str]]:
    """(importing unit, imported unit, where) for every reference between two units."""
    out = []
    for path, module in modules():
        src = unit_of(module)
        for name, line in references(path.read_text(encoding="utf-8"), module, is_package=path.name == "__init__.py"):
            dst = unit_of(name)
            if src and dst and dst != src:
                out.append((src, dst, f"{path.relative_to(REPO)}:{line} imports {name}"))
    return out


def test_the_scanner_sees_every_kind_of_import() -> None:
    source = '''
from typing import TYPE_CHECKING
import numpy
from gridservice import checks, __version__
from gridservice.model import ServiceArea
if TYPE_CHECKING:
    from gridservice.io import Store
def late():
    import gridservice.topology.network
    return importlib.import_module("gridservice.metrics.kpi")
from . import locate
from ..errors import DataError
'''
    refs = references(source, "gridservice.spatial.plan")
    units = sorted({u for u in (unit_of(name) for name, _ in refs) if u})
    assert units == ["checks", "errors", "io", "metrics", "model", "spatial", "topology"]
    assert ("gridservice.spatial.locate", 11) in refs
    # In a package's __init__, "." is the package itself.
    assert references("from .store import X", "gridservice.io", is_package=True) == [("gridservice.io.store.X", 1)]


def test_every_unit_has_a_layer_and_a_line_in_the_house_plan() -> None:
    found = {unit_of(module) for _, module in modules()} - {None}
    assert sorted(found - set(LAYER)) == [], "place the new unit in LAYERS and in docs/architecture.md"
    plan = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert [u for u in LAYER if f"`{u}`" not in plan] == []


def test_no_import_runs_upward_or_sideways() -> None:
    bad = [f"{where} ({src}, layer {LAYER[src]} → {dst}, layer {LAYER[dst]})"
           for src, dst, where in imports()
           if LAYER[dst] >= LAYER[src] and (src, dst) not in ALLOWED]
    assert bad == []


def test_no_cycle_between_units() -> None:
    graph = nx.DiGraph((src, dst) for src, dst, _ in imports())
    assert list(nx.simple_cycles(graph)) == []


def test_only_the_faces_use_their_frameworks() -> None:
    bad = [f"{path.relative_to(REPO)}:{line} imports {name}"
           for path, module in modules() if unit_of(module) not in FACES
           for name, line in references(path.read_text(encoding="utf-8"), module)
           if name.split(".")[0] in FACE_FRAMEWORKS]
    assert bad == []


def test_nothing_prints() -> None:
    """The domain returns data; the faces write through their console or response."""
    bad = [f"{path.relative_to(REPO)}:{node.lineno}"
           for path, _ in modules()
           for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
           if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"]
    assert bad == []
